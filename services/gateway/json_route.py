"""The route class of every router: request bodies are read with `strict_json.loads` (no duplicate member)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from services.common import strict_json


class StrictJsonRequest(Request):
    """The request the endpoint sees, reading its JSON strictly. The body is read through (and cached on) the
    request Starlette made, which is the one exception handlers get: they may read it again."""

    def __init__(self, original: Request) -> None:
        super().__init__(original.scope, original.receive, original._send)
        self._original = original

    async def body(self) -> bytes:
        return await self._original.body()

    async def json(self) -> Any:
        # FastAPI reads a JSON body through Request.json(); a DuplicateMember it raises becomes FastAPI's 400 "error
        # parsing the body", whose cause the gateway's handler names (app.unreadable_body).
        if not hasattr(self, "_json"):
            self._json = strict_json.loads(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request))

        return strict
