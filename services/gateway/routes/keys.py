"""API keys (scope `admin`): create, list, revoke. A key is shown once, at creation; only its hash is kept."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.common.db import reading, transaction
from services.gateway import keyset, store
from services.gateway.deps import Admin
from services.gateway.domain.keys import Scope
from services.gateway.idempotency import IdempotencyKey, idempotent
from services.gateway.json_route import StrictJsonRoute
from services.gateway.page_tokens import Paging
from services.gateway.problems import Problem
from services.gateway.schemas import PageSize, Strict
from services.gateway.wire import iso_datetime

router = APIRouter(prefix="/v1", tags=["keys"], route_class=StrictJsonRoute)


class KeyIn(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["海州区数据门户"])
    scopes: list[Scope] = Field(min_length=1, examples=[["data:write", "read"]])
    rate_limit_per_minute: int | None = Field(None, ge=1, le=1_000_000, description="default: the deployment's")


class KeyOut(BaseModel):
    key_id: str
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None
    rate_limit_per_minute: int | None


class KeyCreated(KeyOut):
    key: str = Field(description="the API key itself: shown this once, never again")


class KeyPage(BaseModel):
    items: list[KeyOut]
    next_page_token: str | None = None


def key_json(listing: store.KeyListing) -> dict[str, Any]:
    return {
        "key_id": listing.key_id,
        "name": listing.name,
        "scopes": listing.scopes,
        "created_at": iso_datetime(listing.created_at),
        "revoked_at": iso_datetime(listing.revoked_at) if listing.revoked_at else None,
        "rate_limit_per_minute": listing.rate_limit_per_minute,
    }


@router.post("/keys", response_model=KeyCreated, status_code=201, summary="Create an API key")
async def create_key(body: KeyIn, request: Request, caller: Admin, idempotency_key: IdempotencyKey = None) -> Response:
    async def produce() -> Response:
        def work() -> tuple[store.KeyListing, str]:
            with transaction(request.app.state.engine) as conn:
                scopes = sorted({s.value for s in body.scopes})
                return store.issue_key(conn, body.name, scopes, body.rate_limit_per_minute)

        listing, key = await anyio.to_thread.run_sync(work)
        return JSONResponse({**key_json(listing), "key": key}, status_code=201)

    return await idempotent(request, caller.key_id, idempotency_key, produce)


@router.get("/keys", response_model=KeyPage, summary="API keys (never the keys themselves)")
async def list_keys(request: Request, caller: Admin, paging: Paging, page_size: PageSize = 50) -> dict[str, Any]:
    after, limit = keyset.position(paging.after), keyset.limit_of(page_size)

    def work() -> list[store.KeyListing]:
        with reading(request.app.state.engine) as conn:
            return store.list_keys(conn, limit + 1, after)

    keys, token = keyset.page(await anyio.to_thread.run_sync(work), limit, lambda k: (k.created_at, k.key_id))
    return {"items": [key_json(k) for k in keys], "next_page_token": paging.next_token(token)}


@router.delete("/keys/{key_id}", response_model=KeyOut, summary="Revoke an API key (kept, marked revoked)")
async def revoke_key(key_id: Annotated[str, Path(max_length=64)], request: Request, caller: Admin) -> dict[str, Any]:
    if key_id == caller.key_id:
        # Revoking the key in use would lock the caller out mid-operation; use another admin key.
        raise Problem(409, "an API key cannot revoke itself; revoke it with another admin key", "conflict")

    def work() -> store.KeyListing | None:
        with transaction(request.app.state.engine) as conn:
            return store.revoke_key(conn, key_id)

    listing = await anyio.to_thread.run_sync(work)
    if listing is None:
        raise Problem(404, f"no API key {key_id}", "not_found")
    request.app.state.keys.forget_all()  # this replica stops accepting it at once; others within the cache TTL
    return key_json(listing)
