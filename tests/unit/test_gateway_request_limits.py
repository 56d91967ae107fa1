"""RequestContextMiddleware's body limit counted on the bytes the app receives, driven at the ASGI level.

A real server stops a body at its declared Content-Length, so a body longer than it announces cannot be sent
through one; the middleware is given one here directly, in front of a FastAPI app that parses a JSON body (and
turns a failed read into its generic 400, which the middleware must not let through).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from services.gateway.middleware import RequestContextMiddleware

LIMIT = 2000


class Named(BaseModel):
    name: str


def limited_app() -> FastAPI:
    app = FastAPI()

    @app.post("/named")
    async def named(body: Named) -> dict[str, str]:
        return {"name": body.name}

    app.add_middleware(RequestContextMiddleware, max_body_bytes=LIMIT)
    return app


def call(app: FastAPI, declared: int | None, parts: list[bytes]) -> tuple[int, dict[str, str], dict[str, Any]]:
    """POST the parts as successive body messages under a declared Content-Length (None: chunked)."""
    headers = [(b"content-type", b"application/json")]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/named",
        "raw_path": b"/named",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    messages = [{"type": "http.request", "body": p, "more_body": i < len(parts) - 1} for i, p in enumerate(parts)]
    read: list[int] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        read.append(1)
        return messages[len(read) - 1] if len(read) <= len(messages) else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    heads = {k.decode(): v.decode() for k, v in start["headers"]}
    assert len(read) <= len(messages), "read on past the end of the body"
    return start["status"], heads, json.loads(body)


def test_body_longer_than_its_content_length_is_413_once_past_the_limit() -> None:
    parts = [b'{"name": "' + b"x" * 1500, b"x" * 1500, b"x" * 1500 + b'"}']

    status, headers, problem = call(limited_app(), 10, parts)

    assert status == 413 and headers["content-type"] == "application/problem+json"
    assert problem["code"] == "body_too_large"


def test_chunked_body_past_the_limit_is_413_and_the_rest_is_never_read() -> None:
    parts = [b"x" * 1500, b"x" * 1500, b"never read"]
    status, _, problem = call(limited_app(), None, parts)

    assert status == 413 and problem["code"] == "body_too_large"


def test_body_within_the_limit_is_served_as_before() -> None:
    body = json.dumps({"name": "高新区"}).encode()

    assert call(limited_app(), len(body), [body[:5], body[5:]])[0::2] == (200, {"name": "高新区"})
    assert call(limited_app(), None, [body + b" " * (LIMIT - len(body))])[0] == 200
