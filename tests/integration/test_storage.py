"""Storage behaviour every service relies on, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, func, select

from services.common.convert import ZoneLevel
from services.common.db import make_engine, reading, transaction
from services.common.migrate import alembic_config
from services.gateway import store as gateway_store
from services.gateway.store import IdempotencyRecord
from services.indicators import store as indicators_store
from services.indicators.domain.registry import Recognition
from services.rewards import store as rewards_store
from services.rewards.domain.parameters import ParameterTable
from services.rewards.domain.rules import AwardDecision, RecognitionFact, new_provincial_zone


def migrated(service: str, url: str) -> Engine:
    command.upgrade(alembic_config(service, url), "head")  # type: ignore[arg-type]
    return make_engine(url)


def test_award_key_admits_one_award_per_rule_beneficiary_basis(database_url: str) -> None:
    engine = migrated("rewards", database_url)
    decision = new_provincial_zone("GN-1", [RecognitionFact(date(2022, 6, 30), ZoneLevel.PROVINCIAL)], ParameterTable())
    assert isinstance(decision, AwardDecision)

    with transaction(engine) as conn:
        first = rewards_store.grant(conn, decision, "evt-1")
    with transaction(engine) as conn:
        second = rewards_store.grant(conn, decision, "evt-2")

    with reading(engine) as conn:
        rows = conn.execute(select(rewards_store.awards)).all()
    assert first is not None and second is None
    assert [(r.award_id, r.amount_yuan, r.source_event_id) for r in rows] == [(first, 1_000_000, "evt-1")]
    engine.dispose()


def test_zone_round_trip_keeps_chinese_names_parks_and_recognitions_in_order(database_url: str) -> None:
    engine = migrated("indicators", database_url)
    with transaction(engine) as conn:
        indicators_store.upsert_county(conn, "320706", "海州区")
        created = indicators_store.upsert_zone(conn, "LYG", "连云港高新区", "320706", ["一园", "二园"])
        again = indicators_store.upsert_zone(conn, "LYG", "连云港高新技术产业开发区", "320706", ["一园"])
        indicators_store.add_recognition(conn, "LYG", Recognition(date(2015, 2, 16), ZoneLevel.NATIONAL))
        indicators_store.add_recognition(conn, "LYG", Recognition(date(1997, 6, 1), ZoneLevel.PROVINCIAL))

    with reading(engine) as conn:
        zone = indicators_store.get_zone(conn, "LYG")
    assert (created, again) == (True, False)
    assert zone is not None
    assert (zone.name, zone.parks) == ("连云港高新技术产业开发区", ["一园"])
    assert [r.level for r in zone.recognitions] == [ZoneLevel.PROVINCIAL, ZoneLevel.NATIONAL]
    engine.dispose()


def test_the_gateway_secret_is_generated_once_and_shared_by_every_engine(database_url: str) -> None:
    # Two engines on one database stand for two gateway replicas: both read the secret the first one generated.
    first, second = migrated("gateway", database_url), make_engine(database_url)
    with transaction(first) as conn:
        made = gateway_store.gateway_secret(conn, "page_tokens")
    with transaction(second) as conn:
        read = gateway_store.gateway_secret(conn, "page_tokens")
        other = gateway_store.gateway_secret(conn, "another")

    assert made == read and len(made) == 32
    assert other != made
    first.dispose()
    second.dispose()


LEASE = timedelta(minutes=3)


def claim(engine: Engine, key: str, request_hash: str, claim_id: str, now: datetime) -> IdempotencyRecord | None:
    """Claim `key` of API key k1 at `now` (as a gateway would then), under a lease of 3 minutes."""
    with transaction(engine) as conn:
        return gateway_store.claim_idempotency_key(
            conn, "k1", key, request_hash, claim_id=claim_id, lease=LEASE, now=now
        )


def test_idempotency_key_is_claimed_once_then_replayed(database_url: str) -> None:
    engine = migrated("gateway", database_url)
    now = datetime.now(UTC)
    first = claim(engine, "idem", "hash-a", "c1", now)
    in_progress = claim(engine, "idem", "hash-a", "c2", now)
    with transaction(engine) as conn:
        gateway_store.complete_idempotency_key(
            conn, "k1", "idem", "c1", 201, b'{"ok":true}', "application/json", {"content-location": "/v1/things/1"}
        )
    done = claim(engine, "idem", "hash-a", "c3", now)
    with transaction(engine) as conn:
        other_key = gateway_store.claim_idempotency_key(conn, "k2", "idem", "hash-b", claim_id="c4", lease=LEASE)

    assert first is None and other_key is None  # keys are scoped per API key
    assert in_progress is not None and in_progress.status_code is None and in_progress.claimed_at == now
    assert done == gateway_store.IdempotencyRecord(
        "hash-a", 201, b'{"ok":true}', "application/json", {"content-location": "/v1/things/1"}
    )
    engine.dispose()


def test_a_claim_left_in_progress_past_its_lease_is_taken_over_by_the_same_request_once(database_url: str) -> None:
    engine = migrated("gateway", database_url)
    start = datetime.now(UTC) - timedelta(hours=1)
    assert claim(engine, "idem", "hash-a", "crashed", start) is None  # its process then dies

    within = claim(engine, "idem", "hash-a", "early", start + LEASE - timedelta(seconds=1))
    other_request = claim(engine, "idem", "hash-b", "other", start + LEASE + timedelta(seconds=1))
    taken = claim(engine, "idem", "hash-a", "retry", start + LEASE + timedelta(seconds=1))
    racing = claim(engine, "idem", "hash-a", "racer", start + LEASE + timedelta(seconds=2))
    with transaction(engine) as conn:  # the first, had it only been slow, can no longer store or drop anything
        gateway_store.complete_idempotency_key(conn, "k1", "idem", "crashed", 500, b"stale", "text/plain")
        gateway_store.release_idempotency_key(conn, "k1", "idem", "crashed")
    still_running = claim(engine, "idem", "hash-a", "later", start + LEASE + timedelta(seconds=3))
    with transaction(engine) as conn:
        gateway_store.complete_idempotency_key(conn, "k1", "idem", "retry", 201, b"{}", "application/json")
    replayed = claim(engine, "idem", "hash-a", "last", start + LEASE + timedelta(seconds=4))

    assert within is not None and (within.status_code, within.claimed_at) == (None, start)
    assert other_request is not None and other_request.request_hash == "hash-a"  # another request never takes over
    assert taken is None
    assert racing is not None and (racing.status_code, racing.claimed_at) == (
        None,
        start + LEASE + timedelta(seconds=1),
    )
    assert still_running is not None and still_running.status_code is None
    assert replayed == gateway_store.IdempotencyRecord("hash-a", 201, b"{}", "application/json", {})
    engine.dispose()


def test_a_refusal_stored_by_an_earlier_version_is_not_replayed(database_url: str) -> None:
    engine = migrated("gateway", database_url)
    now = datetime.now(UTC)
    claim(engine, "idem", "hash-a", "c1", now - timedelta(minutes=5))
    with transaction(engine) as conn:  # as the gateway stored 404 and 409 answers until they stopped being replayed
        gateway_store.complete_idempotency_key(conn, "k1", "idem", "c1", 404, b'{"status":404}', "application/json")

    again = claim(engine, "idem", "hash-a", "c2", now)

    assert again is None  # claimed afresh: the request runs
    engine.dispose()


def test_idempotency_record_stored_before_headers_were_kept_still_replays(database_url: str) -> None:
    config = alembic_config("gateway", database_url)  # type: ignore[arg-type]
    command.upgrade(config, "gat0003")
    engine = make_engine(database_url)
    with transaction(engine) as conn:
        conn.execute(
            gateway_store.idempotency_records.insert(),
            # Only the columns gat0003 had.
            {
                "key_id": "k1",
                "idempotency_key": "old",
                "request_hash": "hash-a",
                "status_code": 201,
                "response_body": b'{"ok":true}',
                "content_type": "application/json",
                "created_at": datetime.now(UTC),
            },
        )
    command.upgrade(config, "head")

    earlier = claim(engine, "old", "hash-a", "c1", datetime.now(UTC))

    assert earlier == gateway_store.IdempotencyRecord("hash-a", 201, b'{"ok":true}', "application/json", {})
    engine.dispose()


def test_webhook_deliveries_page_newest_first_through_ties_in_created_at(database_url: str) -> None:
    engine = migrated("gateway", database_url)
    with transaction(engine) as conn:
        gateway_store.add_webhook(conn, "wh_1", "https://portal.example/hook", ["*"], "whsec_x", "k1")
        for n in range(7):
            gateway_store.stage_deliveries(conn, "rewards.award_granted", f"event-{n}", b"{}")
        # Deliveries staged in one moment (one event batch) share created_at: the id breaks the tie.
        tied = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
        rows = gateway_store.webhook_deliveries
        ids = [r.delivery_id for r in conn.execute(select(rows.c.delivery_id).order_by(rows.c.delivery_id))]
        conn.execute(rows.update().where(rows.c.delivery_id.in_(ids[2:6])).values(created_at=tied))
    with reading(engine) as conn:
        everything = gateway_store.list_deliveries(conn, "wh_1", 100)
        pages, before = [], None
        while page := gateway_store.list_deliveries(conn, "wh_1", 3, before):
            pages.append([d["delivery_id"] for d in page])
            before = (page[-1]["created_at"], page[-1]["delivery_id"])

    assert [len(p) for p in pages] == [3, 3, 1]
    assert [d for p in pages for d in p] == [d["delivery_id"] for d in everything]
    assert sorted(d["delivery_id"] for d in everything) == ids
    keys = [(d["created_at"], d["delivery_id"]) for d in everything]
    assert keys == sorted(keys, reverse=True)
    engine.dispose()


def test_due_deliveries_leave_out_those_being_sent_and_the_webhooks_already_busy(database_url: str) -> None:
    """A backlog of one portal's deliveries must not fill the dispatcher's query and hide everyone else's."""
    engine = migrated("gateway", database_url)
    with transaction(engine) as conn:
        gateway_store.add_webhook(conn, "wh_busy", "https://busy.example/hook", ["*"], "whsec_x", "k1")
        for n in range(10):
            gateway_store.stage_deliveries(conn, "rewards.award_granted", f"early-{n}", b"{}")
        gateway_store.add_webhook(conn, "wh_other", "https://other.example/hook", ["*"], "whsec_y", "k1")
        gateway_store.stage_deliveries(conn, "rewards.award_granted", "late", b"{}")
    later = datetime.now(UTC) + timedelta(seconds=1)
    with reading(engine) as conn:
        oldest_first = gateway_store.due_deliveries(conn, later, 5)
        sending = {d.delivery_id for d in oldest_first[:2]}
        without_sending = gateway_store.due_deliveries(conn, later, 20, sending)
        without_busy = gateway_store.due_deliveries(conn, later, 5, sending, {"wh_busy"})

    assert {d.webhook_id for d in oldest_first} == {"wh_busy"}  # ten of the busy portal's come first
    assert len(without_sending) == 10 and not sending & {d.delivery_id for d in without_sending}
    assert [(d.webhook_id, d.message_id) for d in without_busy] == [("wh_other", "late")]
    engine.dispose()


