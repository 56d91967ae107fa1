"""The README's settings table names every setting there is, and nothing that is not one."""

from __future__ import annotations

import re
from pathlib import Path

from services.common.config import DOMAIN_SERVICES, Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def documented() -> set[str]:
    table = README.read_text().split("## Settings", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for cell in re.findall(r"^\| (`GAOXIN_[^|]+)\|", table, flags=re.M):
        first = re.findall(r"`GAOXIN_([A-Z_]+)`", cell)
        names |= {n.lower() for n in first}
        # "`GAOXIN_INDICATORS_GRPC_PORT` / `_REWARDS_` / `_TALENT_`": the same setting for each domain service.
        if "/ `_REWARDS_`" in cell:
            for name in list(first):
                for service in DOMAIN_SERVICES:
                    names.add(name.lower().replace("indicators", service))
    return names


def test_every_setting_is_in_the_readme_table_and_every_row_is_a_setting() -> None:
    assert documented() == set(Settings.model_fields)
