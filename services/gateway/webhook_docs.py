"""What a webhook delivery carries, declared for the OpenAPI document's `webhooks` section (OpenAPI 3.1).

One model per event type for `data`, as `services.common.events_catalog.event_json` renders it (a unit test
validates every type's rendering against its model, and the e2e webhook tests validate real deliveries), and one
operation per type: the POST the gateway sends to a subscriber, with the Standard Webhooks headers and what each
answer makes the dispatcher do. The operations are documentation only: FastAPI lists `app.webhooks` in the
document and serves none of them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Header
from pydantic import BaseModel, ConfigDict, Field, create_model

from services.common.events_catalog import BY_NAME
from services.gateway.schemas import ConsequenceOutcome, Level, Measure, Programme


class EventObject(BaseModel):
    # Every field is always present (null where it has no value), and a field added later is announced here first.
    model_config = ConfigDict(extra="forbid", strict=True)


class EventMeta(EventObject):
    event_id: str = Field(description="the event's id: the `webhook-id` of every delivery of it")
    occurred_at: datetime = Field(description="when the producer recorded it (RFC 3339, UTC, `Z`)")
    producer: str = Field(description="the service that published it", examples=["rewards"])
    request_id: str = Field(description="`X-Request-ID` of the REST request that caused it ('' when none did)")


class EventData(EventObject):
    meta: EventMeta


class EventRecognition(EventObject):
    level: Level
    recognized_on: date


class EventZone(EventObject):
    zone_code: str
    county_code: str
    recognitions: list[EventRecognition] = Field(description="every recognition of the zone, this one included")


class ZoneRecognizedData(EventData):
    zone_code: str
    level: Level
    recognized_on: date
    zone: EventZone


class CountyDesignatedData(EventData):
    county_code: str
    programme: Programme
    level: Level
    listed_on: date


class IndicatorValuesAcceptedData(EventData):
    batch_id: str
    accepted: int = Field(description="values in the batch")
    revised: int = Field(description="of them, values that replaced a different earlier value")
    zone_codes: list[str] = Field(description="zones whose values changed")
    years: list[int] = Field(description="years whose values changed")
    source: str = Field(
        description="the data source its values name, when they all name the same one; else `api-key:<key_id>` of "
        "the key that pushed the batch"
    )


class EventRank(EventObject):
    zone_code: str
    rank: int


class RankingPublishedData(EventData):
    year: int
    level: Level
    ranks: list[EventRank]
    replaced: bool = Field(description="an earlier ranking of this year and level was replaced")
    dropped_zone_codes: list[str] = Field(description="zones of the replaced ranking that this one leaves out")


class EventClause(EventObject):
    id: int = Field(examples=[25])
    label: str | None = Field(examples=["（二十五）"])
    url: str = Field(description="relative to the gateway's base URL", examples=["/v1/policy/clauses/25"])


class EventZoneConsequence(EventObject):
    zone_code: str
    rank: int
    outcome: ConsequenceOutcome
    measures: list[Measure]


class ConsequencesDeterminedData(EventData):
    year: int
    level: Level
    field_size: int = Field(description="the n the shares are taken of")
    support_count: int
    restrict_count: int
    parameter_version: str | None = Field(description="null when no rule was in force (a year before the policy)")
    explanation: str
    clause: EventClause | None
    zones: list[EventZoneConsequence]


class EventBeneficiary(EventObject):
    kind: Literal["zone", "county", "project"]
    code: str


class AwardData(EventData):
    award_id: str = Field(description="`GET /v1/awards/{award_id}` reads the whole award")
    rule: str
    beneficiary: EventBeneficiary
    year: int
    amount_yuan: int = Field(description="integer yuan")


class AwardGrantedData(AwardData):
    clause: EventClause | None
    reinstated: bool = Field(
        description=(
            "true: an award revoked earlier is granted again as it was (this `award_id`, amount and parameters), its "
            "basis holding again; false: a first grant"
        )
    )


class AwardRevokedData(AwardData):
    revocation_reason: str


class DecisionRecordedData(EventData):
    decision_id: str = Field(description="`GET /v1/talent/decisions/{decision_id}` reads the decision")
    check: Literal["work_permit_age", "r_visa", "rd_institution_representative"]
    eligible: bool
    outcome: Literal["eligible", "eligible_if_approved", "not_eligible"]
    rule_set_version: str


DATA_MODELS: dict[str, type[EventData]] = {
    "indicators.zone_recognized": ZoneRecognizedData,
    "indicators.county_designated": CountyDesignatedData,
    "indicators.indicator_values_accepted": IndicatorValuesAcceptedData,
    "indicators.ranking_published": RankingPublishedData,
    "indicators.consequences_determined": ConsequencesDeterminedData,
    "rewards.award_granted": AwardGrantedData,
    "rewards.award_revoked": AwardRevokedData,
    "talent.decision_recorded": DecisionRecordedData,
}

DELIVERY_DESCRIPTION = """\
Sent to every active subscription to this event type (`POST /v1/webhooks`), as `application/json`, signed per
Standard Webhooks: `webhook-signature` is `v1,` + base64 of HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`,
keyed with the base64-decoded part of the subscription's `whsec_` secret. Verify it, and refuse a timestamp far from
now, before trusting the body. The same event keeps its `webhook-id` on every retry: use it to drop duplicates.
Order between deliveries is not guaranteed; `data.meta.occurred_at` dates each event."""

ANSWERS: dict[int | str, dict[str, Any]] = {
    410: {"description": "Gone: the delivery is abandoned and the subscription disabled"},
    "default": {
        "description": "anything else, or no answer within `GAOXIN_WEBHOOK_TIMEOUT_SECONDS`: retried with "
        "exponential back-off until `GAOXIN_WEBHOOK_MAX_ATTEMPTS`, then `failed` (see the deliveries list)"
    },
}


def delivery_model(name: str) -> type[BaseModel]:
    """The body of a delivery of event type `name`: `{"type", "timestamp", "data"}`."""
    fields: dict[str, Any] = {
        "type": (Literal[name], Field(description="the event type")),  # type: ignore[valid-type]
        "timestamp": (datetime, Field(description="when this attempt was sent")),
        "data": (DATA_MODELS[name], ...),
    }
    model_name = "".join(part.title() for part in name.replace(".", "_").split("_")) + "Delivery"
    return create_model(model_name, __config__=ConfigDict(extra="forbid"), **fields)


def _declare(app: FastAPI, name: str) -> None:
    body_model = delivery_model(name)

    async def receive(
        body: BaseModel,
        webhook_id: Annotated[str, Header(description="the event id; the same on every retry")],
        webhook_timestamp: Annotated[int, Header(description="Unix seconds when this attempt was signed")],
        webhook_signature: Annotated[str, Header(description="`v1,<base64 HMAC-SHA256>`", pattern=r"^v1,")],
    ) -> None:
        """Documentation only (never served)."""

    # Annotations are strings here (`from __future__ import annotations`): FastAPI cannot resolve a local name.
    receive.__annotations__["body"] = body_model

    app.webhooks.post(
        name,
        summary=BY_NAME[name].description,
        description=DELIVERY_DESCRIPTION,
        responses=ANSWERS,
        response_description="delivered (any 2xx): no further attempt",
        operation_id=f"deliver_{name.replace('.', '_')}",
    )(receive)


def install(app: FastAPI) -> None:
    """Declare one webhook operation per event type of the catalogue."""
    missing = set(BY_NAME) ^ set(DATA_MODELS)
    if missing:
        raise RuntimeError(f"event types without a delivery schema, or schemas without a type: {sorted(missing)}")
    for name in BY_NAME:
        _declare(app, name)
