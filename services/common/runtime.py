"""The life of a domain-service process, written once: start, report readiness, shut down gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import uvloop
from sqlalchemy import Engine

from services.common.bus import Bus
from services.common.config import ServiceName, Settings, host_port
from services.common.grpc_server import build_server, set_serving
from services.common.inbox import EventConsumer
from services.common.logs import configure
from services.common.metrics import record_build_info, serve_metrics
from services.common.migrate import schema_problem
from services.common.outbox import OutboxRelay

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 5.0
# Files a process of the platform creates are its owner's only: the databases hold API key hashes, the audit log
# and the talent pseudonyms, the logs request details. Set by `gaoxin` and by every service's entry point.
PRIVATE_UMASK = 0o077
# A request allocates thousands of short-lived objects, almost all freed by reference counting, yet at the
# default threshold (700) they set off a young-generation collection every few hundred: measured, about a tenth
# of the gateway's CPU per talent check. Cyclic garbage is still collected, less often.
GC_THRESHOLDS = (20_000, 50, 100)

# How the gateway's uvicorn serves, and the benchmarks' bare baseline too (bench/echo.py), so they cannot drift.
UVICORN_OPTIONS: dict[str, Any] = {
    "log_config": None,
    "access_log": False,
    "timeout_graceful_shutdown": 5,
    # Named rather than left to detection: the C HTTP parser and event loop of uvicorn[standard] cost less CPU
    # per request than h11 on asyncio's loop.
    "loop": "uvloop",
    "http": "httptools",
}


@dataclass
class ServiceProcess:
    """What one domain service runs: its gRPC servicers, its outbox relay and its event consumers."""

    name: ServiceName
    settings: Settings
    engine: Engine
    bus: Bus
    register: Sequence[Callable[[grpc.aio.Server], None]]
    grpc_service_names: Sequence[str]
    relay: OutboxRelay | None = None
    consumers: Sequence[EventConsumer] = field(default_factory=list)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        configure(self.name, self.settings.log_level)
        record_build_info(self.name)
        serve_metrics(self.settings.metrics_port(self.name), self.settings.host)
        address = host_port(self.settings.host, self.settings.grpc_port(self.name))
        server, health, _ = await build_server(self.register, self.grpc_service_names, address)
        await server.start()
        stop = stop or _stop_on_signals()
        tasks = [asyncio.create_task(self.bus.connect(), name="nats-connect")]
        if self.relay is not None:
            tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        tasks += [asyncio.create_task(c.run(), name=f"consumer-{c.sub.durable}") for c in self.consumers]
        tasks.append(asyncio.create_task(self._report_readiness(health), name="readiness"))
        log.info("started", extra={"fields": {"grpc": address}})
        await stop.wait()
        log.info("stopping")
        await set_serving(health, self.grpc_service_names, serving=False)
        await server.stop(SHUTDOWN_GRACE_SECONDS)
        for component in (self.relay, *self.consumers):
            if component is not None:
                component.stop()
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_SECONDS)
        await self.bus.close()
        self.engine.dispose()
        log.info("stopped")

    async def _report_readiness(self, health: object) -> None:
        """Health turns SERVING only while the database answers, migrated to this code's schema, and NATS does
        (a pod started beside its migration Job is not ready until the Job has run)."""
        serving: bool | None = None
        reason: str | None = None
        while True:
            database = await asyncio.to_thread(schema_problem, self.engine, self.name)
            nats = None if self.bus.ready.is_set() and self.bus.connected else "NATS not connected"
            ok = database is None and nats is None
            if ok != serving or (database or nats) != reason:
                serving, reason = ok, database or nats
                await set_serving(health, self.grpc_service_names, serving=ok)  # type: ignore[arg-type]
                log.log(
                    logging.WARNING if database else logging.INFO,
                    "health",
                    extra={"fields": {"serving": ok, **({"reason": reason} if reason else {})}},
                )
            await asyncio.sleep(0.5)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


def run(process: ServiceProcess) -> None:
    """Run a service process to its end on uvloop, as the gateway's uvicorn does.

    uvloop's callbacks, futures and thread-safe wake-ups cost less than asyncio's, and a call to a service is
    mostly those: a talent check wakes its service's loop a dozen times (gRPC in and out, the register lookup, the
    writer thread, the relay).
    """
    tune_garbage_collector()
    uvloop.run(process.run())


def keep_files_private() -> None:
    """From now on this process creates files and directories for its owner only (PRIVATE_UMASK).

    The first thing each service's entry point does (building a service creates its SQLite directory). Set by the
    process itself, not only inherited from `gaoxin up`, since a pod or a unit file starts the services
    with whatever umask its runtime has (usually 022: world-readable databases).
    """
    os.umask(PRIVATE_UMASK)


def tune_garbage_collector() -> None:
    """Once everything is imported and built, just before serving: what exists now (modules, the app, its
    tables) lives as long as the process, so it leaves the collector's generations, and collections come less often."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
