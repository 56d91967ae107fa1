from __future__ import annotations

import importlib
import pkgutil
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import grpc
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import TypeAdapter

from services.common.config import Settings
from services.common.convert import CHINA, ZoneLevel, rfc3339
from services.common.errors import FieldViolation, decode_violations, encode_violations
from services.common.paging import MAX_PAGE_SIZE, decode_token, encode_token, page_size
from services.gateway import routes
from services.gateway.app import create_app
from services.gateway.backends import HTTP_STATUS
from services.gateway.deps import authenticate, authenticate_any
from services.gateway.domain.keys import KEY_PREFIX, key_hash, new_key
from services.gateway.idempotency import canonical_body
from services.gateway.routes.indicators import VALUE_PATTERN
from services.gateway.wire import BASIS_INTEGERS, BASIS_TEXT, basis_json, parameter_value
from services.indicators.domain.values import canonical_value
from services.rewards.domain.parameters import ParameterTable, ParameterVersion
from services.rewards.domain.rules import (
    AwardDecision,
    DesignationFact,
    FactSet,
    RankFact,
    RecognitionFact,
    TalentProjectFact,
    evaluate_all,
)


def test_new_keys_are_prefixed_unique_and_only_their_hash_is_kept() -> None:
    (id_a, key_a), (id_b, key_b) = new_key(), new_key()
    assert key_a.startswith(f"{KEY_PREFIX}{id_a}_") and key_a != key_b and id_a != id_b
    assert len(key_a) > 50
    assert key_hash(key_a) != key_a and len(key_hash(key_a)) == 64 and key_hash(key_a) == key_hash(key_a)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, 422),
        (grpc.StatusCode.NOT_FOUND, 404),
        (grpc.StatusCode.ALREADY_EXISTS, 409),
        (grpc.StatusCode.FAILED_PRECONDITION, 409),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
        (grpc.StatusCode.UNAVAILABLE, 503),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 504),
    ],
)
def test_grpc_status_maps_to_http_status(code: grpc.StatusCode, status: int) -> None:
    assert HTTP_STATUS[code] == status


def test_violations_survive_the_trip_through_metadata() -> None:
    violations = [FieldViolation(("values", 3, "year"), "年份无效")]
    assert decode_violations(encode_violations(violations)) == violations


def test_page_size_default_and_cap() -> None:
    assert (page_size(0), page_size(7), page_size(5000)) == (50, 7, MAX_PAGE_SIZE)


def test_page_token_round_trip() -> None:
    assert decode_token(encode_token("LYG-HTZ")) == "LYG-HTZ" and decode_token("") is None


def test_production_refuses_embedded_defaults() -> None:
    with pytest.raises(ValueError, match="production needs"):
        Settings(environment="production")


def test_default_ports_never_collide() -> None:
    settings = Settings()
    ports = [settings.gateway_port, settings.embedded_nats_port]
    ports += [settings.grpc_port(s) for s in ("indicators", "rewards", "talent")]
    ports += [settings.metrics_port(s) for s in ("indicators", "rewards", "talent")]
    assert len(set(ports)) == len(ports) and 4222 not in ports


def test_every_basis_key_the_rules_write_has_a_json_type_at_the_gateway() -> None:
    """The basis is map<string, string> on the wire; the gateway types it by key. A rule that adds a key must say
    here whether it is a number, a flag or text, or the key would leave as a string (e.g. money as "12345678")."""
    p = ZoneLevel.PROVINCIAL
    facts = FactSet(
        recognitions={"Z": [RecognitionFact(date(2022, 6, 30), p)]},
        ranks={"Z": [RankFact(2021, p, 9), RankFact(2022, p, 6)]},
        designations={"320706": [DesignationFact("ip_pilot", ZoneLevel.NATIONAL, date(2022, 5, 1))]},
        projects={"TP-1": TalentProjectFact("TP-1", "项目", "Z", p, 12_345, date(2022, 7, 1))},
    )
    rate = ParameterVersion("talent_project.rate", Decimal("0.05"), 1, date(2021, 4, 12), 5, "")
    outcomes = evaluate_all(facts, ParameterTable().with_versions([rate]))
    decisions = [o for o in outcomes if isinstance(o, AwardDecision)]

    assert sorted({d.rule for d in decisions}) == [
        "new_provincial_zone",
        "pilot_county",
        "rank_advance",
        "talent_project",
    ]
    keys = {k for d in decisions for k in d.basis}
    assert keys <= BASIS_INTEGERS | BASIS_TEXT, keys - (BASIS_INTEGERS | BASIS_TEXT)
    assert not BASIS_INTEGERS & BASIS_TEXT


