"""Idempotency-Key on writes (Stripe semantics): the same key and body replay the first response.

A different body under a used key is a 422, a duplicate arriving while the first is still running a 409 with
Retry-After. Only answers that did something are stored: a request refused (404, 409, 422, any problem) changed
nothing and stores nothing, so its cause can be fixed and the request retried under the same key. Keys are scoped
per API key and kept 24 hours.

A key is claimed before the request runs. A claim whose request never finishes (its gateway process died) lapses
after a lease longer than any request can run (`in_progress_lease`); the same request arriving again then takes it
over and runs, instead of being told for a day that the first is still in progress.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated

import anyio.to_thread
from fastapi import Header, Request, Response
from sqlalchemy import Engine

from services.common.config import Settings
from services.common.db import transaction
from services.gateway import store
from services.gateway.backends import INGEST_DEADLINE_SECONDS
from services.gateway.problems import Problem
from services.gateway.wire import is_json

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Beyond the longest deadline of a backend call (a write makes one), time for the gateway's own database writes
# and for waiting on its thread pool.
LEASE_MARGIN_SECONDS = 60.0
# Headers that belong to the answer (where its resource lives) and so are replayed with it; Content-Type is kept
# on its own. Not those of the exchange (request id, date, rate limits, length): a replay has its own.
REPLAYED_RESPONSE_HEADERS = ("content-location", "location")

# The request header, declared by every route that honours it (so the OpenAPI document lists it there) and
# handed to `idempotent`. Its length is checked there: outside 1-255 characters is a 400, not a schema 422.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        description=(
            "Stripe semantics, scoped per API key and kept 24 hours: the same key with the same request replays the "
            f"first answer (its status and body, with `{REPLAYED_HEADER}: true`); the same key with another "
            "request is 422 `idempotency_key_mismatch`; while the first is still running, 409 "
            "`idempotency_key_in_use` with `Retry-After` (a first request that never finished, its gateway gone, "
            "holds the key for 3 minutes by default). A request refused (any problem) stores nothing: fix the cause "
            "and retry under the same key. Outside 1 to 255 characters: 400 `bad_idempotency_key`."
        ),
    ),
]


def canonical_body(body: bytes, content_type: str) -> bytes:
    """What "the same body" compares: a JSON body's content, whatever its key order and whitespace (a client that
    re-serialises before retrying sends other bytes for the same request); any other body, its bytes."""
    if not is_json(content_type):
        return body
    try:
        # Objects as sorted pairs (the last of duplicate keys wins, as in parsing); numbers kept exact, as
        # written (0.10 is not 0.1 here, nor the string "0.1"): the repr of that is a canonical form.
        content = json.loads(
            body, parse_float=Decimal, object_pairs_hook=lambda pairs: tuple(sorted(dict(pairs).items()))
        )
    # ArithmeticError: a number with an exponent beyond what Decimal holds; RecursionError: nested too deeply to parse.
    except (ValueError, ArithmeticError, RecursionError):
        return body  # refused as malformed anyway, and then stores nothing
    return repr(content).encode()


def in_progress_lease(settings: Settings) -> timedelta:
    """How long a claim holds its key while its request runs: longer than any request can (one backend call, at
    most the ingest deadline or GAOXIN_GRPC_DEADLINE_SECONDS, plus a margin). 3 minutes by default."""
    return timedelta(seconds=max(INGEST_DEADLINE_SECONDS, settings.grpc_deadline_seconds) + LEASE_MARGIN_SECONDS)


def fingerprint(api_key: str, method: str, path: str, query: str, body: bytes, content_type: str) -> str:
    """What tells "the same request" from another under one key: method, path, query and the body's content.

    Bodies may carry personal data (talent checks: names, passport numbers, birth dates), and a plain hash of one
    kept for a day could be reversed by hashing guesses. Keyed with the caller's own API key, which is never
    stored, the fingerprint still tells "same request" from "different request" and nothing more.
    """
    digest = hmac.new(api_key.encode(), digestmod=hashlib.sha256)
    for part in (method.encode(), path.encode(), query.encode(), canonical_body(body, content_type)):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def in_progress(claimed_at: datetime | None, lease: timedelta, now: datetime | None = None) -> Problem:
    """409 while the first request runs. Retry-After: as long as the claim has run already (at least 1 s, never
    past its lease), so a client backs off the longer the first takes, and is let in once the lease lapses."""
    age = ((now or datetime.now(UTC)) - claimed_at).total_seconds() if claimed_at else 0.0
    wait = max(1, math.ceil(min(max(age, 1.0), lease.total_seconds() - age)))
    return Problem(
        409,
        f"a request with this {HEADER} is still in progress; retry in {wait} s",
        "idempotency_key_in_use",
        headers={"Retry-After": str(wait)},
    )


async def idempotent(
    request: Request, key_id: str, key: str | None, produce: Callable[[], Awaitable[Response]]
) -> Response:
    """`produce()`'s answer, stored under `key` (the request's Idempotency-Key), or the answer stored before."""
    if key is None:
        return await produce()
    if not 1 <= len(key) <= 255:
        raise Problem(400, f"{HEADER} must be 1 to 255 characters", "bad_idempotency_key")
    request_hash = fingerprint(
        request.headers.get("authorization", "").partition(" ")[2].strip(),
        request.method,
        request.url.path,
        request.url.query,
        await request.body(),
        request.headers.get("content-type", ""),
    )
    engine: Engine = request.app.state.engine
    lease = in_progress_lease(request.app.state.settings)
    claim_id = uuid.uuid4().hex

    def claim() -> store.IdempotencyRecord | None:
        with transaction(engine) as conn:
            return store.claim_idempotency_key(conn, key_id, key, request_hash, claim_id=claim_id, lease=lease)

    earlier = await anyio.to_thread.run_sync(claim)
    if earlier is not None:
        if earlier.request_hash != request_hash:
            raise Problem(422, f"this {HEADER} was used with a different request", "idempotency_key_mismatch")
        if earlier.status_code is None:
            raise in_progress(earlier.claimed_at, lease)
        return Response(
            earlier.response_body,
            status_code=earlier.status_code,
            media_type=earlier.content_type,
            headers={**earlier.response_headers, REPLAYED_HEADER: "true"},
        )

    def finish(response: Response | None) -> None:
        with transaction(engine) as conn:
            if response is None:
                store.release_idempotency_key(conn, key_id, key, claim_id)
            else:
                store.complete_idempotency_key(
                    conn,
                    key_id,
                    key,
                    claim_id,
                    response.status_code,
                    bytes(response.body),
                    response.media_type or "application/json",
                    {name: response.headers[name] for name in REPLAYED_RESPONSE_HEADERS if name in response.headers},
                )

    try:
        response = await produce()
    except BaseException:
        # A refusal (a Problem) changed nothing, and its cause can be fixed (a zone not registered yet, a
        # conflicting record): the key is released, so a retry under it runs, as README promises; only an answer
        # that did something is stored and replayed.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(finish, None)
        raise
    await anyio.to_thread.run_sync(finish, response)
    return response
