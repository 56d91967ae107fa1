"""`gaoxin demo`, `gaoxin keys` and `gaoxin audit` on ordinary mistakes: one line saying what is wrong, no
traceback, nothing created; a key's quota bounded as the REST API bounds it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

from services.cli import MAX_RATE_LIMIT, MIN_RATE_LIMIT
from services.gateway.routes.keys import KeyIn
from services.platform import Platform, free_port
from tests.e2e.gaoxin_up import GAOXIN


def gaoxin(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GAOXIN_")} | env
    return subprocess.run([GAOXIN, *args], env=environ, capture_output=True, text=True, timeout=60)


def test_demo_goes_to_the_configured_gateway_port_and_a_wrong_key_is_one_line(platform: Platform) -> None:
    port = platform.settings.gateway_port
    done = gaoxin("demo", "--key", "gx_wrong_key", GAOXIN_GATEWAY_PORT=str(port))

    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith(f"gaoxin: demo data refused: PUT http://127.0.0.1:{port}/v1/counties/"), line
    assert " → 401 " in line


def test_demo_without_a_gateway_is_one_line() -> None:
    port = free_port()
    done = gaoxin("demo", "--key", "gx_any", "--url", f"http://127.0.0.1:{port}")

    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"gaoxin: demo data not loaded: no answer from the gateway at http://127.0.0.1:{port}: "
        "[Errno 111] Connection refused"
    ]


def test_keys_and_audit_without_a_gateway_database_say_so_and_create_nothing(tmp_path: Path) -> None:
    nowhere = tmp_path / "nowhere"
    for command in (["keys", "create", "--name", "a", "--scope", "admin"], ["keys", "list"], ["audit", "verify"]):
        done = gaoxin(*command, GAOXIN_DATA_DIR=str(nowhere))

        assert done.returncode == 1, command
        assert done.stdout == ""
        assert done.stderr.splitlines() == [
            f"gaoxin: no gateway database at {nowhere / 'gateway.db'}: run this where `gaoxin up` ran, or set "
            "GAOXIN_DATA_DIR (or GAOXIN_GATEWAY_DATABASE_URL) to the platform's"
        ]
        assert not nowhere.exists()


def test_keys_against_an_unmigrated_gateway_database_say_how_to_migrate_it(tmp_path: Path) -> None:
    (tmp_path / "gateway.db").touch()
    done = gaoxin("keys", "list", GAOXIN_DATA_DIR=str(tmp_path))

    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith(
        "gaoxin: gateway: database unreachable or not migrated (run `gaoxin migrate --service gateway`): "
    ), line
    with sqlite3.connect(tmp_path / "gateway.db") as db:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == []  # no table made meanwhile


def test_keys_create_refuses_a_rate_limit_the_rest_api_refuses(tmp_path: Path) -> None:
    schema = KeyIn.model_json_schema()["properties"]["rate_limit_per_minute"]["anyOf"][0]
    assert (schema["minimum"], schema["maximum"]) == (MIN_RATE_LIMIT, MAX_RATE_LIMIT)
    for value in ("0", "-5", str(MAX_RATE_LIMIT + 1)):
        done = gaoxin("keys", "create", "--name", "a", "--scope", "read", f"--rate-limit={value}")

        assert done.returncode == 2, value
        assert done.stderr.splitlines()[-1] == (
            "gaoxin keys create: error: argument --rate-limit: must be 1 to 1000000 requests per minute"
        )
