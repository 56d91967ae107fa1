"""Request dependencies: the caller's API key and its scopes."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy import Engine
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute, compile_path

from services.common.config import Settings
from services.common.db import reading
from services.gateway import store
from services.gateway.backends import Backends
from services.gateway.domain.keys import Scope, key_hash
from services.gateway.domain.ratelimit import Decision, FixedWindowLimiter
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

    def forget_all(self) -> None:
        self._entries.clear()


# async, though they await nothing: FastAPI runs a plain `def` dependency in a worker thread, a thread hop on
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


KEY_PARAMETERS = ("api_key", "apikey", "key", "access_token")


async def identify(connection: HTTPConnection) -> store.ApiKey:
    """The valid key the request presents in its Authorization header; 400 for a key in the URL, 401 for none or an
    unknown or revoked one. Reads the headers and the URL only, so it can run before anything reads the body."""
    if any(name in connection.query_params for name in KEY_PARAMETERS):
        raise Problem(400, "API keys are accepted only in the Authorization header, never in the URL", "key_in_query")
    scheme, credentials = get_authorization_scheme_param(connection.headers.get("authorization"))
    if not credentials or scheme.lower() != "bearer":
        raise Problem(
            401,
            "send an API key as `Authorization: Bearer <key>`",
            "unauthenticated",
            headers={"WWW-Authenticate": "Bearer"},
        )
    cache: KeyCache = connection.app.state.keys
    key = await cache.lookup(credentials)
    if key is None:
        raise Problem(401, "unknown or revoked API key", "unauthenticated", headers={"WWW-Authenticate": "Bearer"})
    return key


@dataclass(frozen=True)
class Required:
    """What a route asks of the caller's key: its template and scopes, all of them or (`any_of`) one."""

    template: str
    scopes: tuple[str, ...]
    any_of: bool


@dataclass(frozen=True)
class RouteScopes:
    """The scopes of every secured route, found from its `authenticate` / `authenticate_any` dependency, so that
    RequestContextMiddleware can refuse a key without them (403) or past its quota (429) before the app reads a byte
    of the body: FastAPI reads and validates the body before it runs any dependency.

    Routes are tried in the router's order, per method, first match wins, as Starlette routes them.
    """

    by_method: Mapping[str, tuple[tuple[re.Pattern[str], Required], ...]]

    @classmethod
    def of(cls, routes: Sequence[BaseRoute]) -> RouteScopes:
        found: dict[str, list[tuple[re.Pattern[str], Required]]] = {}
        for context in iter_route_contexts(routes):
            route = context.original_route
            if not isinstance(route, APIRoute) or context.path is None or context.path_format is None:
                continue
            security = _security(route.dependant)
            if security is None:
                continue
            required = Required(
                context.path_format,
                tuple([*(security.parent_oauth_scopes or ()), *(security.own_oauth_scopes or ())]),
                security.call is authenticate_any,
            )
            regex = compile_path(context.path)[0]  # the route's own, converters included
            for method in context.methods or ():
                found.setdefault(method, []).append((regex, required))
        return cls({method: tuple(entries) for method, entries in found.items()})

    def match(self, method: str, path: str) -> Required | None:
        for regex, required in self.by_method.get(method, ()):
            if regex.match(path):
                return required
        return None


def _security(dependant: Dependant) -> Dependant | None:
    for dependency in dependant.dependencies:
        if dependency.call is authenticate or dependency.call is authenticate_any:
            return dependency
        if (found := _security(dependency)) is not None:
            return found
    return None


def admit(key: store.ApiKey, required: Required | None, limiter: FixedWindowLimiter, settings: Settings) -> Decision:
    """Count the request against the key's quota, then refuse it for a missing scope (403) or past the quota (429),
    in that order; the decision, whose headers every answer to the request carries."""
    decision = limiter.take(key.key_id, key.rate_limit_per_minute or settings.rate_limit_per_minute, time.monotonic())
    if required is not None:
        try:
            _check_scopes(key, required.scopes, required.any_of)
        except Problem as refused:
            refused.headers.update(decision.headers())  # counted like any other request
            raise
    if not decision.allowed:
        raise Problem(
            429,
            f"this API key's quota of {decision.quota} requests per {decision.window_seconds} s is used up; "
            f"retry in {decision.reset_seconds} s",
            "rate_limited",
            headers=decision.refusal_headers(),
        )
    return decision


def _check_scopes(key: store.ApiKey, scopes: Sequence[str], any_of: bool) -> None:
    missing = [scope for scope in scopes if scope not in key.scopes]
    if any_of and len(missing) == len(scopes):
        raise Problem(403, f"this API key has none of the scopes `{'`, `'.join(missing)}`", "forbidden")
    if missing and not any_of:
        raise Problem(403, f"this API key lacks the `{'`, `'.join(missing)}` scope", "forbidden")


async def authenticate(
    request: Request,
    security_scopes: SecurityScopes,
    # Not read: declared so that the OpenAPI document names the bearer scheme of every operation.
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller's key, holding every scope the route declares (declared with `Security`, so that the
    OpenAPI document lists the scopes of each operation)."""
    return await _admit(request, security_scopes.scopes, any_of=False)


async def authenticate_any(
    request: Request,
    security_scopes: SecurityScopes,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller's key, holding at least one of the scopes the route declares (services.gateway.openapi lists
    them as alternative security requirements)."""
    return await _admit(request, security_scopes.scopes, any_of=True)


async def _admit(request: Request, scopes: list[str], any_of: bool) -> Principal:
    # RequestContextMiddleware identified the caller of every /v1 route, checked its scopes and counted the request
    # before the body was read; checking the scopes again costs nothing and guards a route the table would miss.
    key: store.ApiKey | None = getattr(request.state, "api_key", None)
    if key is not None and getattr(request.state, "admitted", False):
        _check_scopes(key, scopes, any_of)
        return Principal(key.key_id, key.scopes)
    if key is None:  # a route outside /v1
        key = await identify(request)
    request.state.key_id = key.key_id
    decision = admit(key, Required("", tuple(scopes), any_of), request.app.state.limiter, request.app.state.settings)
    request.state.rate_limit_headers = decision.headers()
    return Principal(key.key_id, key.scopes)


Backend = Annotated[Backends, Depends(backends)]
Writer = Annotated[Principal, Security(authenticate, scopes=[Scope.DATA_WRITE.value])]
Reader = Annotated[Principal, Security(authenticate, scopes=[Scope.READ.value])]
Checker = Annotated[Principal, Security(authenticate, scopes=[Scope.TALENT_CHECK.value])]
Admin = Annotated[Principal, Security(authenticate, scopes=[Scope.ADMIN.value])]
# Talent rules are public policy; a decision holds no personal value in clear, and API.md's `read` is
# "everything readable": either scope reads them.
TalentReader = Annotated[Principal, Security(authenticate_any, scopes=[Scope.READ.value, Scope.TALENT_CHECK.value])]