def test_basis_and_parameter_values_leave_the_gateway_typed() -> None:
    assert basis_json({"investment_yuan": "12345678", "rank": "7", "county_code": "320724", "level": "national"}) == {
        "investment_yuan": 12_345_678,
        "rank": 7,
        "county_code": "320724",
        "level": "national",
    }
    assert parameter_value("true", "flag") is True and parameter_value("false", "flag") is False
    assert parameter_value("500000", "amount_yuan") == 500_000 and parameter_value("3", "places") == 3
    assert parameter_value("1", "rate") == "1" and parameter_value("0.05", "rate") == "0.05"
    assert parameter_value("2021-04-12", "date") == "2021-04-12"
    assert parameter_value("true", "label") == "true"  # a label that happens to read "true" is still a label
    assert parameter_value("500000") == 500_000  # no kind (an older rewards service): whole numbers as before


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 26, 14, 24, 33, 123456, tzinfo=UTC),
        datetime(2026, 11, 26, 14, 24, 33, tzinfo=UTC),
        datetime(2026, 11, 26, 22, 24, 33, 500, tzinfo=CHINA),
    ],
)
def test_timestamps_are_written_with_z_as_pydantic_writes_them(moment: datetime) -> None:
    written = rfc3339(moment)

    assert written.endswith("Z") and "+" not in written
    assert written == TypeAdapter(datetime).dump_python(moment.astimezone(UTC), mode="json")
    assert datetime.fromisoformat(written) == moment


def test_a_naive_datetime_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="naive"):
        rfc3339(datetime(2026, 11, 26, 14, 24, 33))


def test_idempotency_compares_a_json_body_by_content_not_by_bytes() -> None:
    from services.gateway.idempotency import canonical_body

    json_type = "application/json"
    first = canonical_body(b'{"level": "national", "recognized_on": "2015-03-03"}', json_type)
    reordered = b'{"recognized_on":"2015-03-03",\n "level":"national"}'
    assert canonical_body(reordered, json_type + "; charset=utf-8") == first
    assert canonical_body(b'{"level": "provincial", "recognized_on": "2015-03-03"}', json_type) != first
    # Numbers exact as written, and never equal to strings: nothing that could mean another request matches.
    assert canonical_body(b'{"value": 0.1}', json_type) != canonical_body(b'{"value": 0.10}', json_type)
    assert canonical_body(b'{"value": 0.1}', json_type) != canonical_body(b'{"value": "0.1"}', json_type)
    assert canonical_body(b'{"v": 12345678901234.123456}', json_type) != canonical_body(
        b'{"v": 12345678901234.123457}', json_type
    )
    assert canonical_body(b"{}", json_type) != canonical_body(b"[]", json_type)
    # Other bodies (CSV) and malformed JSON: their bytes.
    assert canonical_body(b"a,b\n1,2\n", "text/csv") == b"a,b\n1,2\n"
    assert canonical_body(b"{not json", json_type) == b"{not json"


