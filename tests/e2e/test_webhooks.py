"""Webhooks to a real local receiver: signed per Standard Webhooks, retried, disabled by 410, logged."""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from services.common.paging import encode_token
from services.gateway.webhook_docs import delivery_model
from services.platform import Platform, free_port
from tests.e2e.conftest import eventually, issue_key
from tests.e2e.helpers import (
    HISTORY_RECOGNITION,
    RFC3339_Z,
    assert_z_timestamps,
    awards_of,
    create_zone,
    history_years,
    push_csv,
    recognize,
    unique_zone_code,
)
from tests.rest_shape import unlike_rest


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
        # And stop listening: a socket left listening accepts connections that nobody answers, so every later
        # delivery to this URL would hang until the gateway's timeout.
        self.server.server_close()


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


def delivered_data(receiver: Receiver, event_type: str, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The `data` of the first delivery of this type that `match`es, waited for; its `meta` checked and set apart:
    the event's own envelope, which no REST resource has."""

    def find() -> dict[str, Any] | None:
        for _, body in list(receiver.received):
            event = json.loads(body)
            if event["type"] == event_type and match(event["data"]):
                # As the OpenAPI document's `webhooks` declares it: every field, none undeclared.
                delivery_model(event_type).model_validate_json(body)
                found: dict[str, Any] = event["data"]
                return found
        return None

    data = eventually(find, timeout=15)
    assert data is not None, f"no {event_type} delivered"
    assert RFC3339_Z.fullmatch(data["meta"]["occurred_at"])
    return {k: v for k, v in data.items() if k != "meta"}


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
    assert event["data"]["beneficiary"]["code"] == zone and event["data"]["amount_yuan"] == 1_000_000


def test_a_portal_that_never_answers_delays_no_other_portals_delivery(api: httpx.Client, receiver_factory: Any) -> None:
    # Accepts connections (the kernel's backlog does) and never answers: each delivery to it waits the whole
    # webhook timeout, 10 s by default, as an overloaded or broken portal would make it.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        hanging = subscribe(api, silent_url, ["indicators.zone_recognized"])
        receiver = receiver_factory()
        subscribe(api, receiver.url, ["indicators.zone_recognized"])
        try:
            zones = [unique_zone_code("H") for _ in range(3)]
            started = time.monotonic()
            for zone in zones:  # several events at once: the silent portal holds deliveries of each
                create_zone(api, zone)
                recognize(api, zone, "national", "2020-01-02")
            for zone in zones:
                delivered_data(receiver, "indicators.zone_recognized", lambda d, z=zone: d["zone_code"] == z)
            waited = time.monotonic() - started
        finally:
            assert api.delete(f"/v1/webhooks/{hanging['webhook_id']}").status_code == 200
    # Before, every round of sending waited for its slowest delivery: ~10 s here.
    assert waited < 5, f"the other portal's deliveries waited {waited:.1f} s for the silent one"


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

    everything_wrong = api.post(
        "/v1/webhooks", json={"url": "ftp://portal.example/hook", "events": ["*", "zone.exploded"], "secret": "x"}
    )

    assert unknown_event.status_code == bad_secret.status_code == everything_wrong.status_code == 422
    assert [e["location"] for e in unknown_event.json()["errors"]] == [["body", "events", 0]]
    assert "unknown event type 'zone.exploded'" in unknown_event.json()["errors"][0]["message"]
    assert [e["location"] for e in bad_secret.json()["errors"]] == [["body", "secret"]]
    # Every bad field in one answer, not one per round trip.
    assert [e["location"] for e in everything_wrong.json()["errors"]] == [
        ["body", "events", 1],
        ["body", "secret"],
        ["body", "url"],
    ]
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
        [
            "indicators.county_designated",
            "indicators.zone_recognized",
            "indicators.ranking_published",
            "indicators.consequences_determined",
        ],
    )
    county = f"8{secrets.randbelow(10**5):05d}"
    assert api.put(f"/v1/counties/{county}", json={"name": "事件县"}).status_code in (200, 201)
    designation = {"programme": "ip_pilot", "level": "national", "listed_on": "2022-05-01"}
    designated_answer = api.post(f"/v1/counties/{county}/designations", json=designation)
    assert designated_answer.status_code == 201, designated_answer.text
    zone = unique_zone_code("EV")
    create_zone(api, zone)
    recognized_answer = recognize(api, zone, "provincial", HISTORY_RECOGNITION)
    assert recognized_answer.status_code == 201, recognized_answer.text
    [year] = history_years(1)
    ranking = api.put(f"/v1/evaluations/{year}/rankings/provincial", json={"ranks": [{"zone_code": zone, "rank": 1}]})
    assert ranking.status_code in (200, 201), ranking.text

    designated = delivered_data(receiver, "indicators.county_designated", lambda d: d["county_code"] == county)
    recognized = delivered_data(receiver, "indicators.zone_recognized", lambda d: d["zone_code"] == zone)
    published = delivered_data(receiver, "indicators.ranking_published", lambda d: d["year"] == year)
    determined = delivered_data(
        receiver, "indicators.consequences_determined", lambda d: [z["zone_code"] for z in d["zones"]] == [zone]
    )

    # Every key of `data` where the REST answer to the same write has it, with the same value.
    assert unlike_rest(designated, designated_answer.json()) == []
    assert unlike_rest(recognized, recognized_answer.json()) == []
    assert unlike_rest(published, ranking.json()) == []
    consequences = api.get(f"/v1/evaluations/{year}/consequences/provincial")
    assert consequences.status_code == 200, consequences.text
    assert unlike_rest(determined, consequences.json()) == []
    assert set(consequences.json()) - set(determined) == set()  # all of it (the clause less its text)
    assert determined["clause"] == {k: consequences.json()["clause"][k] for k in ("id", "label", "url")}
    [listed] = api.get(f"/v1/counties/{county}").json()["designations"]
    assert {k: designated[k] for k in listed} == listed == designation
    rest_zone = api.get(f"/v1/zones/{zone}").json()
    assert (recognized["level"], recognized["recognized_on"]) == ("provincial", HISTORY_RECOGNITION)
    assert recognized["zone"]["recognitions"] == rest_zone["recognitions"]
    assert unlike_rest(recognized["zone"], rest_zone) == []
    assert (published["level"], published["ranks"], published["replaced"]) == (
        "provincial",
        [{"zone_code": zone, "rank": 1}],
        False,
    )


