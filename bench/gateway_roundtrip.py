"""GET /v1/zones/{code} through the real platform, beside a bare FastAPI → grpc.aio echo of the same shape.

Subject: load generator → gateway (uvicorn, FastAPI, middleware, API-key auth) → gRPC → indicators service
→ SQLite, with nats-server and the other services running as in `gaoxin up`.
Baseline: load generator → bench.echo http (uvicorn, FastAPI, one route) → gRPC → bench.echo grpc (identity
echo). Both servers are two processes with one uvicorn worker in front, both running throughout and measured
in turn with the same load (bench.paired), so the ratio is what the platform's read path costs over the bare
frameworks on this machine.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import procs
from bench.load import Load, Measured, measure
from bench.paired import Goal, Paired, alternate
from bench.report import machine, note
from bench.stats import ratios
from services.common.config import DOMAIN_SERVICES
from services.platform import Platform, free_port, isolated_settings

NAME = "gateway_roundtrip"
DESCRIPTION = "GET /v1/zones/{code}: gateway → gRPC → indicators → SQLite, beside bare FastAPI → grpc.aio echo"

COUNTY = ("320706", {"name": "海州区"})
ZONE = ("BENCH-1", {"name": "基准区", "county_code": "320706"})


@dataclass(frozen=True)
class Echo:
    url: str  # what to load
    pids: tuple[int, ...]  # its two processes, whose CPU a phase counts


@contextmanager
def running_echo(work_dir: Path) -> Iterator[Echo]:
    """The two baseline processes (bench.echo http → grpc), stopped on the way out."""
    work_dir.mkdir(parents=True)
    grpc_port, http_port = free_port(), free_port()
    logs = {"grpc": work_dir / "echo-grpc.log", "http": work_dir / "echo-http.log"}
    try:
        with ExitStack() as stack:
            echo_grpc = stack.enter_context(
                procs.python_module("bench.echo", ["grpc", "--port", str(grpc_port)], grpc_port, logs["grpc"])
            )
            args = ["http", "--port", str(http_port), "--grpc-port", str(grpc_port)]
            echo_http = stack.enter_context(procs.python_module("bench.echo", args, http_port, logs["http"]))
            note(f"baseline: bare FastAPI :{http_port} → grpc.aio echo :{grpc_port}")
            yield Echo(f"http://127.0.0.1:{http_port}/echo/{ZONE[0]}", (echo_http.pid, echo_grpc.pid))
    except Exception:
        _show_logs(logs.values())
        raise


def measure_baseline(echo: Echo, load: Load) -> Measured:
    note(f"baseline: {describe(load)}")
    measured = measure(echo.url, load, server_pids=echo.pids)
    note(f"baseline: {brief(measured)}")
    return measured


@contextmanager
def running_platform(work_dir: Path) -> Iterator[Platform]:
    """The whole platform as `gaoxin up` starts it, on free loopback ports, stopped on the way out."""
    # Explicit None for everything that could point elsewhere, so no GAOXIN_* variable leaks in: only 127.0.0.1.
    settings = isolated_settings(
        work_dir,
        environment="development",
        host="127.0.0.1",
        nats_url=None,
        demo_data=False,
        # The load is the point here: the per-key quota (6000/min by default) would cut a long run short.
        rate_limit_per_minute=100_000_000,
        gateway_database_url=None,
        **{f"{s}_database_url": None for s in DOMAIN_SERVICES},
        **{f"{s}_addr": None for s in DOMAIN_SERVICES},
    )
    platform = Platform(settings)
    try:
        note("subject: starting the platform (nats-server, indicators, rewards, talent, gateway)")
        platform.start()
        yield platform
    except Exception:
        _show_logs(sorted(platform.log_dir.glob("*.log")))
        raise
    finally:
        note("subject: stopping the platform")
        platform.stop()


def seed(platform: Platform) -> None:
    """The county and zone the reads ask for, pushed through the REST API."""
    headers = {"Authorization": f"Bearer {platform.admin_key}"}
    with httpx.Client(base_url=platform.gateway_url, headers=headers, timeout=10, trust_env=False) as client:
        for path, body in ((f"/v1/counties/{COUNTY[0]}", COUNTY[1]), (f"/v1/zones/{ZONE[0]}", ZONE[1])):
            reply = client.put(path, json=body)
            if reply.status_code not in (200, 201):
                raise RuntimeError(f"PUT {path} answered {reply.status_code}: {reply.text[:300]}")


def server_pids(platform: Platform) -> tuple[int, ...]:
    """Every process of the running platform: the four services and nats-server."""
    pids = [process.pid for process in platform.processes.values()]
    if platform.nats is not None and platform.nats.process is not None:
        pids.append(platform.nats.process.pid)
    return tuple(pids)


def measure_subject(platform: Platform, load: Load) -> Measured:
    headers = {"Authorization": f"Bearer {platform.admin_key}"}
    note(f"subject: gateway {platform.gateway_url}; {describe(load)}")
    measured = measure(f"{platform.gateway_url}/v1/zones/{ZONE[0]}", load, headers, server_pids=server_pids(platform))
    note(f"subject: {brief(measured)}")
    return measured


def run(load: Load) -> dict[str, object]:
    with (
        tempfile.TemporaryDirectory(prefix="gaoxin-bench-", ignore_cleanup_errors=True) as tmp,
        running_echo(Path(tmp) / "baseline") as echo,
        running_platform(Path(tmp) / "platform") as platform,
    ):
        seed(platform)
        paired = alternate(load.rounds, lambda: measure_baseline(echo, load), lambda: measure_subject(platform, load))
    return beside_baseline(NAME, DESCRIPTION, load, paired)


def beside_baseline(
    name: str, description: str, load: Load, paired: Paired, goal: Goal | None = None
) -> dict[str, object]:
    """A request benchmark's result: both measurements pooled over the rounds, their ratios, the load, the machine;
    with `goal`, the goal and whether the pooled ratios meet it."""
    ratio = ratios(paired.subject.summary, paired.baseline.summary)
    subject_cpu, baseline_cpu = paired.subject.server_cpu_ms_per_request, paired.baseline.server_cpu_ms_per_request
    if subject_cpu is not None and baseline_cpu:
        ratio["server_cpu_per_request"] = round(subject_cpu / baseline_cpu, 3)
    judged: dict[str, object] = {}
    if goal is not None:
        judged = {"goal": goal.as_dict(), "meets_goal": goal.met_by(ratio)}
    return {
        "benchmark": name,
        "description": description,
        "concurrency": load.concurrency,
        "requests": load.requests,
        "warmup": load.warmup,
        "rounds": load.rounds,
        "subject": paired.subject.as_dict(),
        "baseline": paired.baseline.as_dict(),
        "ratio": ratio,
        "ratio_by_round": list(paired.rounds),
        **judged,
        "machine": machine(),
    }


def describe(load: Load) -> str:
    return f"{load.warmup} warm-up + {load.requests} measured requests, {load.concurrency} in flight"


def brief(measured: Measured) -> str:
    s = measured.summary
    return f"{s.rps:.0f} req/s, p50 {s.p50_ms:.1f} ms, p99 {s.p99_ms:.1f} ms"


def _show_logs(paths: Iterable[Path]) -> None:
    for path in paths:
        text = procs.tail(path)
        if text:
            note(f"--- end of {path.name} ---\n{text}")