def test_every_v1_route_authenticates_and_no_operational_route_does() -> None:
    """RequestContextMiddleware asks every /v1 request for a key; each route there must also check its scope."""

    def authenticates(dependant: Any) -> bool:
        return any(d.call in (authenticate, authenticate_any) or authenticates(d) for d in dependant.dependencies)

    modules = [
        importlib.import_module(f"services.gateway.routes.{m.name}") for m in pkgutil.iter_modules(routes.__path__)
    ]
    api = {
        (route.path, *sorted(route.methods)): authenticates(route.dependant)
        for module in modules
        for route in module.router.routes
        if isinstance(route, APIRoute)
    }

    assert len([path for path, *_ in api if path.startswith("/v1/")]) > 30
    assert [route for route, checked in api.items() if route[0].startswith("/v1/") and not checked] == []
    assert [route for route, checked in api.items() if not route[0].startswith("/v1/") and checked] == []
    assert {path for path, *_ in api if not path.startswith("/v1/")} == {"/livez", "/healthz", "/readyz", "/metrics"}


def test_the_middleware_finds_the_scopes_of_the_route_the_router_picks() -> None:
    """RouteScopes names the route Starlette will serve a request with, and its scopes, before the body is read."""
    app = create_app(Settings())
    served = [
        (method, context.path_format, context.original_route.dependant)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.path_format.startswith("/v1/")
        for method in context.methods or ()
    ]

    for method, template, dependant in served:
        security = next(d for d in dependant.dependencies if d.call in (authenticate, authenticate_any))
        path = re.sub(r"\{(\w+)\}", lambda m: {"webhook_id": "wh_" + "0" * 24}.get(m.group(1), "x"), template)
        found = app.state.route_scopes.match(method, path)
        assert found is not None, (method, template)
        assert (found.template, list(found.scopes), found.any_of) == (
            template,
            security.own_oauth_scopes,
            security.call is authenticate_any,
        )
    assert len(served) > 40
    assert app.state.route_scopes.match("GET", "/v1/awards/summary").template == "/v1/awards/summary"
    assert app.state.route_scopes.match("GET", "/v1/zones/") is None
    assert app.state.route_scopes.match("DELETE", "/v1/zones") is None
    # A malformed webhook id is the route's (its scope first, then a 422); a custom method is not an id, so a GET of
    # it is no route's (the router answers 405), and no scope is asked for.
    assert app.state.route_scopes.match("GET", "/v1/webhooks/x").template == "/v1/webhooks/{webhook_id}"
    assert app.state.route_scopes.match("GET", "/v1/webhooks/wh_" + "0" * 24 + ":enable") is None


@pytest.mark.parametrize(
    "text",
    [
        *("1", "0", "1.", ".5", "+5", " 7 ", "-0", "-0.0", "-.0e3", "0" * 20 + "1", "9" * 15, "9" * 15 + ".999999"),
        *("1.1234560000", ".000001", "1e3", "1.5E-2", "9" * 16, "1" + "0" * 15, "1.1234567", ".0000001", "-1"),
        *("-0.1", ".", "", "1..2", "1e", "٣", "1,5", "0x10", "inf", "NaN", "1 2", "++1"),
    ],
)
def test_declared_value_pattern_accepts_what_the_indicators_service_accepts(text: str) -> None:
    """In plain notation the pattern is exactly the service's rule (15 digits before the point, 6 after); written
    with an exponent, the limits apply to the number and the pattern only admits the form."""
    accepted = canonical_value(text.strip(), integral=False)[1] == ""
    declared = re.fullmatch(VALUE_PATTERN, text) is not None
    if "e" in text.lower() and declared:
        return
    assert declared == accepted


def test_idempotency_fingerprint_of_a_body_with_a_number_beyond_decimal_is_its_bytes() -> None:
    body = b'{"values": [1e999999999999999999999]}'
    assert canonical_body(body, "application/json") == body


def test_json_media_types_are_recognised_alike_by_every_body_reader() -> None:
    from services.gateway.wire import is_json

    assert all(
        is_json(t) for t in ("application/json", "Application/JSON; charset=utf-8", "application/merge-patch+json")
    )
    assert not any(
        is_json(t) for t in ("", "text/plain", "text/csv", "application/x-www-form-urlencoded", "text/+json")
    )
    # Idempotency compares a +json body by content too, as it does an application/json one.
    assert canonical_body(b'{"b": 1, "a": 2}', "application/merge-patch+json") == canonical_body(
        b'{"a":2,"b":1}', "application/json"
    )
