"""What the platform writes under its data directory is its owner's only: the databases hold API key hashes, the
audit log and talent pseudonyms. Directories made by the user keep the mode the user gave them."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from pathlib import Path

from services.platform import NatsServer, Platform, isolated_settings
from tests.e2e.gaoxin_up import environment


def modes(root: Path) -> dict[str, str]:
    """Every file and directory under `root` (not `root` itself) whose mode lets its group or others in."""
    return {
        str(path.relative_to(root)): oct(stat.S_IMODE(path.stat().st_mode))
        for path in root.rglob("*")
        if stat.S_IMODE(path.stat().st_mode) & 0o077
    }


def test_every_file_a_running_platform_created_is_private_and_the_users_directory_untouched(
    platform: Platform,
) -> None:
    data_dir = platform.data_dir
    assert {p.name for p in data_dir.glob("*.db")} == {"gateway.db", "indicators.db", "rewards.db", "talent.db"}
    assert modes(data_dir) == {}
    # pytest made the data directory: it is the user's, and keeps its mode.
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


def test_gaoxin_migrate_makes_private_databases_whatever_the_umask(tmp_path: Path) -> None:
    data_dir = tmp_path / "shared"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "gaoxin"), "migrate"],
        env=environment(isolated_settings(data_dir)),
        umask=0o022,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in data_dir.glob("*.db")) == ["gateway.db", "indicators.db", "rewards.db", "talent.db"]
    assert modes(data_dir) == {}
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o755


def test_a_service_started_on_its_own_with_umask_022_creates_a_private_database(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    """As a pod or a unit file starts it: not from `gaoxin up`, with the usual umask."""
    env = environment(isolated_settings(tmp_path / "data", nats_url=nats_server.url))
    service = subprocess.Popen(
        [sys.executable, "-m", "services.talent.main"],
        env=env,
        umask=0o022,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    database = tmp_path / "data" / "talent.db"
    try:
        deadline = time.monotonic() + 60
        while not database.exists():
            assert service.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        service.terminate()
        service.wait(15)
    assert oct(stat.S_IMODE(database.stat().st_mode)) == oct(0o600)
