"""Wiring of the gateway process: `python -m services.gateway.main` (one process; metrics need no multiprocess mode)."""

from __future__ import annotations

import uvicorn

from services.common.config import Settings
from services.common.logs import configure
from services.common.runtime import tune_garbage_collector
from services.gateway.app import create_app


def main() -> None:
    settings = Settings()
    configure("gateway", settings.log_level)
    app = create_app(settings)
    tune_garbage_collector()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.gateway_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        # Named rather than left to detection: the C HTTP parser and event loop of uvicorn[standard] cost less
        # CPU per request than h11 on asyncio's loop; the benchmarks' bare baseline runs with the same two.
        loop="uvloop",
        http="httptools",
    )


if __name__ == "__main__":
    main()