def test_only_a_failed_or_abandoned_delivery_of_an_active_webhook_is_made_pending_again(database_url: str) -> None:
    engine = migrated("gateway", database_url)
    now = datetime.now(UTC)
    with transaction(engine) as conn:
        for webhook in ("wh_on", "wh_off"):
            gateway_store.add_webhook(conn, webhook, f"https://{webhook}.example/hook", ["*"], "whsec_x", "k1")
        gateway_store.stage_deliveries(conn, "rewards.award_granted", "event-1", b"{}")
        by_webhook = {d.webhook_id: d for d in gateway_store.due_deliveries(conn, now + timedelta(seconds=1), 10)}
        on, off = by_webhook["wh_on"], by_webhook["wh_off"]
        gateway_store.record_attempt(conn, on, now, 500, "HTTP 500", 3, "failed", None)
        gateway_store.disable_webhook(conn, "wh_off", "disabled by key k1")  # its pending delivery: abandoned

    with transaction(engine) as conn:
        retried = gateway_store.retry_delivery(conn, "wh_on", on.delivery_id)
        again = gateway_store.retry_delivery(conn, "wh_on", on.delivery_id)  # pending now
        disabled = gateway_store.retry_delivery(conn, "wh_off", off.delivery_id)
        elsewhere = gateway_store.retry_delivery(conn, "wh_off", on.delivery_id)  # another webhook's delivery
    with reading(engine) as conn:
        found = gateway_store.get_delivery(conn, "wh_on", on.delivery_id)
        still = gateway_store.get_delivery(conn, "wh_off", off.delivery_id)
        due = gateway_store.due_deliveries(conn, datetime.now(UTC) + timedelta(seconds=1), 10)

    assert retried is not None and (again, disabled, elsewhere) == (None, None, None)
    assert found is not None and (found["status"], found["next_attempt_at"]) == ("pending", retried)
    assert [a["attempt"] for a in found["attempts"]] == [1]
    assert still is not None and still["status"] == "abandoned"
    assert [(d.delivery_id, d.attempts) for d in due] == [(on.delivery_id, 1)]  # attempt 2 comes next
    engine.dispose()


