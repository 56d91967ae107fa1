"""Webhooks to a real local receiver: signed per Standard Webhooks, retried, disabled by 410, logged."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from services.common.paging import encode_token
from services.platform import free_port
from tests.e2e.conftest import eventually
from tests.e2e.helpers import (
    HISTORY_RECOGNITION,
    RFC3339_Z,
    assert_z_timestamps,
    create_recognised_zone,
    create_zone,
    history_years,
    recognize,
    unique_zone_code,
)


class Receiver:
    """An HTTP endpoint answering with scripted statuses (then 200) and keeping what it received."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver_factory() -> Iterator[Any]:
    made: list[Receiver] = []

    def make(statuses: list[int] | None = None) -> Receiver:
        made.append(Receiver(list(statuses or [])))
        return made[-1]

    yield make
    for r in made:
        r.close()


def subscribe(api: httpx.Client, url: str, events: list[str]) -> dict[str, Any]:
    reply = api.post("/v1/webhooks", json={"url": url, "events": events})
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    return body


def test_award_event_is_delivered_signed_after_retries(api: httpx.Client, receiver_factory: Any) -> None:
    receiver = receiver_factory([500, 503])
    webhook = subscribe(api, receiver.url, ["rewards.award_granted"])
    zone = unique_zone_code("W")
    create_zone(api, zone)

    recognize(api, zone, "provincial", "2022-08-08")

    def delivered() -> list[dict[str, Any]]:
        items = api.get(f"/v1/webhooks/{webhook['webhook_id']}/deliveries").json()["items"]
        return [d for d in items if d["status"] == "delivered"]

    deliveries = eventually(delivered, timeout=15)
    assert len(deliveries) == 1
    assert [a["status_code"] for a in deliveries[0]["attempts"]] == [500, 503, 200]
    headers, body = receiver.received[-1]
    assert len(receiver.received) == 3 and len({h["webhook-id"] for h, _ in receiver.received}) == 1
    event = Webhook(webhook["secret"]).verify(body, headers)
    assert event["type"] == "rewards.award_granted"
    assert event["data"]["beneficiary_code"] == zone and event["data"]["amount_yuan"] == 1_000_000


def test_receiver_answering_410_disables_the_subscription(api: httpx.Client, receiver_factory: Any) -> None:
    receiver = receiver_factory([410])
    webhook = subscribe(api, receiver.url, ["indicators.zone_recognized"])
    zone = unique_zone_code("G")
    create_zone(api, zone)

    recognize(api, zone, "national", "2020-01-02")

    def disabled() -> dict[str, Any] | None:
        found = [w for w in api.get("/v1/webhooks").json()["items"] if w["webhook_id"] == webhook["webhook_id"]]
        return found[0] if found and found[0]["disabled_at"] else None

    gone = eventually(disabled, timeout=10)
    assert gone is not None and "410" in gone["disabled_reason"]
    assert len(receiver.received) == 1
    assert json.loads(receiver.received[0][1])["data"]["zone_code"] == zone


def test_webhook_with_unknown_event_or_bad_secret_is_422(api: httpx.Client, receiver_factory: Any) -> None:
    receiver = receiver_factory()

    unknown_event = api.post("/v1/webhooks", json={"url": receiver.url, "events": ["zone.exploded"]})
    bad_secret = api.post(
        "/v1/webhooks", json={"url": receiver.url, "events": ["rewards.award_granted"], "secret": "short"}
    )

    assert unknown_event.status_code == bad_secret.status_code == 422
    assert [e["location"] for e in unknown_event.json()["errors"]] == [["body", "events", 0]]
    assert [e["location"] for e in bad_secret.json()["errors"]] == [["body", "secret"]]
    assert all(w["url"] != receiver.url for w in api.get("/v1/webhooks").json()["items"])


def test_webhook_timestamps_are_the_same_in_create_list_and_disable(api: httpx.Client, receiver_factory: Any) -> None:
    created = subscribe(api, receiver_factory().url, ["talent.decision_recorded"])
    listed = next(w for w in api.get("/v1/webhooks").json()["items"] if w["webhook_id"] == created["webhook_id"])
    disabled = api.delete(f"/v1/webhooks/{created['webhook_id']}").json()

    for document in (created, listed, disabled):
        assert_z_timestamps(document)
    assert created["created_at"] == listed["created_at"] == disabled["created_at"]


