"""`gaoxin up` and the life of what it starts: nothing outlives it, whatever happens to its console or to itself;
a signal during the start stops what was started at once; Ctrl-C at a terminal stops the gateway first, with its
drain."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from services.platform import isolated_settings
from tests.e2e.conftest import eventually
from tests.e2e.gaoxin_up import GAOXIN, GaoxinUp, environment, kill_all, processes_of


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_gaoxin_up_whose_console_goes_away_keeps_running_and_then_stops_everything(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "data")
    url = f"http://127.0.0.1:{settings.gateway_port}"
    # `gaoxin up | head -1`: the reader takes the first line and goes; every later write meets a closed pipe.
    up = subprocess.Popen([GAOXIN, "up"], env=environment(settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert up.stdout is not None
        assert up.stdout.readline().startswith(b"starting the platform")
        up.stdout.close()
        assert eventually(lambda: ready(url), timeout=90)
        time.sleep(1)  # the banner is written (into the closed pipe) right after the platform is ready

        assert up.poll() is None, "gaoxin up died with its console"
        assert len(processes_of(settings.data_dir)) == 5  # nats-server and the four services

        up.send_signal(signal.SIGTERM)
        assert up.wait(30) == 0
        assert processes_of(settings.data_dir) == {}
        assert not ready(url)
    finally:
        if up.poll() is None:
            up.kill()
        kill_all(processes_of(settings.data_dir))


def test_what_gaoxin_up_started_ends_with_it_even_when_it_is_killed(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "data")
    up = GaoxinUp(environment(settings))
    try:
        up.wait_for("Ctrl-C stops everything")
        assert len(processes_of(settings.data_dir)) == 5

        up.process.kill()  # SIGKILL: no handler, no finally

        assert eventually(lambda: processes_of(settings.data_dir) == {}, timeout=20), processes_of(settings.data_dir)
    finally:
        kill_all(processes_of(settings.data_dir))


def test_sigterm_during_the_start_stops_what_was_started_at_once_and_prints_no_banner(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "data", demo_data=True)
    up = GaoxinUp(environment(settings))
    try:
        up.wait_for("starting the platform")
        time.sleep(1.5)  # NATS, the migrations or the services starting

        up.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        status = up.process.wait(30)
        took = time.monotonic() - signalled
        up.wait_for("stopped", timeout=5)
    finally:
        if up.process.poll() is None:
            up.process.kill()
        kill_all(processes_of(settings.data_dir))
    assert status == 128 + signal.SIGTERM, up.lines
    assert "start-up interrupted by SIGTERM" in up.lines
    assert not any("Admin key" in line or "demo data" in line for line in up.lines), up.lines
    assert took < 15, took  # the stop itself: no start, no demo load first
    assert processes_of(settings.data_dir) == {}


def test_ctrl_c_at_a_terminal_stops_the_gateway_first_with_its_drain(tmp_path: Path) -> None:
    drain = 2.0
    settings = isolated_settings(tmp_path / "data", shutdown_drain_seconds=drain)
    url = f"http://127.0.0.1:{settings.gateway_port}"
    up = GaoxinUp(environment(settings), own_session=True)
    try:
        up.wait_for("Ctrl-C stops everything")
        headers = {"Authorization": f"Bearer {settings.bootstrap_admin_key.get_secret_value()}"}  # type: ignore[union-attr]

        # What Ctrl-C does: SIGINT to every process of the terminal's foreground group.
        os.killpg(up.process.pid, signal.SIGINT)
        signalled = time.monotonic()
        served_while_draining = []
        with httpx.Client(base_url=url, headers=headers, timeout=5) as api:
            while time.monotonic() - signalled < drain - 0.5:
                readiness = api.get("/readyz")
                zones = api.get("/v1/zones")
                served_while_draining.append((readiness.status_code, readiness.json().get("code"), zones.status_code))
                time.sleep(0.1)
        status = up.process.wait(30)
    finally:
        if up.process.poll() is None:
            up.process.kill()
        kill_all(processes_of(settings.data_dir))
    # The gateway alone received SIGTERM (from gaoxin up): not ready, yet serving through its backends, which
    # gaoxin up stops only once the gateway has ended.
    assert served_while_draining, up.lines
    assert set(served_while_draining) == {(503, "shutting_down", 200)}, served_while_draining
    assert status == 0, up.lines
    assert processes_of(settings.data_dir) == {}


def test_gaoxin_up_on_another_interface_than_loopback_polls_and_prints_that_interface(tmp_path: Path) -> None:
    """GAOXIN_HOST=127.0.0.2 (as an interface address would be): the services bind there and only there, and the
    start, the services' calls to each other and the banner use it, not 127.0.0.1."""
    settings = isolated_settings(tmp_path / "data", host="127.0.0.2")
    up = GaoxinUp(environment(settings))
    try:
        up.wait_for("Ctrl-C stops everything")
        url = f"http://127.0.0.2:{settings.gateway_port}"

        assert any(f"Gateway   {url}" in line for line in up.lines), up.lines
        assert ready(url)
        assert not ready(f"http://127.0.0.1:{settings.gateway_port}")
        admin = next(line.split()[-1] for line in up.lines if line.strip().startswith("Admin key"))
        reply = httpx.get(f"{url}/v1/policy/clauses/5", headers={"Authorization": f"Bearer {admin}"}, timeout=5)
        assert reply.status_code == 200, reply.text
        assert up.stop() == 0
    finally:
        kill_all(processes_of(settings.data_dir))
