"""Webhook subscriptions for portals (scope `admin`): events pushed to a URL, signed per Standard Webhooks."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, WithJsonSchema
from sqlalchemy.engine import Connection
from starlette.convertors import Convertor, register_url_convertor

from services.common.config import Settings
from services.common.db import reading, transaction
from services.common.events_catalog import BY_NAME
from services.gateway import keyset, store
from services.gateway.deps import Admin
from services.gateway.domain.webhooks import (
    MIN_SECRET_BYTES,
    SECRET_PREFIX,
    new_secret,
    secret_problem,
    target_problem,
)
from services.gateway.idempotency import IdempotencyKey, idempotent
from services.gateway.json_route import StrictJsonRoute
from services.gateway.page_tokens import Paging
from services.gateway.problems import Problem
from services.gateway.schemas import PageSize, Strict
from services.gateway.webhooks import resolve
from services.gateway.wire import iso_datetime

router = APIRouter(prefix="/v1", tags=["webhooks"], route_class=StrictJsonRoute)

# The OpenAPI document lists the event types, but the body takes any string: the route checks them beside the
# URL and the secret, so that one answer names every bad field (a Literal here would refuse an unknown type
# before the other checks ran, and a caller would fix one field per round trip).
EventTypeName = Annotated[str, WithJsonSchema({"type": "string", "enum": ["*", *BY_NAME]})]
WEBHOOK_ID = r"wh_[0-9a-f]{24}"
WebhookId = Annotated[str, Path(pattern=rf"^{WEBHOOK_ID}$")]


class _WebhookIdConvertor(Convertor[str]):
    """`/webhooks/{webhook_id:webhook_id}` matches a segment without a colon, so that `GET /v1/webhooks/wh_…:enable`
    is not read as asking for a webhook named `wh_…:enable` (a 422) but as the custom method it names (405 for
    GET). Any other segment is routed, so a malformed id is a 403 without the scope and a 422 with it, as on the
    other `{webhook_id}` routes (WebhookId checks the pattern), not a scope-blind 404."""

    regex = "[^/:]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("webhook_id", _WebhookIdConvertor())
DeliveryId = Annotated[str, Path(pattern=r"^dlv_[0-9a-f]{32}$")]
DeliveryStatus = Literal["pending", "delivered", "failed", "abandoned"]


SECRET_SCHEMA: dict[str, Any] = {
    "type": "string",
    # The prefix and base64's alphabet; the exact padding rules are the server's (Python's decoder is lenient).
    "pattern": rf"^{SECRET_PREFIX}[A-Za-z0-9+/=]+$",
    "minLength": len(SECRET_PREFIX) + -(-MIN_SECRET_BYTES * 4 // 3),
}


class WebhookIn(Strict):
    url: str = Field(max_length=2000, examples=["https://portal.example.gov.cn/gaoxin/events"])
    events: list[EventTypeName] = Field(min_length=1, description='event types to receive, or "*" for all')
    secret: str | None = Field(
        None,
        description=f"Standard Webhooks secret `whsec_<base64>` of at least {MIN_SECRET_BYTES} random bytes; omitted: "
        "one is generated and returned once",
        # Declared, and checked with the other fields (secret_problem), so that one answer names every bad one.
        json_schema_extra={"anyOf": [SECRET_SCHEMA, {"type": "null"}]},
    )


class WebhookOut(BaseModel):
    webhook_id: str
    url: str
    events: list[str]
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None


class WebhookCreated(WebhookOut):
    secret: str = Field(description="the signing secret: shown this once")


class WebhookPage(BaseModel):
    items: list[WebhookOut]
    next_page_token: str | None = None


class Attempt(BaseModel):
    attempt: int = Field(description="1, 2, …, numbered across the delivery's life")
    at: datetime = Field(description="when the attempt started (it ended `duration_ms` later)")
    status_code: int | None = Field(description="the receiver's HTTP status; null if it gave none")
    error: str | None = Field(
        description="what went wrong (`HTTP 500`, a timeout, a refused connection, `interrupted: gateway stopping`…)"
    )
    duration_ms: int


class Delivery(BaseModel):
    delivery_id: str
    message_id: str
    event_type: str
    status: DeliveryStatus = Field(
        description="pending (to be sent, at `next_attempt_at`), delivered (the receiver answered 2xx), failed (every "
        "attempt failed), abandoned (its webhook was disabled: deleted, or the receiver answered 410)"
    )
    attempts: list[Attempt]
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[Delivery]
    next_page_token: str | None = None


def webhook_json(w: store.Webhook) -> dict[str, Any]:
    return {
        "webhook_id": w.webhook_id,
        "url": w.url,
        "events": w.events,
        "created_at": iso_datetime(w.created_at),
        "disabled_at": iso_datetime(w.disabled_at) if w.disabled_at else None,
        "disabled_reason": w.disabled_reason,
    }


@router.post("/webhooks", response_model=WebhookCreated, status_code=201, summary="Subscribe a URL to events")
async def create_webhook(
    body: WebhookIn, request: Request, caller: Admin, idempotency_key: IdempotencyKey = None
) -> Response:
    settings: Settings = request.app.state.settings
    errors = [
        {"location": ["body", "events", i], "message": f"unknown event type {name!r}; known: {', '.join(BY_NAME)} or *"}
        for i, name in enumerate(body.events)
        if name != "*" and name not in BY_NAME
    ]
    if body.secret is not None and (why := secret_problem(body.secret)):
        errors.append({"location": ["body", "secret"], "message": why})
    host = urlsplit(body.url).hostname or ""
    if why := target_problem(body.url, await resolve(host), settings.webhooks_allow_private_targets):
        errors.append({"location": ["body", "url"], "message": why})
    if errors:
        raise Problem(422, f"{len(errors)} invalid field(s)", "validation_failed", errors)

    async def produce() -> Response:
        secret = body.secret or new_secret()

        def work() -> store.Webhook:
            with transaction(request.app.state.engine) as conn:
                events: list[str] = sorted(set(body.events))
                return store.add_webhook(conn, "wh_" + secrets.token_hex(12), body.url, events, secret, caller.key_id)

        webhook = await anyio.to_thread.run_sync(work)
        await request.app.state.webhook_types.refresh()
        return JSONResponse({**webhook_json(webhook), "secret": secret}, status_code=201)

    return await idempotent(request, caller.key_id, idempotency_key, produce)


@router.get("/webhooks", response_model=WebhookPage, summary="Webhook subscriptions")
async def list_webhooks(request: Request, caller: Admin, paging: Paging, page_size: PageSize = 50) -> dict[str, Any]:
    after, limit = keyset.position(paging.after), keyset.limit_of(page_size)

    def work() -> list[store.Webhook]:
        with reading(request.app.state.engine) as conn:
            return store.list_webhooks(conn, limit + 1, after)

    found, token = keyset.page(await anyio.to_thread.run_sync(work), limit, lambda w: (w.created_at, w.webhook_id))
    return {"items": [webhook_json(w) for w in found], "next_page_token": paging.next_token(token)}


@router.get(
    "/webhooks/{webhook_id:webhook_id}",
    response_model=WebhookOut,
    summary="One webhook subscription",
    responses={404: {"description": "no webhook with this id"}},
)
async def get_webhook(webhook_id: WebhookId, request: Request, caller: Admin) -> dict[str, Any]:
    def work() -> store.Webhook | None:
        with reading(request.app.state.engine) as conn:
            return store.get_webhook(conn, webhook_id)

    webhook = await anyio.to_thread.run_sync(work)
    if webhook is None:
        raise Problem(404, f"no webhook {webhook_id}", "not_found")
    return webhook_json(webhook)


@router.delete("/webhooks/{webhook_id:webhook_id}", response_model=WebhookOut, summary="Disable a subscription (kept)")
async def disable_webhook(webhook_id: WebhookId, request: Request, caller: Admin) -> dict[str, Any]:
    reason = f"disabled by key {caller.key_id}"
    return await _switch(request, webhook_id, lambda conn: store.disable_webhook(conn, webhook_id, reason))


@router.post(
    "/webhooks/{webhook_id}:enable",
    response_model=WebhookOut,
    summary="Enable a disabled subscription again",
    description="After a DELETE, or after its receiver answered 410: events published from now on are delivered "
    "again (not those published while it was disabled); its abandoned deliveries can then be sent again "
    "(`:retry`). Enabling an active subscription changes nothing.",
    responses={404: {"description": "no webhook with this id"}},
)
async def enable_webhook(webhook_id: WebhookId, request: Request, caller: Admin) -> dict[str, Any]:
    return await _switch(request, webhook_id, lambda conn: store.enable_webhook(conn, webhook_id))


async def _switch(request: Request, webhook_id: str, change: Callable[[Connection], None]) -> dict[str, Any]:
    """Disable or enable a subscription (404 when there is none); the event types the gateway stages follow."""

    def work() -> store.Webhook | None:
        with transaction(request.app.state.engine) as conn:
            if store.get_webhook(conn, webhook_id) is None:
                return None
            change(conn)
            return store.get_webhook(conn, webhook_id)

    webhook = await anyio.to_thread.run_sync(work)
    if webhook is None:
        raise Problem(404, f"no webhook {webhook_id}", "not_found")
    await request.app.state.webhook_types.refresh()
    return webhook_json(webhook)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryPage, summary="Delivery log, newest first")
async def list_deliveries(
    webhook_id: WebhookId,
    request: Request,
    caller: Admin,
    paging: Paging,
    status: Annotated[DeliveryStatus | None, Query(description="only the deliveries with this status")] = None,
    page_size: PageSize = 50,
) -> dict[str, Any]:
    before, limit = keyset.position(paging.after), keyset.limit_of(page_size)

    def work() -> list[dict[str, Any]] | None:
        with reading(request.app.state.engine) as conn:
            if store.get_webhook(conn, webhook_id) is None:
                return None
            return store.list_deliveries(conn, webhook_id, limit + 1, before, status)

    deliveries = await anyio.to_thread.run_sync(work)
    if deliveries is None:
        raise Problem(404, f"no webhook {webhook_id}", "not_found")
    page, token = keyset.page(deliveries, limit, lambda d: (d["created_at"], d["delivery_id"]))
    return {"items": page, "next_page_token": paging.next_token(token)}


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}:retry",
    response_model=Delivery,
    summary="Send a failed or abandoned delivery again",
    description="The delivery becomes `pending`, due now, and is sent with the same `webhook-id`; its next attempt "
    "is numbered after those listed, and the retry schedule goes on from there (a delivery that had used every "
    "attempt gets one more, and is `failed` again if that fails). A delivered or pending delivery, or one of a "
    "disabled webhook, is a 409.",
    responses={
        404: {"description": "no webhook with this id, or it has no delivery with this id"},
        409: {"description": "the delivery is delivered or pending, or the webhook is disabled"},
    },
)
async def retry_delivery(
    webhook_id: WebhookId,
    delivery_id: DeliveryId,
    request: Request,
    caller: Admin,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    async def produce() -> Response:
        def work() -> dict[str, Any]:
            with transaction(request.app.state.engine) as conn:
                webhook = store.get_webhook(conn, webhook_id)
                if webhook is None:
                    raise Problem(404, f"no webhook {webhook_id}", "not_found")
                found = store.get_delivery(conn, webhook_id, delivery_id)
                if found is None:
                    raise Problem(404, f"webhook {webhook_id} has no delivery {delivery_id}", "not_found")
                if webhook.disabled_at is not None:
                    raise Problem(
                        409,
                        f"webhook {webhook_id} is disabled ({webhook.disabled_reason}): enable it first "
                        f"(POST /v1/webhooks/{webhook_id}:enable)",
                        "webhook_disabled",
                    )
                due = store.retry_delivery(conn, webhook_id, delivery_id)
                if due is None:
                    raise Problem(
                        409,
                        f"delivery {delivery_id} is {found['status']}: only a failed or abandoned delivery is sent "
                        "again",
                        "delivery_not_retryable",
                    )
                return {**found, "status": "pending", "next_attempt_at": due, "delivered_at": None}

        retried = await anyio.to_thread.run_sync(work)
        request.app.state.webhook_dispatcher.notify()
        return JSONResponse(Delivery.model_validate(retried).model_dump(mode="json"))

    return await idempotent(request, caller.key_id, idempotency_key, produce)