def test_deliveries_page_with_tokens_newest_first_without_repeats(api: httpx.Client, receiver_factory: Any) -> None:
    webhook = subscribe(api, receiver_factory().url, ["indicators.zone_recognized"])
    deliveries = f"/v1/webhooks/{webhook['webhook_id']}/deliveries"
    zone = unique_zone_code("D")
    create_zone(api, zone)
    for day in range(1, 6):
        assert recognize(api, zone, "provincial", f"2023-01-0{day}").status_code == 201

    def all_staged() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = api.get(deliveries).json()["items"]
        return items if len(items) == 5 else []

    everything = eventually(all_staged, timeout=15)
    assert len(everything) == 5

    pages, token = [], None
    while True:
        reply = api.get(deliveries, params={"page_size": 2, **({"page_token": token} if token else {})})
        assert reply.status_code == 200, reply.text
        pages.append([d["delivery_id"] for d in reply.json()["items"]])
        token = reply.json()["next_page_token"]
        if token is None:
            break

    assert [len(p) for p in pages] == [2, 2, 1]
    assert [d for p in pages for d in p] == [d["delivery_id"] for d in everything]
    created = [d["created_at"] for d in everything]
    assert created == sorted(created, reverse=True)
    assert_z_timestamps(everything)


def test_deliveries_refuse_a_page_token_they_did_not_issue(api: httpx.Client, receiver_factory: Any) -> None:
    webhook = subscribe(api, receiver_factory().url, ["indicators.zone_recognized"])

    reply = api.get(f"/v1/webhooks/{webhook['webhook_id']}/deliveries", params={"page_token": encode_token(42)})

    assert reply.status_code == 422
    assert [e["location"] for e in reply.json()["errors"]] == [["query", "page_token"]]


def test_event_data_reads_as_the_rest_api_writes_the_same_facts(api: httpx.Client, receiver_factory: Any) -> None:
    receiver = receiver_factory()
    subscribe(
        api,
        receiver.url,
        ["indicators.county_designated", "indicators.zone_recognized", "indicators.ranking_published"],
    )
    county = f"8{secrets.randbelow(10**5):05d}"
    assert api.put(f"/v1/counties/{county}", json={"name": "事件县"}).status_code in (200, 201)
    designation = {"programme": "ip_pilot", "level": "national", "listed_on": "2022-05-01"}
    assert api.post(f"/v1/counties/{county}/designations", json=designation).status_code == 201
    zone = create_recognised_zone(api, "EV", "provincial", HISTORY_RECOGNITION)
    [year] = history_years(1)
    ranking = api.put(f"/v1/evaluations/{year}/rankings/provincial", json={"ranks": [{"zone_code": zone, "rank": 1}]})
    assert ranking.status_code in (200, 201), ranking.text

    def data_of(event_type: str, key: str, code: str | int) -> dict[str, Any] | None:
        for _, body in list(receiver.received):
            event = json.loads(body)
            if event["type"] == event_type and event["data"][key] == code:
                found: dict[str, Any] = event["data"]
                return found
        return None

    designated = eventually(lambda: data_of("indicators.county_designated", "county_code", county), timeout=15)
    recognized = eventually(lambda: data_of("indicators.zone_recognized", "zone_code", zone), timeout=15)
    published = eventually(lambda: data_of("indicators.ranking_published", "year", year), timeout=15)

    assert designated is not None and recognized is not None and published is not None
    [listed] = api.get(f"/v1/counties/{county}").json()["designations"]
    assert {k: designated[k] for k in listed} == listed == designation
    rest_zone = api.get(f"/v1/zones/{zone}").json()
    assert (
        recognized["recognition"]
        == rest_zone["recognitions"][0]
        == {"level": "provincial", "recognized_on": HISTORY_RECOGNITION}
    )
    assert recognized["history"] == rest_zone["recognitions"]
    assert (published["level"], published["ranks"], published["replaced"]) == (
        "provincial",
        [{"zone_code": zone, "rank": 1}],
        False,
    )
    for data in (designated, recognized, published):
        assert RFC3339_Z.fullmatch(data["meta"]["occurred_at"])
