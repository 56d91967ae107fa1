"""Idempotency-Key on writes (Stripe semantics): the same key and body replay the first response.

A different body under a used key is a 422, a duplicate arriving while the first is still running a 409; a
request refused as invalid stores nothing, so it can be corrected and retried under the same key. Keys are
scoped per API key and kept 24 hours.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated

import anyio.to_thread
from fastapi import Header, Request, Response
from sqlalchemy import Engine

from services.common.db import transaction
from services.gateway import store
from services.gateway.problems import Problem, problem_response
from services.gateway.wire import is_json

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Outcomes worth replaying: successes and answers about the resource's state, not about the request itself.
REPLAYABLE_PROBLEMS = {404, 409}
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
            "`idempotency_key_in_use`. A request refused as invalid stores nothing and can be retried under the "
            "key. Outside 1 to 255 characters: 400 `bad_idempotency_key`."
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


async def idempotent(
    request: Request, key_id: str, key: str | None, produce: Callable[[], Awaitable[Response]]
) -> Response:
    """`produce()`'s answer, stored under `key` (the request's Idempotency-Key), or the answer stored before."""
    if key is None:
        return await produce()
    if not 1 <= len(key) <= 255:
        raise Problem(400, f"{HEADER} must be 1 to 255 characters", "bad_idempotency_key")
    body = canonical_body(await request.body(), request.headers.get("content-type", ""))
    # Bodies may carry personal data (talent checks: names, passport numbers, birth dates), and a plain hash of
    # one kept for a day could be reversed by hashing guesses. Keyed with the caller's own API key, which is
    # never stored, the fingerprint still tells "same request" from "different request" and nothing more.
    api_key = request.headers.get("authorization", "").partition(" ")[2].strip()
    digest = hmac.new(api_key.encode(), digestmod=hashlib.sha256)
    for part in (request.method.encode(), request.url.path.encode(), request.url.query.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    request_hash = digest.hexdigest()
    engine: Engine = request.app.state.engine

    def claim() -> store.IdempotencyRecord | None:
        with transaction(engine) as conn:
            return store.claim_idempotency_key(conn, key_id, key, request_hash)

    earlier = await anyio.to_thread.run_sync(claim)
    if earlier is not None:
        if earlier.request_hash != request_hash:
            raise Problem(422, f"this {HEADER} was used with a different request", "idempotency_key_mismatch")
        if earlier.status_code is None:
            raise Problem(409, f"a request with this {HEADER} is still in progress", "idempotency_key_in_use")
        return Response(
            earlier.response_body,
            status_code=earlier.status_code,
            media_type=earlier.content_type,
            headers={**earlier.response_headers, REPLAYED_HEADER: "true"},
        )

    def finish(response: Response | None) -> None:
        with transaction(engine) as conn:
            if response is None:
                store.release_idempotency_key(conn, key_id, key)
            else:
                store.complete_idempotency_key(
                    conn,
                    key_id,
                    key,
                    response.status_code,
                    bytes(response.body),
                    response.media_type or "application/json",
                    {name: response.headers[name] for name in REPLAYED_RESPONSE_HEADERS if name in response.headers},
                )

    try:
        response = await produce()
    except Problem as problem:
        await anyio.to_thread.run_sync(
            finish, problem_response(problem) if problem.status in REPLAYABLE_PROBLEMS else None
        )
        raise
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(finish, None)
        raise
    await anyio.to_thread.run_sync(finish, response)
    return response
