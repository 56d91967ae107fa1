"""GAOXIN_BOOTSTRAP_ADMIN_KEY as `gaoxin up` treats it: too short, refused before anything starts; revoked, kept
revoked across restarts and announced as revoked, never as a key that works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from services.common.config import MIN_BOOTSTRAP_ADMIN_KEY_LENGTH
from services.platform import isolated_settings
from tests.e2e.gaoxin_up import GaoxinUp, environment


def test_gaoxin_up_refuses_a_short_bootstrap_key_at_once_before_creating_anything(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = environment(isolated_settings(data_dir))
    env["GAOXIN_BOOTSTRAP_ADMIN_KEY"] = "too-short-a-secret"

    done = subprocess.run(
        [str(Path(sys.executable).parent / "gaoxin"), "up"], env=env, capture_output=True, text=True, timeout=30
    )

    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "gaoxin: invalid settings: GAOXIN_BOOTSTRAP_ADMIN_KEY: "
        f"must be at least {MIN_BOOTSTRAP_ADMIN_KEY_LENGTH} characters"
    ]
    assert "too-short-a-secret" not in done.stderr
    assert not data_dir.exists()  # no NATS store, no database, no log


def test_a_revoked_bootstrap_key_stays_revoked_after_a_restart_and_the_banner_says_so(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "data")
    assert settings.bootstrap_admin_key is not None
    boot = settings.bootstrap_admin_key.get_secret_value()
    url = f"http://127.0.0.1:{settings.gateway_port}"
    env = environment(settings)

    first = GaoxinUp(env)
    try:
        first.wait_for("Admin key")
        assert any(line.strip() == f"Admin key {boot}" for line in first.lines), first.lines
        made = httpx.post(
            f"{url}/v1/keys",
            json={"name": "second admin", "scopes": ["admin"]},
            headers={"Authorization": f"Bearer {boot}"},
        )
        assert made.status_code == 201, made.text
        other = {"Authorization": f"Bearer {made.json()['key']}"}
        [boot_id] = [
            k["key_id"]
            for k in httpx.get(f"{url}/v1/keys", headers=other).json()["items"]
            if k["key_id"].startswith("boot-")
        ]
        assert httpx.delete(f"{url}/v1/keys/{boot_id}", headers=other).status_code in (200, 204)
    finally:
        assert first.stop() == 0

    second = GaoxinUp(env)
    try:
        second.wait_for("Ctrl-C stops everything")  # the whole banner
        banner = [line for line in second.lines if "Admin key" in line]
        assert banner == [line for line in banner if "REVOKED" in line and boot_id in line and boot not in line]
        assert banner, second.lines
        assert any("GAOXIN_BOOTSTRAP_ADMIN_KEY" in line and "gaoxin keys create" in line for line in second.lines)
        assert not any(boot in line for line in second.lines), second.lines
        assert httpx.get(f"{url}/v1/keys", headers={"Authorization": f"Bearer {boot}"}).status_code == 401
        assert httpx.get(f"{url}/v1/keys", headers=other).status_code == 200
    finally:
        assert second.stop() == 0
    log = (settings.data_dir / "logs" / "gateway.log").read_text()
    warnings = [line for line in log.splitlines() if "bootstrap admin key was revoked" in line]
    assert len(warnings) == 1 and '"WARNING"' in warnings[0] and boot_id in warnings[0], warnings
