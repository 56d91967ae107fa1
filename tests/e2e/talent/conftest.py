"""The platform as the talent tests need it: employers registered in zones, the talent database at hand."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.common.db import make_engine, reading
from services.platform import STOP_TIMEOUT_SECONDS, Platform
from services.talent import store

REPO_ROOT = Path(__file__).resolve().parents[3]


def credit_code(division: str, organisation: str) -> str:
    """A well-formed unified social credit code: 91 + division + organisation code (GB 11714 check character)
    + the GB 32100-2015 check character. Invented, never a real firm's."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

    def value(c: str) -> int:
        return int(c) if c.isdigit() else ord(c) - 55

    org_check = 11 - sum(value(c) * w for c, w in zip(organisation, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    body = f"91{division}{organisation}" + {10: "X", 11: "0"}.get(org_check, str(org_check))
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    total = sum(alphabet.index(c) * w for c, w in zip(body, weights, strict=True))
    return body + alphabet[(31 - total % 31) % 31]


IN_NATIONAL_ZONE = credit_code("320706", "TL000001")
IN_UNRECOGNISED_ZONE = credit_code("320722", "TL000002")
UNREGISTERED = credit_code("320706", "TL000003")
REGISTER_DOWN = credit_code("320706", "TL000004")

ENTERPRISES: dict[str, Any] = {
    IN_NATIONAL_ZONE: {"name": "连云港某医药科技有限公司（演示）", "zone_code": "LYG-HTZ", "zone_level": "national"},
    IN_UNRECOGNISED_ZONE: {"name": "东海某新材料有限公司（演示）", "zone_code": "DH-HTZ", "zone_level": None},
    REGISTER_DOWN: "unavailable",
}


@pytest.fixture(scope="session")
def talent_platform(platform: Platform) -> Platform:
    """The session's platform, its talent service restarted with a stand-in enterprise register.

    Interim, until the indicators service's LocateEnterprise (issue-3) is merged: then these employers are pushed
    through POST /v1/enterprises:batch instead and the talent service stays as `gaoxin up` starts it.
    """
    enterprises = platform.data_dir / "stand-in-enterprises.json"
    enterprises.write_text(json.dumps(ENTERPRISES, ensure_ascii=False))
    running = platform.processes["talent"]
    running.terminate()
    running.wait(STOP_TIMEOUT_SECONDS)
    with (platform.log_dir / "talent.log").open("ab") as log:
        platform.processes["talent"] = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.talent.stand_in"],
            env={**platform.child_env(), "GAOXIN_TEST_ENTERPRISES": str(enterprises)},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )
    platform.wait_ready()
    return platform


@pytest.fixture
def talent_api(talent_platform: Platform) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {talent_platform.admin_key}"}
    with httpx.Client(base_url=talent_platform.gateway_url, headers=headers, timeout=10) as client:
        yield client


def decision_count(platform: Platform) -> int:
    engine = make_engine(platform.settings.database_url("talent"))
    try:
        with reading(engine) as conn:
            return int(conn.execute(select(func.count()).select_from(store.decisions)).scalar_one())
    finally:
        engine.dispose()
