"""What `gaoxin up` refuses before it creates or starts anything, in one line naming the setting: ports another
platform holds, an invalid setting, a production talent service without its pseudonym key; and the readiness
it waits for is its own processes', not whatever answers on its ports."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from services.common.config import DEVELOPMENT_PSEUDONYM_KEY, Settings
from services.platform import PSEUDONYM_KEY_FILE, Platform, isolated_settings
from tests.e2e.gaoxin_up import GAOXIN, environment, kill_all, processes_of


def gaoxin_up(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`gaoxin up` run to its end, which a refusal is at once; if it started something instead, that is ended."""
    try:
        return subprocess.run([GAOXIN, "up"], env=env, capture_output=True, text=True, timeout=60)
    finally:
        kill_all(processes_of(Path(env["GAOXIN_DATA_DIR"])))


def test_gaoxin_up_on_the_ports_of_a_running_platform_refuses_at_once_naming_them(
    platform: Platform, tmp_path: Path
) -> None:
    data_dir = tmp_path / "second"
    taken = platform.settings
    done = gaoxin_up(environment(taken.model_copy(update={"data_dir": data_dir})))

    assert done.returncode == 1
    assert done.stdout == ""  # no banner, no admin key that would not work
    ports = ", ".join(f"{setting} {port}" for setting, port in taken.listen_ports().items())
    assert done.stderr.splitlines() == [f"gaoxin: {ports} are already in use (another gaoxin up?)"]
    assert not data_dir.exists()


def test_gaoxin_up_names_the_one_port_in_use(platform: Platform, tmp_path: Path) -> None:
    port = platform.settings.rewards_grpc_port
    done = gaoxin_up(environment(isolated_settings(tmp_path / "data", gateway_port=port)))

    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"gaoxin: GAOXIN_GATEWAY_PORT {port} is already in use (another gaoxin up?)"]
    assert not (tmp_path / "data").exists()


def test_readiness_answered_by_another_platforms_gateway_is_not_taken_for_ours(
    platform: Platform, tmp_path: Path
) -> None:
    # The start's own check passed (say the other platform took the port a moment later): our gateway cannot
    # listen, while the other one answers /readyz 200 on that port.
    ours = Platform(isolated_settings(tmp_path / "data", gateway_port=platform.settings.gateway_port))
    ours.log_dir.mkdir(parents=True)
    ours.admin_key = ours.resolve_admin_key()
    try:
        ours.spawn("gateway")
        with pytest.raises(RuntimeError) as failed:
            ours.wait_ready(timeout=60)
    finally:
        ours.stop()
    port = platform.settings.gateway_port
    assert str(failed.value).startswith(
        f"gateway exited with 3 (GAOXIN_GATEWAY_PORT {port} is already in use (another gaoxin up?)); see "
    )


@pytest.mark.parametrize(
    ("variable", "value", "refusal"),
    [
        (
            "GAOXIN_LOG_LEVEL",
            "LOUD",
            "GAOXIN_LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (any case)",
        ),
        ("GAOXIN_OUTBOX_POLL_SECONDS", "0", "GAOXIN_OUTBOX_POLL_SECONDS: Input should be greater than 0"),
        ("GAOXIN_GATEWAY_PORT", "70000", "GAOXIN_GATEWAY_PORT: Input should be less than or equal to 65535"),
    ],
)
def test_gaoxin_up_refuses_an_invalid_setting_before_creating_anything(
    tmp_path: Path, variable: str, value: str, refusal: str
) -> None:
    env = environment(isolated_settings(tmp_path / "data"))
    env[variable] = value

    done = gaoxin_up(env)

    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [f"gaoxin: invalid settings: {refusal}"]
    assert not (tmp_path / "data").exists()


def test_production_without_a_pseudonym_key_is_refused_before_anything_starts(tmp_path: Path) -> None:
    settings = isolated_settings(
        tmp_path / "data",
        environment="production",
        nats_url="nats://127.0.0.1:1",
        **{
            f"{s}_database_url": f"postgresql://127.0.0.1:1/gx_{s}"
            for s in ("indicators", "rewards", "talent", "gateway")
        },
    )
    assert isinstance(settings, Settings) and settings.talent_pseudonym_key is None

    done = gaoxin_up(environment(settings))

    assert done.returncode == 1
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("gaoxin: production needs its own GAOXIN_TALENT_PSEUDONYM_KEY of at least 32 characters")
    assert not (tmp_path / "data").exists()


def test_a_data_dirs_pseudonym_key_too_short_to_be_a_key_is_refused_before_anything_starts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / PSEUDONYM_KEY_FILE).write_text("abc\n")

    done = gaoxin_up(environment(isolated_settings(data_dir)))

    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line == (
        f"gaoxin: {data_dir / PSEUDONYM_KEY_FILE} holds a talent pseudonym key of 3 characters; it needs at least 32: "
        "delete the file to have one generated, or set GAOXIN_TALENT_PSEUDONYM_KEY"
    )
    assert sorted(p.name for p in data_dir.iterdir()) == [PSEUDONYM_KEY_FILE]  # nothing else created


def test_an_emptied_pseudonym_key_file_gets_a_key_of_its_own_not_the_codes_development_key(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "data")
    key_file = settings.data_dir / PSEUDONYM_KEY_FILE
    settings.data_dir.mkdir()
    key_file.write_text("")
    key_file.chmod(0o644)

    with Platform(settings) as running:
        assert running.pseudonym_key == key_file.read_text().strip()
    assert len(key_file.read_text().strip()) >= 32
    assert key_file.read_text().strip() != DEVELOPMENT_PSEUDONYM_KEY
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
