"""Idempotency-Key on writes (Stripe semantics): the same key and body replay the first response.

A different body under a used key is a 422, a duplicate arriving while the first is still running a 409; a
request refused as invalid stores nothing, so it can be corrected and retried under the same key. Keys are
scoped per API key and kept 24 hours.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable

import anyio.to_thread
from fastapi import Request, Response
from sqlalchemy import Engine

from services.common.db import transaction
from services.gateway import store
from services.gateway.problems import Problem, problem_response

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Outcomes worth replaying: successes and answers about the resource's state, not about the request itself.
REPLAYABLE_PROBLEMS = {404, 409}


async def idempotent(request: Request, key_id: str, produce: Callable[[], Awaitable[Response]]) -> Response:
    key = request.headers.get(HEADER)
    if key is None:
        return await produce()
    if not 1 <= len(key) <= 255:
        raise Problem(400, f"{HEADER} must be 1 to 255 characters", "bad_idempotency_key")
    body = await request.body()
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
            headers={REPLAYED_HEADER: "true"},
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
