"""Page tokens through the REST API: only a token this API issued continues a list, and only the list and the
filters it was issued for (README, "Lists"); a forged one is a 422 at ["query", "page_token"], never a 500."""

from __future__ import annotations

import httpx
import pytest

from services.common.paging import encode_token
from tests.e2e.helpers import create_zone, unique_zone_code

PROBLEM = "application/problem+json"
NOT_ISSUED = "not a page token this API issued (or it was altered)"


def refusal(reply: httpx.Response) -> tuple[int, str, list[list[str]], str]:
    problem = reply.json()
    [error] = problem["errors"]
    return reply.status_code, reply.headers["content-type"], [error["location"]], error["message"]


def next_token(api: httpx.Client, path: str, **params: str | int) -> str:
    reply = api.get(path, params={"page_size": 1, **params})
    assert reply.status_code == 200, reply.text
    token: str = reply.json()["next_page_token"]
    assert token, f"{path} has a single page: the test needs two"
    return token


@pytest.mark.parametrize("path", ["/v1/awards", "/v1/audit-log"])
@pytest.mark.parametrize(
    "forged",
    ["dHJ1ZQ", encode_token(99999999999999999999999), encode_token(-5), encode_token(2)],
    ids=["true", "beyond-64-bits", "negative", "unsigned-position"],
)
def test_a_forged_sequence_token_is_422_at_page_token_not_a_500(api: httpx.Client, path: str, forged: str) -> None:
    assert refusal(api.get(path, params={"page_token": forged})) == (
        422,
        PROBLEM,
        [["query", "page_token"]],
        NOT_ISSUED,
    )


def test_a_forged_zone_token_is_refused_not_answered_with_an_empty_page(api: httpx.Client) -> None:
    create_zone(api, unique_zone_code("F"))

    reply = api.get("/v1/zones", params={"page_token": "Ingi"})  # base64 of "x": a zone code after every real one

    assert refusal(reply) == (422, PROBLEM, [["query", "page_token"]], NOT_ISSUED)


def test_a_token_of_another_list_is_422_naming_the_list_it_was_issued_for(api: httpx.Client) -> None:
    audit = next_token(api, "/v1/audit-log")
    zone = unique_zone_code("F")
    create_zone(api, zone)
    catalogue = next_token(api, "/v1/indicators")

    on_awards = api.get("/v1/awards", params={"page_token": audit})
    on_ranks = api.get(f"/v1/zones/{zone}/ranks", params={"page_token": catalogue})

    assert refusal(on_awards) == (
        422,
        PROBLEM,
        [["query", "page_token"]],
        "this page token was issued for the list at /v1/audit-log, not /v1/awards",
    )
    assert on_awards.json()["detail"] == "page token of another list"
    assert (
        refusal(on_ranks)[3] == f"this page token was issued for the list at /v1/indicators, not /v1/zones/{zone}/ranks"
    )


def test_a_token_is_bound_to_its_filters_but_not_to_the_page_size(api: httpx.Client) -> None:
    for _ in range(2):
        create_zone(api, unique_zone_code("F"))
    token = next_token(api, "/v1/zones", as_of="2024-01-01")

    other_filter = api.get("/v1/zones", params={"page_token": token, "as_of": "2023-01-01"})
    no_filter = api.get("/v1/zones", params={"page_token": token})
    second = api.get("/v1/zones", params={"page_token": token, "as_of": "2024-01-01", "page_size": 1})
    larger = api.get("/v1/zones", params={"page_token": token, "as_of": "2024-01-01", "page_size": 5})
    # A parameter the list does not take is not one of its filters: ignored, as it is on the first page.
    undeclared = api.get(
        "/v1/zones", params={"page_token": token, "as_of": "2024-01-01", "page_size": 1, "yaer": "2023"}
    )

    assert refusal(other_filter) == (
        422,
        PROBLEM,
        [["query", "page_token"]],
        "this page token was issued with as_of=2024-01-01, not as_of=2023-01-01: "
        "request every page of a list with the same filters",
    )
    assert other_filter.json()["detail"] == "page token issued with other filters"
    assert refusal(no_filter)[3].startswith("this page token was issued with as_of=2024-01-01, not no filters")
    assert (second.status_code, larger.status_code, undeclared.status_code) == (200, 200, 200)
    assert larger.json()["items"][0] == second.json()["items"][0]
    assert undeclared.json() == second.json()
