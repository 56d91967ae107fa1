"""The one load generator every HTTP benchmark uses: a fixed number of requests with a fixed number in flight.

`concurrency` workers, each with its own httpx.AsyncClient holding one keep-alive connection, take request
slots from a shared counter until `requests` have been sent, so a phase is bounded by count, and also by
`max_seconds` in case the server stalls. A warm-up phase with the same shape runs first and is not measured.

One client per worker rather than one shared client with a pool of `concurrency` connections: httpx's pool
does work proportional to its size on every request, and at 50 connections that made the load generator
(2.3 ms of CPU per request, against 0.65 ms this way) the bottleneck, on a 2-core machine it shares.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from bench.procs import cpu_seconds
from bench.report import note
from bench.stats import Summary, summarize

REQUEST_TIMEOUT_SECONDS = 10.0

T = TypeVar("T")


@dataclass(frozen=True)
class Load:
    concurrency: int
    requests: int
    warmup: int
    max_seconds: float
    # A benchmark with a baseline measures the two in turn this many times (see bench.paired).
    rounds: int = 1


@dataclass(frozen=True)
class Measured:
    summary: Summary
    # CPU the load generator itself used during the measured phase, as a share of one core: near 100 means
    # the client, not the server, may be what limits the figure.
    client_cpu_percent: float
    # Kept so that several phases can be pooled into one summary (see `pooled`); not reported.
    latencies_s: tuple[float, ...] = field(default=(), repr=False, compare=False)
    # CPU seconds the server's processes used during the phase (None when not known): unlike requests/s, what a
    # request costs the servers does not depend on how much of the machine the load generator takes.
    server_cpu_s: float | None = None

    @property
    def client_cpu_ms_per_request(self) -> float:
        return self.client_cpu_percent / 100 * self.summary.seconds * 1000 / self.summary.count

    @property
    def server_cpu_ms_per_request(self) -> float | None:
        return None if self.server_cpu_s is None else self.server_cpu_s * 1000 / self.summary.count

    def as_dict(self) -> dict[str, float | int]:
        figures: dict[str, float | int] = {
            **self.summary.as_dict(),
            "client_cpu_percent": round(self.client_cpu_percent, 1),
            "client_cpu_ms_per_request": round(self.client_cpu_ms_per_request, 3),
        }
        if (server := self.server_cpu_ms_per_request) is not None:
            figures["server_cpu_ms_per_request"] = round(server, 3)
        return figures


def pooled(phases: Sequence[Measured]) -> Measured:
    """Several measured phases as one: every latency in the percentiles, throughput over their summed time."""
    if not phases:
        raise ValueError("no phases to pool")
    seconds = sum(p.summary.seconds for p in phases)
    client_cpu = sum(p.client_cpu_percent * p.summary.seconds for p in phases) / seconds
    latencies = tuple(latency for p in phases for latency in p.latencies_s)
    known = [p.server_cpu_s for p in phases]
    server_cpu = None if None in known else sum(s for s in known if s is not None)
    return Measured(summarize(latencies, seconds), client_cpu, latencies, server_cpu)


class LoadError(RuntimeError):
    pass


async def _phase(
    clients: Sequence[httpx.AsyncClient], url: str, load: Load, count: int, body: bytes | None = None
) -> tuple[list[float], float]:
    """Send `count` GETs (POSTs of `body` when given) with one in flight per client; every answer must be a 200."""
    method = "GET" if body is None else "POST"
    latencies: list[float] = []
    next_slot = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal next_slot
        while next_slot < count:
            next_slot += 1  # one event loop: no other worker runs between the test and the increment
            started = time.perf_counter()
            try:
                reply = await (client.get(url) if body is None else client.post(url, content=body))
            except httpx.HTTPError as exc:
                raise LoadError(f"{method} {url} failed: {exc!r}") from exc
            latencies.append(time.perf_counter() - started)
            if reply.status_code != 200:
                raise LoadError(f"{method} {url} answered {reply.status_code}: {reply.text[:300]}")

    started = time.perf_counter()
    try:
        async with asyncio.timeout(load.max_seconds), asyncio.TaskGroup() as group:
            for client in clients[:count]:
                group.create_task(worker(client))
    except TimeoutError as exc:
        raise LoadError(f"{len(latencies)} of {count} requests done after the {load.max_seconds:g}s bound") from exc
    except ExceptionGroup as group_error:  # the first failing worker's error; the others were cancelled
        raise group_error.exceptions[0] from None
    return latencies, time.perf_counter() - started


async def hammer(
    url: str,
    load: Load,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    server_pids: Sequence[int] = (),
) -> Measured:
    """Warm up, then measure `load.requests` GETs of `url` (which must be on 127.0.0.1), or POSTs of `body`;
    with `server_pids`, also the CPU those processes use meanwhile."""
    if httpx.URL(url).host != "127.0.0.1":
        raise ValueError(f"benchmarks talk only to 127.0.0.1, not {url}")
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    headers=dict(headers or {}), limits=limits, timeout=REQUEST_TIMEOUT_SECONDS, trust_env=False
                )
            )
            for _ in range(load.concurrency)
        ]
        if load.warmup:
            warm_latencies, warm_elapsed = await _phase(clients, url, load, load.warmup, body)
            warm = summarize(warm_latencies, warm_elapsed)
            note(f"  warm-up: {warm.count} in {warm.seconds:.1f}s, p50 {warm.p50_ms:.1f} ms, max {warm.max_ms:.0f} ms")
        server_before = cpu_seconds(server_pids)
        cpu_before = time.process_time()
        latencies, elapsed = await _phase(clients, url, load, load.requests, body)
        cpu = time.process_time() - cpu_before
        server_after = cpu_seconds(server_pids)
    server_cpu = None if server_before is None or server_after is None else server_after - server_before
    return Measured(summarize(latencies, elapsed), 100 * cpu / elapsed, tuple(latencies), server_cpu)


def measure(
    url: str,
    load: Load,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    server_pids: Sequence[int] = (),
) -> Measured:
    """hammer() from synchronous code; SIGTERM meanwhile cancels it cleanly and exits (finally blocks run)."""
    return run_cancellable(hammer(url, load, headers, body, server_pids))


def run_cancellable(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, with SIGTERM cancelling the main task (as asyncio.run does for Ctrl-C) and then exiting 143.

    Raising from a plain signal handler instead would interrupt httpx/anyio at an arbitrary point.
    """
    previous = signal.getsignal(signal.SIGTERM)
    terminated = False

    async def main() -> T:
        task = asyncio.current_task()
        assert task is not None

        def on_sigterm() -> None:
            nonlocal terminated
            terminated = True
            task.cancel()

        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, on_sigterm)
        return await coroutine

    try:
        return asyncio.run(main())
    except asyncio.CancelledError:
        if terminated:
            raise SystemExit(128 + signal.SIGTERM) from None
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