def test_award_events_read_as_get_awards_writes_the_award(api: httpx.Client, receiver_factory: Any) -> None:
    receiver = receiver_factory()
    subscribe(api, receiver.url, ["rewards.award_granted", "rewards.award_revoked"])
    zone = unique_zone_code("AW")
    create_zone(api, zone)

    assert recognize(api, zone, "provincial", "2023-06-30").status_code == 201
    granted = delivered_data(receiver, "rewards.award_granted", lambda d: d["beneficiary"]["code"] == zone)
    [award] = awards_of(api, zone)
    assert recognize(api, zone, "national", "2020-01-01").status_code == 201  # not a new provincial zone after all
    revoked = delivered_data(receiver, "rewards.award_revoked", lambda d: d["beneficiary"]["code"] == zone)
    [withdrawn] = [a for a in awards_of(api, zone) if a["status"] == "revoked"]

    assert granted["reinstated"] is False  # a first grant; the only field the event has that REST has not
    assert unlike_rest({k: v for k, v in granted.items() if k != "reinstated"}, award) == []
    assert granted["beneficiary"] == {"kind": "zone", "code": zone}
    assert granted["clause"] == {k: award["clause"][k] for k in ("id", "label", "url")}
    assert set(award) - set(granted) == {
        "basis_key",
        "basis",
        "parameters",
        "earmark",
        "explanation",
        "status",
        "granted_at",
        "revoked_at",
        "revocation_reason",
        "history",
    }  # exactly what README says the event leaves to `GET /v1/awards`
    assert unlike_rest(revoked, withdrawn) == []
    assert withdrawn["award_id"] == award["award_id"]
    assert revoked["revocation_reason"] == withdrawn["revocation_reason"]


