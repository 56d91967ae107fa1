from __future__ import annotations

import grpc
import pytest

from services.common.config import Settings
from services.common.errors import FieldViolation, decode_violations, encode_violations
from services.common.paging import MAX_PAGE_SIZE, decode_token, encode_token, page_size
from services.gateway.backends import HTTP_STATUS
from services.gateway.domain.keys import KEY_PREFIX, key_hash, new_key


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
