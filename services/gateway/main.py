"""Wiring of the gateway process: `python -m services.gateway.main` (one process; metrics need no multiprocess mode)."""

from __future__ import annotations

import uvicorn

from services.common.config import Settings
from services.common.logs import configure
from services.common.runtime import UVICORN_OPTIONS, tune_garbage_collector
from services.gateway.app import create_app


def main() -> None:
    settings = Settings()
    configure("gateway", settings.log_level)
    app = create_app(settings)
    tune_garbage_collector()
    uvicorn.run(app, host=settings.host, port=settings.gateway_port, **UVICORN_OPTIONS)


if __name__ == "__main__":
    main()