def test_batch_and_decision_events_read_as_their_rest_answers(api: httpx.Client, receiver_factory: Any) -> None:
    receiver = receiver_factory()
    subscribe(api, receiver.url, ["indicators.indicator_values_accepted", "talent.decision_recorded"])
    zone = unique_zone_code("BD")
    create_zone(api, zone)
    batch = push_csv(api, f"{zone},gdp,2024,5123456.7,统计年报")
    assert batch.status_code == 200, batch.text
    letter = {"issuer_level": "provincial", "issued_on": "2025-11-03", "number": "JS-R-2025-0042"}
    check = {"nationality": "GB", "talent_type": "urgently_needed", "confirmation_letter": letter}
    checked = api.post("/v1/talent/r-visa:check", json=check)
    assert checked.status_code == 200, checked.text
    decision_id = checked.json()["decision_id"]

    accepted = delivered_data(
        receiver, "indicators.indicator_values_accepted", lambda d: d["batch_id"] == batch.json()["batch_id"]
    )
    decided = delivered_data(receiver, "talent.decision_recorded", lambda d: d["decision_id"] == decision_id)

    touched = {k: accepted.pop(k) for k in ("zone_codes", "years", "source")}  # what the batch's answer does not say
    assert unlike_rest(accepted, batch.json()) == []
    assert touched == {"zone_codes": [zone], "years": [2024], "source": "统计年报"}
    decision = api.get(f"/v1/talent/decisions/{decision_id}")
    assert decision.status_code == 200, decision.text
    assert unlike_rest(decided, decision.json()) == []
    assert set(decided) == {"decision_id", "check", "eligible", "outcome", "rule_set_version"}  # no personal data


def recognition_delivered_to(api: httpx.Client, webhook: dict[str, Any], status: str) -> dict[str, Any]:
    """A zone recognised now, and its delivery to `webhook` once it has `status` (waited for)."""
    zone = unique_zone_code("R")
    create_zone(api, zone)
    assert recognize(api, zone, "national", "2020-01-02").status_code == 201
    deliveries = f"/v1/webhooks/{webhook['webhook_id']}/deliveries"

    def found() -> dict[str, Any] | None:
        items = api.get(deliveries, params={"status": status}).json()["items"]
        return items[0] if items else None

    delivery = eventually(found, timeout=20)
    assert delivery is not None, f"no {status} delivery"
    return delivery


