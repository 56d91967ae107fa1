"""Demo data is loaded into an installation once: `make run` again keeps what users changed (README: `make run`).

The first test runs `gaoxin up` itself, twice on one data directory, as `make run` does (GAOXIN_DEMO_DATA=1);
the second drives the loader on a platform of its own to show a load that failed midway is loaded again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services import demo
from services.common.db import make_engine, reading
from services.gateway import store
from services.platform import Platform, isolated_settings
from tests.e2e.conftest import eventually
from tests.e2e.gaoxin_up import GaoxinUp, environment
from tests.e2e.helpers import awards_of


@pytest.fixture
def make_run_env(tmp_path: Path) -> Iterator[tuple[dict[str, str], str, str]]:
    """The environment of `make run` (demo data on) with every port free; its gateway URL and admin key."""
    settings = isolated_settings(tmp_path / "data", demo_data=True)
    assert settings.bootstrap_admin_key is not None
    yield (
        environment(settings),
        f"http://127.0.0.1:{settings.gateway_port}",
        settings.bootstrap_admin_key.get_secret_value(),
    )


def ledger(api: httpx.Client) -> list[tuple[str, str, str, int, str]]:
    """Every award, granted and revoked."""
    items: list[dict[str, Any]] = []
    token = None
    while True:
        reply = api.get("/v1/awards", params={"page_size": 1000, **({"page_token": token} if token else {})})
        assert reply.status_code == 200, reply.text
        items += reply.json()["items"]
        token = reply.json()["next_page_token"]
        if not token:
            return sorted((a["award_id"], a["rule"], a["basis_key"], a["amount_yuan"], a["status"]) for a in items)


def settled_ledger(
    api: httpx.Client, quiet_seconds: float = 1.0, timeout: float = 20.0
) -> list[tuple[str, str, str, int, str]]:
    """The ledger once it has stopped changing for `quiet_seconds`: the demo data's awards arrive by events, after
    the load has answered, and a snapshot taken meanwhile would miss some."""
    deadline = time.monotonic() + timeout
    last, since = ledger(api), time.monotonic()
    while time.monotonic() - since < quiet_seconds:
        assert time.monotonic() < deadline, "the ledger kept changing"
        time.sleep(0.2)
        current = ledger(api)
        if current != last:
            last, since = current, time.monotonic()
    return last


def ranks(api: httpx.Client, year: int) -> dict[str, int]:
    reply = api.get(f"/v1/evaluations/{year}/rankings/provincial")
    assert reply.status_code == 200, reply.text
    return {r["zone_code"]: r["rank"] for r in reply.json()["ranks"]}


def test_make_run_again_keeps_a_ranking_changed_through_the_api_and_the_ledger(
    make_run_env: tuple[dict[str, str], str, str],
) -> None:
    env, url, key = make_run_env
    first = GaoxinUp(env)
    try:
        first.wait_for("Admin key")
        assert any(line.startswith("demo data loaded: ") and "'rankings': 4" in line for line in first.lines)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=10) as api:
            assert ranks(api, 2023) == demo.RANKINGS[2023]
            # A user replaces the 2023 provincial ranking: 灌云 from 17 to 15, 4 better than its best (19 in 2021).
            changed = {**demo.RANKINGS[2023], "GYUN-DEMO": 15}
            body = {"ranks": [{"zone_code": z, "rank": r} for z, r in changed.items()], "field_size": 20}
            reply = api.put("/v1/evaluations/2023/rankings/provincial", json=body)
            assert reply.status_code in (200, 201), reply.text
            [award] = eventually(lambda: awards_of(api, "GYUN-DEMO"))
            assert (award["rule"], award["basis_key"], award["amount_yuan"]) == (
                "rank_advance",
                "2023:provincial",
                500_000,
            )
            before = settled_ledger(api)
            summary = api.get("/v1/awards/summary").json()
    finally:
        first.stop()

    second = GaoxinUp(env)
    try:
        second.wait_for("Admin key")
        assert not any(line.startswith("demo data loaded") for line in second.lines), second.lines
        assert any(line.startswith("demo data already loaded") for line in second.lines), second.lines
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=10) as api:
            assert ranks(api, 2023) == changed
            time.sleep(1.0)  # what a re-push would have caused arrives by events: give it time to show
            assert ledger(api) == before
            assert [a["status"] for a in awards_of(api, "GYUN-DEMO")] == ["granted"]
            assert api.get("/v1/awards/summary").json() == summary
    finally:
        second.stop()


def test_a_demo_load_that_failed_midway_is_loaded_again_and_a_completed_one_never(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = Platform(isolated_settings(tmp_path / "data"))
    gateway_db = platform.settings.database_url("gateway")
    try:
        platform.start()
        # Everything before the rankings is pushed, then a ranking the API refuses (rank 0) stops the load.
        monkeypatch.setattr(demo, "RANKINGS", {**demo.RANKINGS, 2025: {"GY-DEMO": 0}})
        with pytest.raises(RuntimeError, match="demo data refused"):
            demo.load_once(platform.gateway_url, platform.admin_key, gateway_db)
        engine = make_engine(gateway_db)
        with reading(engine) as conn:
            assert store.demo_data_loaded_at(conn) is None  # not complete: the next start loads it again
        monkeypatch.undo()

        retried = demo.load_once(platform.gateway_url, platform.admin_key, gateway_db)
        assert not retried.skipped and retried.counts["rankings"] == 4

        again = demo.load_once(platform.gateway_url, platform.admin_key, gateway_db)
        assert again.skipped and again.counts == {} and again.loaded_at == retried.loaded_at
        with reading(engine) as conn:
            assert store.demo_data_loaded_at(conn) == retried.loaded_at
        engine.dispose()
    finally:
        platform.stop()
