"""The public REST gateway: FastAPI app factory."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Route

from services.common.bus import Bus
from services.common.config import Settings
from services.common.db import make_engine, transaction
from services.common.errors import DomainError
from services.common.inbox import EventConsumer
from services.common.metrics import record_build_info
from services.gateway import openapi, store, webhook_docs
from services.gateway.audit import AuditTrail
from services.gateway.backends import HTTP_STATUS, Backends
from services.gateway.deps import KeyCache
from services.gateway.domain.keys import ALL_SCOPES, key_hash, new_key
from services.gateway.domain.ratelimit import FixedWindowLimiter
from services.gateway.events import ActiveEventTypes
from services.gateway.events import subscriptions as webhook_subscriptions
from services.gateway.middleware import RequestContextMiddleware
from services.gateway.problems import Problem, ProblemResponse, problem_response
from services.gateway.routes import (
    audit,
    awards,
    enterprises,
    evaluations,
    indicators,
    keys,
    ops,
    policy,
    reward_rules,
    talent,
    talent_projects,
    webhooks,
    zones,
)
from services.gateway.webhooks import WebhookDispatcher
from services.gateway.wire import is_json

log = logging.getLogger(__name__)

# A batch of 10,000 bad rows answers with the first 1,000 problems, not a 10,000-entry document.
MAX_LISTED_ERRORS = 1000

DESCRIPTION = """
The open API of Lianyungang's 连政发〔2021〕25号 (high-tech-zone policy) as code.
Every decision cites the clause it rests on. Errors are `application/problem+json` (RFC 9457).
Authenticate with `Authorization: Bearer <api-key>`; scopes: `data:write`, `read`, `talent:check`, `admin`.
"""


@dataclass(frozen=True)
class AdminKeyState:
    """What ensure_admin_key found: a key it generated (to show once), or a bootstrap key that was revoked."""

    generated: str | None = None
    revoked: store.KeyListing | None = None


def ensure_admin_key(settings: Settings, engine: Any) -> AdminKeyState:
    """Make the bootstrap key exist; with none configured and no key at all, create one and return it.

    A bootstrap key revoked since it was added stays revoked: it may have been revoked because it leaked, and a
    restart with the same setting must not bring it back. It is reported instead, so that nobody is told it works.
    """
    scopes = [s.value for s in ALL_SCOPES]
    with transaction(engine) as conn:
        if settings.bootstrap_admin_key is not None:
            hashed = key_hash(settings.bootstrap_admin_key.get_secret_value())
            if store.add_key(conn, f"boot-{hashed[:8]}", hashed, "bootstrap admin", scopes):
                return AdminKeyState()
            existing = store.listing_by_hash(conn, hashed)
            return AdminKeyState(revoked=existing if existing and existing.revoked_at else None)
        if store.count_keys(conn) > 0:
            return AdminKeyState()
        key_id, key = new_key()
        store.add_key(conn, key_id, key_hash(key), "generated admin", scopes)
        return AdminKeyState(generated=key)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        record_build_info("gateway")
        app.state.engine = make_engine(settings.database_url("gateway"))
        admin = await anyio.to_thread.run_sync(ensure_admin_key, settings, app.state.engine)
        if admin.generated:
            # Shown once, as API.md promises for a start without GAOXIN_BOOTSTRAP_ADMIN_KEY.
            print(f"gateway: generated admin API key (shown once): {admin.generated}", flush=True)
        if admin.revoked is not None:
            log.warning(
                "the bootstrap admin key was revoked and stays revoked: it does not work; create another admin key",
                extra={"fields": {"key_id": admin.revoked.key_id, "revoked_at": str(admin.revoked.revoked_at)}},
            )
        app.state.keys = KeyCache(app.state.engine)
        app.state.settings = settings
        app.state.audit = AuditTrail(app.state.engine)
        app.state.limiter = FixedWindowLimiter()
        app.state.backends = Backends(settings)
        app.state.bus = Bus(settings.resolved_nats_url, "gateway", settings.nats_stream_replicas)
        app.state.shutting_down = False
        dispatcher = WebhookDispatcher(app.state.engine, settings)
        app.state.webhook_dispatcher = dispatcher  # woken by a delivery sent again (`:retry`)
        app.state.webhook_types = ActiveEventTypes(app.state.engine)
        consumers = [
            EventConsumer(app.state.engine, store.inbox, app.state.bus, subscription, after_commit=dispatcher.notify)
            for subscription in webhook_subscriptions(app.state.webhook_types)
        ]
        tasks = [
            asyncio.create_task(app.state.bus.connect()),
            asyncio.create_task(dispatcher.run()),
            asyncio.create_task(app.state.webhook_types.run()),
            *(asyncio.create_task(c.run()) for c in consumers),
        ]
        try:
            yield
        finally:
            app.state.shutting_down = True
            dispatcher.stop()
            app.state.webhook_types.stop()
            for consumer in consumers:
                consumer.stop()
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=5)
            await app.state.bus.close()
            await app.state.backends.close()
            app.state.audit.writer.close()
            app.state.engine.dispose()

    app = FastAPI(
        title="Gaoxin Open Platform",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=_Utf8JSONResponse,
    )
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_exception_handler(Problem, _on_problem)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)  # type: ignore[arg-type]
    app.add_exception_handler(DomainError, _on_domain_error)  # type: ignore[arg-type]
    routers = [
        module.router
        for module in (
            zones,
            enterprises,
            indicators,
            evaluations,
            awards,
            reward_rules,
            talent_projects,
            talent,
            policy,
            keys,
            webhooks,
            audit,
            ops,
        )
    ]
    for router in routers:
        app.include_router(router)
    webhook_docs.install(app)
    openapi.install(app)
    # Read from the routers themselves: FastAPI (0.165) keeps included routers wrapped in `app.routes`, so the
    # app's own list holds only its direct routes (the docs), not the API's.
    app.state.allowed_methods = AllowedMethods.of([*app.routes, *(r for router in routers for r in router.routes)])
    return app


@dataclass(frozen=True)
class AllowedMethods:
    """Every method each path is served with: the `Allow` header of a 405 (RFC 9110 section 15.5.6).

    A path may match several routes (`PUT` and `GET /v1/zones/{zone_code}` are two); the header lists the union,
    with HEAD wherever GET is served (RequestContextMiddleware answers HEAD as a GET without its content).
    """

    paths: tuple[tuple[re.Pattern[str], str, frozenset[str]], ...]  # path regex, its template, its methods

    @classmethod
    def of(cls, routes: Iterable[BaseRoute]) -> AllowedMethods:
        merged: dict[str, tuple[re.Pattern[str], str, set[str]]] = {}
        for route in routes:
            if isinstance(route, Route) and route.methods:
                methods = merged.setdefault(route.path_regex.pattern, (route.path_regex, route.path_format, set()))[2]
                methods.update(route.methods)
                if "GET" in route.methods:
                    methods.add("HEAD")
        return cls(tuple((regex, template, frozenset(methods)) for regex, template, methods in merged.values()))

    def for_path(self, path: str) -> list[str]:
        return sorted({m for regex, _, methods in self.paths if regex.match(path) for m in methods})

    def template(self, method: str, path: str) -> str | None:
        """The template of the route that would serve this request (audit and metrics name requests refused
        before routing by it), or None when there is none."""
        return next((t for regex, t, methods in self.paths if method in methods and regex.match(path)), None)


class _Utf8JSONResponse(ProblemResponse):
    media_type = "application/json"


async def _on_problem(_request: Request, exc: Problem) -> ProblemResponse:
    return problem_response(exc)


async def _on_validation_error(request: Request, exc: RequestValidationError) -> ProblemResponse:
    errors = exc.errors()
    content_type = request.headers.get("content-type", "")
    if not is_json(content_type) and any(tuple(e["loc"]) == ("body",) for e in errors):
        # FastAPI parses only JSON media types as JSON: any other body reaches validation as bytes, which would
        # read "Input should be a valid dictionary" about what may well be a valid JSON object.
        sent = f"Content-Type {content_type}" if content_type else "no Content-Type"
        return problem_response(
            Problem(415, f"send the body as application/json (the request has {sent})", "unsupported_media_type")
        )
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem_response(Problem(400, "the request body is not valid JSON", "malformed_body"))
    listed = errors[:MAX_LISTED_ERRORS]
    more = f"; the first {len(listed)} are listed" if len(errors) > len(listed) else ""
    return problem_response(
        Problem(
            422,
            f"{len(errors)} invalid field(s){more}",
            "validation_failed",
            [{"location": list(e["loc"]), "message": e["msg"]} for e in listed],
        )
    )


async def _on_http_exception(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette names only the first route matching the path; list every method the path supports.
        headers["Allow"] = ", ".join(request.app.state.allowed_methods.for_path(request.url.path))
    return problem_response(Problem(exc.status_code, str(exc.detail), code, headers=headers))


async def _on_domain_error(_request: Request, exc: DomainError) -> ProblemResponse:
    """Domain errors raised in the gateway itself (shared helpers such as page tokens)."""
    status = HTTP_STATUS.get(exc.status, 500)
    errors = [{"location": ["query", *v.location], "message": v.message} for v in exc.violations]
    return problem_response(Problem(status, exc.message, exc.code, errors))
