"""Wiring of the gateway process: `python -m services.gateway.main` (one process; metrics need no multiprocess mode)."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import time
from types import FrameType

import uvicorn
from fastapi import FastAPI

from services.common.config import Settings
from services.common.logs import configure
from services.common.runtime import UVICORN_OPTIONS, keep_files_private, tune_garbage_collector
from services.gateway.app import create_app

log = logging.getLogger(__name__)

# What uvicorn.run exits with when the app failed to start (its lifespan raised).
STARTUP_FAILURE = 3


class DrainingServer(uvicorn.Server):
    """uvicorn, with a drain before its graceful shutdown.

    On the first SIGTERM/SIGINT the gateway marks itself not ready (/readyz 503, `shutting_down`) yet keeps
    serving for `drain_seconds`, so that a load balancer polling /readyz stops sending it requests before its
    listener closes; then uvicorn's own graceful shutdown runs as before (in-flight requests finish, lifespan
    ends). A second signal during the drain skips the rest of it; a third SIGINT forces the exit, as the second
    does in plain uvicorn.
    """

    def __init__(self, config: uvicorn.Config, app: FastAPI, drain_seconds: float) -> None:
        super().__init__(config)
        self.app = app
        self.drain_seconds = drain_seconds
        self.drain_signal: int | None = None
        self.drain_until = 0.0
        self.drain_logged = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Runs as a signal handler (uvicorn installs it with signal.signal): it only records, main_loop acts.
        if self.started and self.drain_signal is None and not self.should_exit and self.drain_seconds > 0:
            self.drain_signal = sig
            self.drain_until = time.monotonic() + self.drain_seconds
            reason = f"{signal.Signals(sig).name} received; draining for {self.drain_seconds:g} s"
            self.app.state.shutdown_reason = reason
            self.app.state.shutting_down = True
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self.drain_signal is not None and not self.drain_logged:
            # Logged here rather than in the handler: logging from a signal handler can deadlock on its lock.
            self.drain_logged = True
            log.info(
                "not ready: draining before shutdown", extra={"fields": {"reason": self.app.state.shutdown_reason}}
            )
        if self.drain_signal is not None and not self.should_exit and time.monotonic() >= self.drain_until:
            # Recorded as uvicorn records the signal, so it re-raises it once shut down, as without a drain.
            super().handle_exit(self.drain_signal, None)
        return await super().on_tick(counter)


def main() -> None:
    keep_files_private()
    settings = Settings()
    configure("gateway", settings.log_level)
    app = create_app(settings)
    tune_garbage_collector()
    config = uvicorn.Config(app, host=settings.host, port=settings.gateway_port, **UVICORN_OPTIONS)
    server = DrainingServer(config, app, settings.shutdown_drain_seconds)
    # uvicorn re-raises the signal it stopped for once it has shut down; a SIGINT then surfaces here.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


if __name__ == "__main__":
    main()
