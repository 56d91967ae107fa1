"""Page tokens: sealed by the gateway for one list and its filters, and the positions inside them decoded strictly."""

from __future__ import annotations

import base64
import json

import pytest

from services.common.errors import InvalidArgument
from services.common.paging import (
    MAX_SEQUENCE,
    decode_sequence,
    decode_text_position,
    decode_token,
    encode_token,
)
from services.gateway.page_tokens import PageTokens
from services.gateway.problems import Problem

KEY = bytes(range(32))
TOKENS = PageTokens(KEY)


def refusal(path: str, filters: str, token: str) -> tuple[int, list[list[str | int]], str, str]:
    with pytest.raises(Problem) as raised:
        TOKENS.open(path, filters, token)
    problem = raised.value
    [error] = problem.errors
    return problem.status, [error["location"]], problem.detail, error["message"]


def test_a_sealed_position_opens_on_its_own_list_with_its_own_filters() -> None:
    token = TOKENS.seal("/v1/awards", "year=2023", encode_token(41))

    assert TOKENS.open("/v1/awards", "year=2023", token) == encode_token(41)
    assert decode_sequence(TOKENS.open("/v1/awards", "year=2023", token)) == 41


def test_a_token_of_another_list_is_refused_naming_the_list_it_came_from() -> None:
    token = TOKENS.seal("/v1/awards", "", encode_token(2))

    status, locations, detail, message = refusal("/v1/audit-log", "", token)

    assert (status, locations, detail) == (422, [["query", "page_token"]], "page token of another list")
    assert message == "this page token was issued for the list at /v1/awards, not /v1/audit-log"


def test_a_token_used_with_other_filters_is_refused_naming_both() -> None:
    token = TOKENS.seal("/v1/awards", "year=2023", encode_token(2))

    status, locations, detail, message = refusal("/v1/awards", "year=2022", token)
    unfiltered = refusal("/v1/awards", "", token)[3]

    assert (status, locations, detail) == (422, [["query", "page_token"]], "page token issued with other filters")
    assert message.startswith("this page token was issued with year=2023, not year=2022")
    assert unfiltered.startswith("this page token was issued with year=2023, not no filters")


@pytest.mark.parametrize(
    "forged",
    [
        encode_token(2),  # the unsigned tokens of before: base64 JSON of a position
        "Ingi",
        "dHJ1ZQ",
        "garbage",
        "a.b",
        "a.b.c",
        "",  # as a sealed token's text: the caller treats an absent or empty token as the first page
        "x" * 5000,
    ],
)
def test_a_token_this_api_did_not_issue_is_refused(forged: str) -> None:
    status, locations, _, message = refusal("/v1/zones", "", forged)

    assert (status, locations) == (422, [["query", "page_token"]])
    assert message == "not a page token this API issued (or it was altered)"


def test_an_altered_token_is_refused_whatever_was_changed() -> None:
    token = TOKENS.seal("/v1/awards", "year=2023", encode_token(2))
    payload, mac = token.split(".")
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    path, filters, position = json.loads(raw)
    # The same list and filters, a position of the client's choosing, with the original MAC.
    moved = json.dumps([path, filters, encode_token(10**30)], separators=(",", ":")).encode()
    altered = base64.urlsafe_b64encode(moved).decode().rstrip("=") + "." + mac
    # Another installation's key (or a guessed one) signs tokens this one does not accept.
    foreign = PageTokens(b"\x01" * 32).seal(path, filters, position)

    assert refusal(path, filters, altered)[3] == "not a page token this API issued (or it was altered)"
    assert refusal(path, filters, foreign)[3] == "not a page token this API issued (or it was altered)"


def test_a_page_token_key_is_at_least_16_bytes() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        PageTokens(b"short")


@pytest.mark.parametrize(
    "position",
    [True, False, -1, MAX_SEQUENCE + 1, 10**23, 1.5, "2", [2]],
)
def test_a_sequence_position_of_another_type_or_beyond_64_bits_is_invalid_argument(position: object) -> None:
    with pytest.raises(InvalidArgument) as raised:
        decode_sequence(encode_token(position))

    assert [v.location for v in raised.value.violations] == [("page_token",)]


def test_a_sequence_position_in_range_is_read() -> None:
    assert [decode_sequence(encode_token(n)) for n in (0, 7, MAX_SEQUENCE)] == [0, 7, MAX_SEQUENCE]
    assert decode_sequence("") is None


@pytest.mark.parametrize("position", [1, True, "", "x\x00y", "a" * 129, ["LYG"], {"a": 1}])
def test_a_text_position_that_is_not_printable_text_up_to_128_characters_is_invalid_argument(position: object) -> None:
    with pytest.raises(InvalidArgument):
        decode_text_position(encode_token(position))


def test_a_text_position_is_read() -> None:
    assert decode_text_position(encode_token("LYG-HTZ")) == "LYG-HTZ" and decode_text_position("") is None


def test_a_token_of_json_nested_too_deeply_to_parse_is_invalid_argument_not_a_crash() -> None:
    deep = base64.urlsafe_b64encode(b"[" * 100_000 + b"]" * 100_000).decode()

    with pytest.raises(InvalidArgument):
        decode_token(deep)
