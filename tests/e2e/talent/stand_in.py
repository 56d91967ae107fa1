"""The talent service with a stand-in enterprise register — only until the indicators service offers
LocateEnterprise (issue-3); then the end-to-end tests push real enterprises and this module goes.

`python -m tests.e2e.talent.stand_in`, with the platform's environment and GAOXIN_TEST_ENTERPRISES naming a JSON
file {credit_code: {"name", "zone_code", "zone_level"} | "unavailable"}.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import date
from pathlib import Path

from services.common.config import Settings
from services.common.convert import ZoneLevel
from services.common.errors import Unavailable
from services.talent.domain.checks import EnterpriseLocation
from services.talent.main import build


class FileDirectory:
    def __init__(self, path: Path) -> None:
        self.entries = json.loads(path.read_text())

    async def locate(self, credit_code: str, on: date, deadline: float) -> EnterpriseLocation | None:
        entry = self.entries.get(credit_code)
        if entry == "unavailable":
            raise Unavailable("stand-in register: down for this code")
        if entry is None:
            return None
        level = ZoneLevel(entry["zone_level"]) if entry["zone_level"] else None
        return EnterpriseLocation(entry["name"], entry["zone_code"], level)


def main() -> None:
    directory = FileDirectory(Path(os.environ["GAOXIN_TEST_ENTERPRISES"]))
    asyncio.run(build(Settings(), directory).run())


if __name__ == "__main__":
    main()
