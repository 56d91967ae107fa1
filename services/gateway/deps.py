"""Request dependencies: the caller's API key and its scopes."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from services.common.db import reading
from services.gateway import store
from services.gateway.backends import Backends
from services.gateway.domain.keys import Scope, key_hash
from services.gateway.problems import Problem

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer gx_…`")

# Revoking a key takes effect within this many seconds on every gateway replica.
KEY_CACHE_SECONDS = 10.0


class KeyCache:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._entries: dict[str, tuple[float, store.ApiKey | None]] = {}

    async def lookup(self, key: str) -> store.ApiKey | None:
        hashed = key_hash(key)
        now = time.monotonic()
        cached = self._entries.get(hashed)
        if cached and now - cached[0] < KEY_CACHE_SECONDS:
            return cached[1]

        def work() -> store.ApiKey | None:
            with reading(self.engine) as conn:
                return store.find_key(conn, hashed)

        found = await anyio.to_thread.run_sync(work)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[hashed] = (now, found)
        return found


# async, though it awaits nothing: FastAPI runs a plain `def` dependency in a worker thread, a thread hop on
# every request for a dictionary lookup.
async def backends(request: Request) -> Backends:
    b: Backends = request.app.state.backends
    return b


async def engine(request: Request) -> Engine:
    e: Engine = request.app.state.engine
    return e


@dataclass(frozen=True)
class Principal:
    key_id: str
    scopes: frozenset[str]


def require(*scopes: Scope) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting keys that hold any one of `scopes`."""

    async def dependency(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> Principal:
        if "api_key" in request.query_params or "key" in request.query_params:
            raise Problem(400, "API keys are accepted only in the Authorization header", "key_in_query")
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Problem(
                401,
                "send an API key as `Authorization: Bearer <key>`",
                "unauthenticated",
                headers={"WWW-Authenticate": "Bearer"},
            )
        cache: KeyCache = request.app.state.keys
        key = await cache.lookup(credentials.credentials)
        if key is None:
            raise Problem(401, "unknown or revoked API key", "unauthenticated", headers={"WWW-Authenticate": "Bearer"})
        if not any(scope.value in key.scopes for scope in scopes):
            wanted = " or ".join(f"`{scope.value}`" for scope in scopes)
            raise Problem(403, f"this API key lacks the {wanted} scope", "forbidden")
        request.state.key_id = key.key_id
        return Principal(key.key_id, key.scopes)

    dependency.__name__ = "require_" + "_or_".join(scope.name.lower() for scope in scopes)
    return dependency


Backend = Annotated[Backends, Depends(backends)]
Writer = Annotated[Principal, Depends(require(Scope.DATA_WRITE))]
Reader = Annotated[Principal, Depends(require(Scope.READ))]
# Talent decisions concern people (pseudonymised data is still personal information, PIPL art. 73): only keys
# entitled to make checks may read them, not every `read` key handed to a portal for zone data.
Checker = Annotated[Principal, Depends(require(Scope.TALENT_CHECK))]
# The talent rules themselves are public policy: either scope.
RuleReader = Annotated[Principal, Depends(require(Scope.READ, Scope.TALENT_CHECK))]
