"""`gaoxin up` itself as a subprocess, as `make run` starts it, for the tests of what only it does."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from pydantic import SecretStr

from services.common.config import Settings
from services.platform import STOP_TIMEOUT_SECONDS

START_TIMEOUT_SECONDS = 90.0


def environment(settings: Settings) -> dict[str, str]:
    """The environment that gives `gaoxin up` these settings (and nothing GAOXIN_ from the caller's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAOXIN_")}
    for name, value in settings.model_dump(exclude_none=True).items():
        env[f"GAOXIN_{name.upper()}"] = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
    env["PYTHONUNBUFFERED"] = "1"
    return env


GAOXIN = str(Path(sys.executable).parent / "gaoxin")


def processes_of(data_dir: Path) -> dict[int, str]:
    """Every process `gaoxin up` started for this data directory, whoever its parent now is (an orphan's is init):
    the services (GAOXIN_DATA_DIR in their environment) and the embedded nats-server (its store in its arguments);
    not `gaoxin up` itself."""
    marker = f"GAOXIN_DATA_DIR={data_dir.resolve()}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if argv[1:3] == [GAOXIN.encode(), b"up"]:
                continue
            if marker in (entry / "environ").read_bytes().split(b"\0") or str(data_dir.resolve()).encode() in b" ".join(
                argv
            ):
                found[int(entry.name)] = b" ".join(argv).decode(errors="replace")
        except OSError:
            continue  # exited meanwhile, or not ours to read
    return found


def kill_all(pids: dict[int, str]) -> None:
    """SIGKILL to each of these (a test's clean-up of what a broken `gaoxin up` left behind)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class GaoxinUp:
    """`gaoxin up` as a subprocess, its console read line by line."""

    def __init__(self, env: dict[str, str], *, own_session: bool = False) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            [GAOXIN, "up"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # As in a terminal: its own process group, which a test can send "Ctrl-C" (killpg) without hitting pytest.
            start_new_session=own_session,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = START_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"no {text!r} from gaoxin up: {self.lines}") from None
            if line is None:
                raise RuntimeError(f"gaoxin up exited with {self.process.wait()}: {self.lines}")
            self.lines.append(line)

    def children(self) -> dict[str, int]:
        """The processes it started, by what they run (`services.rewards.main`, `nats-server`): their pids."""
        found = {}
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == (
                    self.process.pid
                ):
                    argv = (entry / "cmdline").read_bytes().decode().split("\0")
                    found[argv[2] if argv[1:2] == ["-m"] else Path(argv[0]).name] = int(entry.name)
            except (OSError, IndexError):
                continue  # exited meanwhile
        return found

    def stop(self, sig: signal.Signals = signal.SIGINT) -> int:
        """Ctrl-C (or `sig`), as at the console; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(STOP_TIMEOUT_SECONDS * 3)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.wait_for("stopped", timeout=5)
        return self.process.returncode
