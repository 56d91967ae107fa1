"""Child processes a benchmark starts itself, always stopped on the way out (even when the benchmark fails)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from services.platform import STOP_TIMEOUT_SECONDS, wait_for_port

READY_TIMEOUT_SECONDS = 30.0
# `python -m bench.…` must find the bench package, which is not installed: run children from the checkout.
REPO_ROOT = Path(__file__).resolve().parent.parent


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not gone after a grace period."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def python_module(module: str, args: Sequence[str], port: int, log_file: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m module args…` with this interpreter, once it listens on 127.0.0.1:`port`; stopped on exit."""
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args], stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT
        )
    try:
        wait_for_port(port, READY_TIMEOUT_SECONDS, process)
        yield process
    finally:
        stop(process)


def cpu_seconds(pids: Sequence[int]) -> float | None:
    """User and system CPU seconds the processes `pids` have used so far (their own, not their children's);
    None without pids, or where /proc does not tell (not Linux, or a process gone)."""
    if not pids:
        return None
    total_ticks = 0
    try:
        for pid in pids:
            # The command name in parentheses may hold spaces; the fields after it are fixed (proc(5)).
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total_ticks += int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, IndexError, ValueError):
        return None
    return total_ticks / os.sysconf("SC_CLK_TCK")


def tail(path: Path, lines: int = 20) -> str:
    """The end of a log file, for the error report when a child misbehaves."""
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