def test_an_attempt_settled_after_its_delivery_was_abandoned_keeps_it_abandoned(database_url: str) -> None:
    engine = migrated("gateway", database_url)
    now = datetime.now(UTC)
    with transaction(engine) as conn:
        gateway_store.add_webhook(conn, "wh_1", "https://portal.example/hook", ["*"], "whsec_x", "k1")
        gateway_store.stage_deliveries(conn, "rewards.award_granted", "event-1", b"{}")
        [delivery] = gateway_store.due_deliveries(conn, now + timedelta(seconds=1), 10)
        gateway_store.disable_webhook(conn, "wh_1", "disabled by key k1")  # while the attempt is under way
        settled = gateway_store.record_attempt(conn, delivery, now, 503, "HTTP 503", 9, "pending", now)
    with reading(engine) as conn:
        found = gateway_store.get_delivery(conn, "wh_1", delivery.delivery_id)

    assert settled == "abandoned"
    assert found is not None and (found["status"], found["next_attempt_at"]) == ("abandoned", None)
    assert [(a["attempt"], a["at"], a["status_code"]) for a in found["attempts"]] == [(1, now, 503)]
    engine.dispose()


@pytest.mark.parametrize("writers", [4])
def test_concurrent_writers_all_commit(database_url: str, writers: int) -> None:
    """SQLite's BEGIN IMMEDIATE makes writers queue instead of failing with 'database is locked'."""
    from concurrent.futures import ThreadPoolExecutor

    engine = migrated("indicators", database_url)
    with transaction(engine) as conn:
        indicators_store.upsert_county(conn, "320706", "海州区")

    def write(i: int) -> None:
        for j in range(10):
            with transaction(engine) as conn:
                indicators_store.get_zone(conn, f"Z{i}-{j}")  # read first, then write: the upgrade case
                indicators_store.upsert_zone(conn, f"Z{i}-{j}", "区", "320706", [])

    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(write, range(writers)))
    with reading(engine) as conn:
        count = conn.execute(select(func.count()).select_from(indicators_store.zones)).scalar_one()
    assert count == writers * 10
    engine.dispose()
