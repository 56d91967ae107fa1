"""A process of the platform that dies is restarted (`gaoxin up` supervises); meanwhile /readyz says which.

One crash must not take the whole API down, and API.md's "/readyz … 503 otherwise" must be visible: the gateway
answers 503 naming the dead backend until the restarted one serves again, with its data intact.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.platform import Platform, Supervisor, isolated_settings
from tests.e2e.conftest import eventually
from tests.e2e.gaoxin_up import GaoxinUp, environment
from tests.e2e.helpers import awards_of, create_zone, recognize, unique_zone_code


@pytest.fixture
def supervised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, list[str]]]:
    """A platform with the supervisor of `gaoxin up` watching it (in a thread here); what it reported."""
    running = Platform(isolated_settings(tmp_path_factory.mktemp("supervised")))
    reports: list[str] = []
    stop = threading.Event()
    watcher = threading.Thread(target=Supervisor(running, reports.append).run, args=(stop,))
    try:
        running.start()
        watcher.start()
        yield running, reports
    finally:
        stop.set()
        if watcher.is_alive():
            watcher.join()
        running.stop()


def gone(pids: dict[str, int]) -> bool:
    """None of these processes exists any more (orphans would be the init's children, not gaoxin up's)."""
    return not any(Path(f"/proc/{pid}").exists() for pid in pids.values())


def readiness(url: str) -> tuple[int, str]:
    reply = httpx.get(f"{url}/readyz", timeout=5)
    return reply.status_code, reply.json().get("detail", "")


def test_a_killed_service_is_restarted_readyz_names_it_meanwhile_and_its_data_survives(
    supervised: tuple[Platform, list[str]],
) -> None:
    platform, reports = supervised
    headers = {"Authorization": f"Bearer {platform.admin_key}"}
    with httpx.Client(base_url=platform.gateway_url, headers=headers, timeout=10) as api:
        before, after = unique_zone_code("SUP"), unique_zone_code("SUP")
        for zone in (before, after):
            create_zone(api, zone)
        assert recognize(api, before, "provincial", "2022-06-30").status_code == 201
        [granted] = eventually(lambda: awards_of(api, before))

        rewards = platform.processes["rewards"]
        rewards.kill()  # SIGKILL: no graceful anything
        killed_at = time.monotonic()
        rewards.wait(5)
        seen: list[tuple[int, str]] = []
        while not seen or seen[-1][0] != 200:
            assert time.monotonic() - killed_at < 30, seen
            state = readiness(platform.gateway_url)
            if not seen or seen[-1] != state:
                seen.append(state)
            time.sleep(0.05)
        print(f"/readyz answered 503 for {time.monotonic() - killed_at:.2f} s after the kill: {seen}")

        assert seen[0][0] == 503 and seen[0][1].startswith("not ready: ") and "rewards" in seen[0][1], seen
        assert platform.processes["rewards"] is not rewards and platform.processes["rewards"].poll() is None
        assert reports == [reports[0]] and reports[0].startswith("rewards exited with signal SIGKILL; restarting")
        # Through the restarted service: the award granted before the crash, and a new one granted by events.
        assert awards_of(api, before) == [granted]
        assert recognize(api, after, "provincial", "2022-06-30").status_code == 201
        [new] = eventually(lambda: awards_of(api, after))
        assert (new["rule"], new["amount_yuan"]) == ("new_provincial_zone", 1_000_000)


def test_gaoxin_up_restarts_a_killed_service_and_sigterm_still_stops_everything(
    tmp_path: pytest.TempPathFactory,
) -> None:
    settings = isolated_settings(tmp_path / "data", shutdown_drain_seconds=1.0)
    url = f"http://127.0.0.1:{settings.gateway_port}"
    up = GaoxinUp(environment(settings))
    try:
        up.wait_for("Admin key")
        children = up.children()
        assert set(children) == {
            "nats-server",
            *(f"services.{s}.main" for s in ("indicators", "rewards", "talent", "gateway")),
        }
        os.kill(children["services.talent.main"], signal.SIGKILL)

        up.wait_for("talent exited with signal SIGKILL; restarting it in 0.5 s", timeout=10)
        assert eventually(lambda: readiness(url)[0] == 200, timeout=20)
        restarted = up.children()
        assert restarted["services.talent.main"] != children["services.talent.main"]
        assert up.process.poll() is None
    finally:
        status = up.stop(signal.SIGTERM)
    assert status == 0, up.lines
    assert gone(restarted)
    assert not any("exited" in line for line in up.lines if "talent" not in line), up.lines


def test_gaoxin_up_stops_everything_and_fails_when_a_service_keeps_failing(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "data")
    up = GaoxinUp(environment(settings))
    blocker = socket.socket()
    try:
        up.wait_for("Admin key")
        children = up.children()
        os.kill(children["services.rewards.main"], signal.SIGKILL)
        # Its metrics port taken (no SO_REUSEADDR), every restart of rewards fails at once.
        deadline = time.monotonic() + 5
        while True:
            try:
                blocker.bind(("127.0.0.1", settings.rewards_metrics_port))
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.01)
        blocker.listen()

        up.wait_for("stopped", timeout=90)
        assert up.process.wait(10) == 1
    finally:
        up.stop()
        blocker.close()
    restarts = [line for line in up.lines if "rewards exited with" in line]
    assert [line.split(" restarting it in ")[1].split(" ")[0] for line in restarts] == ["0.5", "1", "2", "4"], up.lines
    assert any(
        line.startswith("platform stopped: rewards exited 5 times within 60 s") and "rewards.log" in line
        for line in up.lines
    ), up.lines
    assert gone(children)
