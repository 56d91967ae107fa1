"""Outermost ASGI layer: request id, access log, HTTP metrics, the caller's key and the body limit (both enforced
before the app reads a byte of the body), and the last-resort 500."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.logs import new_request_id, request_id_var
from services.gateway.audit import AUDITED_METHODS, AuditTrail
from services.gateway.deps import admit, identify
from services.gateway.problems import Problem, language_var, preferred_language, problem_response

log = logging.getLogger("gaoxin.gateway.access")

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests served by the gateway.", ["method", "route", "status"])
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to serve an HTTP request at the gateway.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _audit_trail(scope: Scope) -> AuditTrail | None:
    trail: AuditTrail | None = getattr(scope["app"].state, "audit", None)
    return trail


def _needs_key(path: str) -> bool:
    """Every route of the API proper needs a key; the operational routes and the docs do not."""
    return path == "/v1" or path.startswith("/v1/")


class _BodyTooLarge(Exception):
    """Raised to the app when it reads past the limit; its own answer to that is replaced by the 413."""


class _BodyLimit:
    """Counts the body bytes the app actually receives, whatever Content-Length or Transfer-Encoding announced.

    Past the limit, the next read raises instead of returning more, so no more than the limit (plus one message
    of the server's) is ever held. FastAPI turns any error while it reads a body into a generic 400, so the
    response the app then sends is dropped, and RequestContextMiddleware answers 413 in its place.
    """

    def __init__(self, receive: Receive, limit: int) -> None:
        self._receive = receive
        self.limit = limit
        self.received = 0
        self.exceeded = False
        self._passing = False  # a response the app started before the limit was passed goes out unchanged

    def problem(self) -> Problem:
        return Problem(413, f"request bodies are limited to {self.limit} bytes", "body_too_large")

    async def receive(self) -> Message:
        if self.exceeded:
            raise _BodyTooLarge
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.exceeded = True
                raise _BodyTooLarge
        return message

    def guard(self, send: Send) -> Send:
        async def guarded(message: Message) -> None:
            if message["type"] == "http.response.start" and not self.exceeded:
                self._passing = True
            if self._passing or not self.exceeded:
                await send(message)

        return guarded


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "HEAD":
            # RFC 9110 section 9.3.2: HEAD is GET without the content. The routes are declared for GET, so the app
            # serves a GET; the body is dropped on the way out (uvicorn drops it too), its length kept.
            scope = {**scope, "method": "GET"}
        headers = dict(scope["headers"])
        offered = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = offered if _SAFE_REQUEST_ID.fullmatch(offered) else new_request_id()
        token = request_id_var.set(request_id)
        language = language_var.set(preferred_language(headers.get(b"accept-language", b"").decode("latin-1")))
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "started": False, "template": None}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
                extra = [(b"x-request-id", request_id.encode())]
                limits = scope.get("state", {}).get("rate_limit_headers", {})
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra += [
                    (k.lower().encode(), v.encode()) for k, v in limits.items() if k.lower().encode() not in present
                ]
                message["headers"] = [*message.get("headers", []), *extra]
                if scope["method"] in AUDITED_METHODS and (audit := _audit_trail(scope)) is not None:
                    # Before the client hears back, so a write it saw answered is always in the log already.
                    key_id = scope.get("state", {}).get("key_id", "anonymous")
                    action = f"{scope['method']} {_template(scope, state)}"
                    await audit.record(key_id, action, scope["path"], message["status"], request_id)
            if method == "HEAD" and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        body = _BodyLimit(receive, self.max_body_bytes)
        try:
            if _needs_key(scope["path"]):
                await self._admit(scope, state)
            length = headers.get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
                raise body.problem()
            await self.app(scope, body.receive, body.guard(send_with_id))
            if body.exceeded and not state["started"]:
                raise body.problem()
        except Problem as problem:
            await problem_response(problem)(scope, receive, send_with_id)
        except Exception:
            if body.exceeded and not state["started"]:
                await problem_response(body.problem())(scope, receive, send_with_id)
            else:
                log.exception("unhandled error")
                if not state["started"]:
                    await problem_response(Problem(500, "internal error", "internal"))(scope, receive, send_with_id)
        finally:
            template = _template(scope, state)
            elapsed = time.perf_counter() - started
            HTTP_REQUESTS.labels(method, template, str(state["status"])).inc()
            HTTP_DURATION.labels(method, template).observe(elapsed)
            log.info(
                "request",
                extra={
                    "fields": {
                        "method": method,
                        "route": template,
                        "status": state["status"],
                        "ms": round(elapsed * 1000, 2),
                    }
                },
            )
            request_id_var.reset(token)
            language_var.reset(language)

    @staticmethod
    async def _admit(scope: Scope, state: dict[str, Any]) -> None:
        """Refuse a caller without a valid key (401), without the route's scope (403) or past its quota (429) before
        the app reads a byte of the body: a malformed body is none of their business, and parsing it is work the
        quota is there to bound. Every keyed request is counted once, here, and each answer to it carries the quota
        headers; `authenticate` then finds the key admitted."""
        app_state = scope["app"].state
        required = app_state.route_scopes.match(scope["method"], scope["path"])
        # Not routed yet: name the route the request is meant for, for the audit log and the metrics.
        state["template"] = required.template if required else None
        key = await identify(HTTPConnection(scope))
        request_state = scope.setdefault("state", {})
        request_state["api_key"], request_state["key_id"] = key, key.key_id
        decision = admit(key, required, app_state.limiter, app_state.settings)
        request_state["rate_limit_headers"], request_state["admitted"] = decision.headers(), True


def _template(scope: Scope, state: dict[str, Any]) -> str:
    route = scope.get("route")
    # path_format: the template as the API documents it (`{webhook_id}`, not `{webhook_id:webhook_id}`).
    template: str = getattr(route, "path_format", None) or getattr(route, "path", None) or state["template"]
    template = template or "unmatched"
    return template
