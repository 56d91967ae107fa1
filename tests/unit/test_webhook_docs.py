"""The OpenAPI document's `webhooks`: one delivery per event type, whose schema is what the gateway really sends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from google.protobuf.message import Message
from pydantic import ValidationError

from services.common.config import Settings
from services.common.events_catalog import BY_NAME, EVENT_TYPES, EventType, event_json
from services.gateway.app import create_app
from services.gateway.webhook_docs import DATA_MODELS, delivery_model
from tests.unit.test_event_json import filled

# What the filler's `<field>-1` strings cannot be: the words the platform writes there.
REAL_WORDS: dict[str, Any] = {
    "beneficiary_kind": "zone",
    "check": "work_permit_age",
    "outcome": "eligible_if_approved",
    "programme": "ip_pilot",
    "clause_number": 25,
}
# Fields of the same name whose words depend on the event.
REAL_WORDS_BY_MESSAGE: dict[str, dict[str, Any]] = {
    "ConsequencesDetermined.Zone": {"outcome": "restrict", "measures": ["rectification"]},
}


def with_real_words(message: Message) -> Message:
    """The message with the words the platform really writes where the filler put `<field>-1`, nested ones too."""
    words = {**REAL_WORDS, **REAL_WORDS_BY_MESSAGE.get(message.DESCRIPTOR.full_name.split(".", 3)[-1], {})}
    for field in message.DESCRIPTOR.fields:
        if field.name in words:
            if field.is_repeated:
                del getattr(message, field.name)[:]
                getattr(message, field.name).extend(words[field.name])
            else:
                setattr(message, field.name, words[field.name])
        elif field.message_type is not None:
            values = getattr(message, field.name)
            for nested in values if field.is_repeated else [values]:
                with_real_words(nested)
    return message


def real_event(event_type: EventType) -> Message:
    """Every field set (as the filler sets them), with the words the platform really writes where it has words."""
    return with_real_words(filled(event_type.message()))


def delivery(event_type: EventType) -> dict[str, Any]:
    """A delivery's body as the gateway builds it (services/gateway/events.py)."""
    data = event_json(event_type.subject, real_event(event_type).SerializeToString())
    return {"type": event_type.name, "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"), "data": data}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    data_dir: Path = tmp_path_factory.mktemp("gateway")
    yield create_app(Settings(data_dir=data_dir))


def test_every_event_type_has_a_data_model() -> None:
    assert set(DATA_MODELS) == set(BY_NAME)


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=[t.name for t in EVENT_TYPES])
def test_every_event_types_delivery_is_valid_against_its_schema(event_type: EventType) -> None:
    body = delivery(event_type)

    parsed = delivery_model(event_type.name).model_validate_json(json.dumps(body))

    assert parsed.model_dump(mode="json")["data"]["meta"]["event_id"] == body["data"]["meta"]["event_id"]


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=[t.name for t in EVENT_TYPES])
def test_the_schema_refuses_a_field_it_does_not_declare_or_a_missing_one(event_type: EventType) -> None:
    model = delivery_model(event_type.name)
    extra = delivery(event_type)
    extra["data"]["undeclared"] = 1
    missing = delivery(event_type)
    missing["data"].pop(next(k for k in missing["data"] if k != "meta"))

    for body in (extra, missing):
        with pytest.raises(ValidationError):
            model.model_validate_json(json.dumps(body))


def test_the_schema_refuses_another_types_delivery() -> None:
    granted = delivery(BY_NAME["rewards.award_granted"])

    with pytest.raises(ValidationError):
        delivery_model("rewards.award_revoked").model_validate_json(json.dumps(granted))


def test_openapi_lists_a_signed_delivery_for_every_event_type(app: FastAPI) -> None:
    document = app.openapi()
    webhooks = document["webhooks"]

    assert set(webhooks) == set(BY_NAME)
    for name, item in webhooks.items():
        operation = item["post"]
        schema_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = document["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
        assert schema["properties"]["type"]["const"] == name
        assert {p["name"] for p in operation["parameters"] if p["in"] == "header"} == {
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
        }
        assert {"200", "410", "default"} <= set(operation["responses"])