def recognition_status(api: httpx.Client, deliveries: str, delivery_id: str, status: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        items = api.get(deliveries, params={"status": status}).json()["items"]
        return next((d for d in items if d["delivery_id"] == delivery_id), None)

    delivery = eventually(found, timeout=15)
    assert delivery is not None, f"{delivery_id} never {status}"
    return delivery


def test_a_failed_delivery_is_sent_again_by_retry_with_its_webhook_id(api: httpx.Client, receiver_factory: Any) -> None:
    receiver = receiver_factory([500, 500, 500])  # every attempt the platform makes (3 in these tests), then 200
    webhook = subscribe(api, receiver.url, ["indicators.zone_recognized"])
    failed = recognition_delivered_to(api, webhook, "failed")
    deliveries = f"/v1/webhooks/{webhook['webhook_id']}/deliveries"
    retry = f"{deliveries}/{failed['delivery_id']}:retry"

    retried = api.post(retry)

    assert retried.status_code == 200, retried.text
    assert retried.json() | {"next_attempt_at": None} == failed | {"status": "pending", "next_attempt_at": None}
    assert retried.json()["next_attempt_at"] is not None
    delivered = recognition_status(api, deliveries, failed["delivery_id"], "delivered")
    assert [(a["attempt"], a["status_code"]) for a in delivered["attempts"]] == [(1, 500), (2, 500), (3, 500), (4, 200)]
    assert len(receiver.received) == 4 and {h["webhook-id"] for h, _ in receiver.received} == {failed["message_id"]}
    Webhook(webhook["secret"]).verify(receiver.received[-1][1], receiver.received[-1][0])
    again = api.post(retry)
    assert (again.status_code, again.json()["code"]) == (409, "delivery_not_retryable")
    assert again.headers["content-type"] == "application/problem+json"
    assert f"delivery {failed['delivery_id']} is delivered" in again.json()["detail"]


def test_retry_refuses_a_pending_delivery_and_one_of_a_disabled_webhook(api: httpx.Client) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts and never answers: attempts last 10 s
        webhook = subscribe(api, f"http://127.0.0.1:{silent.getsockname()[1]}/hook", ["indicators.zone_recognized"])
        pending = recognition_delivered_to(api, webhook, "pending")
        retry = f"/v1/webhooks/{webhook['webhook_id']}/deliveries/{pending['delivery_id']}:retry"

        while_pending = api.post(retry)
        assert api.delete(f"/v1/webhooks/{webhook['webhook_id']}").status_code == 200
        abandoned = api.get(f"/v1/webhooks/{webhook['webhook_id']}/deliveries", params={"status": "abandoned"})
        when_disabled = api.post(retry)

    assert (while_pending.status_code, while_pending.json()["code"]) == (409, "delivery_not_retryable")
    assert f"delivery {pending['delivery_id']} is pending" in while_pending.json()["detail"]
    assert [d["delivery_id"] for d in abandoned.json()["items"]] == [pending["delivery_id"]]
    assert (when_disabled.status_code, when_disabled.json()["code"]) == (409, "webhook_disabled")
    assert f"webhook {webhook['webhook_id']} is disabled (disabled by key" in when_disabled.json()["detail"]
    assert f"POST /v1/webhooks/{webhook['webhook_id']}:enable" in when_disabled.json()["detail"]


def test_a_disabled_webhook_enabled_again_sends_its_abandoned_delivery_on_retry(
    api: httpx.Client, receiver_factory: Any
) -> None:
    receiver = receiver_factory([410])  # Gone: abandoned, and the subscription disabled
    webhook = subscribe(api, receiver.url, ["indicators.zone_recognized"])
    abandoned = recognition_delivered_to(api, webhook, "abandoned")
    path = f"/v1/webhooks/{webhook['webhook_id']}"
    assert api.get(path).json()["disabled_reason"] == "the receiver answered 410 Gone"

    enabled = api.post(f"{path}:enable")
    retried = api.post(f"{path}/deliveries/{abandoned['delivery_id']}:retry")

    assert enabled.status_code == 200, enabled.text
    assert (enabled.json()["disabled_at"], enabled.json()["disabled_reason"]) == (None, None)
    assert api.get(path).json()["disabled_at"] is None
    assert retried.status_code == 200, retried.text
    delivered = recognition_status(api, f"{path}/deliveries", abandoned["delivery_id"], "delivered")
    assert [(a["attempt"], a["status_code"]) for a in delivered["attempts"]] == [(1, 410), (2, 200)]
    again = api.post(f"{path}:enable")  # already active: nothing changes
    assert (again.status_code, again.json()["disabled_at"]) == (200, None)
    assert api.post(f"/v1/webhooks/wh_{'0' * 24}:enable").status_code == 404


def test_retry_of_an_unknown_webhook_or_delivery_is_404(api: httpx.Client, receiver_factory: Any) -> None:
    webhook = subscribe(api, receiver_factory().url, ["indicators.zone_recognized"])
    other = subscribe(api, receiver_factory().url, ["indicators.zone_recognized"])
    delivered = recognition_delivered_to(api, other, "delivered")
    no_webhook = "wh_" + "0" * 24

    replies = {
        "unknown webhook": api.post(f"/v1/webhooks/{no_webhook}/deliveries/{delivered['delivery_id']}:retry"),
        "unknown delivery": api.post(f"/v1/webhooks/{webhook['webhook_id']}/deliveries/dlv_{'0' * 32}:retry"),
        "another webhook's": api.post(
            f"/v1/webhooks/{webhook['webhook_id']}/deliveries/{delivered['delivery_id']}:retry"
        ),
    }
    malformed = api.post(f"/v1/webhooks/{webhook['webhook_id']}/deliveries/nothere:retry")

    assert {name: r.status_code for name, r in replies.items()} == dict.fromkeys(replies, 404)
    assert all(r.json()["code"] == "not_found" for r in replies.values())
    assert malformed.status_code == 422
    assert [e["location"] for e in malformed.json()["errors"]] == [["path", "delivery_id"]]


def test_one_webhook_reads_as_listed_and_after_delete_as_disabled(api: httpx.Client, receiver_factory: Any) -> None:
    created = subscribe(api, receiver_factory().url, ["rewards.award_granted"])
    path = f"/v1/webhooks/{created['webhook_id']}"

    read = api.get(path)
    listed = next(w for w in api.get("/v1/webhooks").json()["items"] if w["webhook_id"] == created["webhook_id"])
    disabled = api.delete(path).json()
    read_after = api.get(path)
    unknown = api.get("/v1/webhooks/wh_" + "f" * 24)

    assert read.status_code == 200
    assert read.json() == listed == {k: v for k, v in created.items() if k != "secret"}
    assert "secret" not in read.json()
    assert (read_after.status_code, read_after.json()) == (200, disabled)
    assert read_after.json()["disabled_at"] is not None
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")


def test_deliveries_filter_by_status_and_refuse_an_unknown_one(api: httpx.Client, receiver_factory: Any) -> None:
    webhook = subscribe(api, receiver_factory([500, 500, 500]).url, ["indicators.zone_recognized"])
    failed = recognition_delivered_to(api, webhook, "failed")
    delivered = recognition_delivered_to(api, webhook, "delivered")  # the receiver answers 200 from then on
    deliveries = f"/v1/webhooks/{webhook['webhook_id']}/deliveries"

    by_status = {
        status: [d["delivery_id"] for d in api.get(deliveries, params={"status": status}).json()["items"]]
        for status in ("pending", "delivered", "failed", "abandoned")
    }
    everything = [d["delivery_id"] for d in api.get(deliveries).json()["items"]]
    unknown = api.get(deliveries, params={"status": "lost"})

    assert by_status == {
        "pending": [],
        "delivered": [delivered["delivery_id"]],
        "failed": [failed["delivery_id"]],
        "abandoned": [],
    }
    assert everything == [delivered["delivery_id"], failed["delivery_id"]]
    assert unknown.status_code == 422
    assert [e["location"] for e in unknown.json()["errors"]] == [["query", "status"]]


def test_the_openapi_document_declares_the_webhook_routes_with_their_problems(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    retry = spec["paths"]["/v1/webhooks/{webhook_id}/deliveries/{delivery_id}:retry"]["post"]
    one = spec["paths"]["/v1/webhooks/{webhook_id}"]["get"]
    listed = spec["paths"]["/v1/webhooks/{webhook_id}/deliveries"]["get"]

    assert retry["security"] == one["security"] == listed["security"] == [{"HTTPBearer": ["admin"]}]
    assert retry["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Delivery"
    }
    assert retry["responses"]["404"]["description"] == "no webhook with this id, or it has no delivery with this id"
    assert (
        retry["responses"]["409"]["description"] == "the delivery is delivered or pending, or the webhook is disabled"
    )
    assert one["responses"]["404"]["description"] == "no webhook with this id"
    assert all(retry["responses"][s]["content"] == problem for s in ("404", "409", "422"))
    assert one["responses"]["404"]["content"] == problem
    [status] = [p for p in listed["parameters"] if p["name"] == "status"]
    assert status["in"] == "query" and not status["required"]
    assert {"enum": ["pending", "delivered", "failed", "abandoned"], "type": "string"} in status["schema"]["anyOf"]
    attempt = spec["components"]["schemas"]["Attempt"]["properties"]
    assert attempt["at"]["description"] == "when the attempt started (it ended `duration_ms` later)"


def test_a_malformed_webhook_id_is_a_422_on_every_route_and_a_403_without_the_scope(
    api: httpx.Client, platform: Platform
) -> None:
    reader = issue_key(platform, "read")
    routes = [
        ("GET", "/v1/webhooks/bogus"),
        ("DELETE", "/v1/webhooks/bogus"),
        ("GET", "/v1/webhooks/bogus/deliveries"),
        ("POST", "/v1/webhooks/bogus:enable"),
    ]
    for method, path in routes:
        admin = api.request(method, path)
        forbidden = httpx.request(
            method, f"{platform.gateway_url}{path}", headers={"Authorization": f"Bearer {reader}"}, trust_env=False
        )

        assert (admin.status_code, admin.json()["errors"][0]["location"]) == (422, ["path", "webhook_id"]), path
        assert forbidden.status_code == 403, path
    assert api.get("/v1/webhooks/wh_000000000000000000000000:enable").status_code == 405
