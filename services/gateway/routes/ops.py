"""Liveness, readiness and metrics."""

from __future__ import annotations

from typing import Literal

import anyio.to_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from services.common.db import ping
from services.gateway.json_route import StrictJsonRoute
from services.gateway.problems import Problem

router = APIRouter(tags=["operations"], route_class=StrictJsonRoute)


class Liveness(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    checks: dict[str, bool] = Field(
        description="each dependency and whether it answers: database, nats, indicators, rewards, talent"
    )


@router.get("/livez", summary="The process is up", response_model=Liveness)
@router.get("/healthz", summary="Alias of /livez", include_in_schema=True, response_model=Liveness)
async def livez() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Database, NATS and every backend service reachable",
    response_model=Readiness,
    responses={503: {"description": "not ready"}},
)
async def readyz(request: Request) -> Response:
    state = request.app.state
    if state.shutting_down:
        # Draining (services/gateway/main.py): still serving, but a load balancer should send nothing new.
        reason = getattr(state, "shutdown_reason", "")
        raise Problem(
            503,
            f"shutting down: {reason}" if reason else "shutting down",
            "shutting_down",
            headers={"Retry-After": "5"},
        )
    checks = {
        "database": await anyio.to_thread.run_sync(ping, state.engine),
        "nats": state.bus.connected,
        **await state.backends.ready(),
    }
    if not all(checks.values()):
        failing = ", ".join(name for name, ok in checks.items() if not ok)
        raise Problem(503, f"not ready: {failing}", "not_ready", headers={"Retry-After": "1"})
    return JSONResponse({"status": "ready", "checks": checks})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
