"""The award ledger and its consumers against real databases (SQLite and PostgreSQL).

Events are applied the way the consumer applies them (EventConsumer.apply: inbox row and effect in one
transaction); NATS itself is covered in test_outbox_inbox.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import permutations
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from gaoxin.events.v1 import events_pb2
from gaoxin.types.v1 import types_pb2
from sqlalchemy import Engine, select

from services.common.bus import Bus
from services.common.convert import ZoneLevel, date_to_pb, level_to_pb
from services.common.db import make_engine, reading, transaction
from services.common.inbox import EventConsumer, Prepared, Subscription
from services.common.migrate import alembic_config
from services.rewards import ledger, metrics, store
from services.rewards.domain.parameters import ParameterTable, ParameterVersion
from services.rewards.domain.rules import AwardDecision, RankFact, RecognitionFact, new_provincial_zone
from services.rewards.events import (
    COUNTY_DESIGNATED,
    RANKING_PUBLISHED,
    ZONE_RECOGNIZED,
    RankHistories,
    on_county_designated,
    on_ranking_published,
    on_zone_recognized,
)

N, P = ZoneLevel.NATIONAL, ZoneLevel.PROVINCIAL


def migrated(url: str) -> Engine:
    command.upgrade(alembic_config("rewards", url), "head")
    return make_engine(url)


class NoSource:
    async def rank_histories(self, zone_codes: Sequence[str]) -> dict[str, list[RankFact]]:
        raise AssertionError("these tests hand the histories to the handler themselves")


class Ledger:
    """The rewards consumers over one database, fed events by hand."""

    def __init__(self, engine: Engine) -> None:
        bus = Bus("nats://127.0.0.1:1", "unused")
        self.engine = engine
        self.consumers = {
            sub.subject: EventConsumer(engine, store.inbox, bus, sub)
            for sub in (on_zone_recognized(), on_county_designated(), on_ranking_published(NoSource(), engine))
        }

    def _deliver(self, subject: str, event: Any, histories: dict[str, list[RankFact]] | None = None) -> bool:
        if not event.meta.event_id:
            event.meta.event_id = str(uuid.uuid4())
        consumer = self.consumers[subject]
        handler = consumer.sub.handler
        if isinstance(handler, Prepared):
            context = RankHistories(histories or {})
            prepared = handler

            def handler(conn: Any, s: str, p: bytes) -> None:
                prepared.handler(conn, s, p, context)

        return consumer.apply(event.meta.event_id, subject, event.SerializeToString(), handler)

    def recognize(self, zone: str, *history: tuple[ZoneLevel, str], event_id: str = "") -> bool:
        recognitions = [
            types_pb2.Recognition(level=level_to_pb(level), recognized_on=date_to_pb(date.fromisoformat(on)))
            for level, on in history
        ]
        event = events_pb2.ZoneRecognized(zone_code=zone, recognition=recognitions[-1], history=recognitions)
        event.meta.event_id = event_id
        return self._deliver(ZONE_RECOGNIZED, event)

    def designate(self, county: str, programme: str, level: ZoneLevel, on: str, event_id: str = "") -> bool:
        event = events_pb2.CountyDesignated(
            county_code=county,
            programme=programme,
            level=level_to_pb(level),
            listed_on=date_to_pb(date.fromisoformat(on)),
        )
        event.meta.event_id = event_id
        return self._deliver(COUNTY_DESIGNATED, event)

    def publish_ranking(
        self,
        year: int,
        level: ZoneLevel,
        ranks: dict[str, int],
        histories: dict[str, list[RankFact]],
        replaced: bool = False,
        dropped: Iterable[str] = (),
        event_id: str = "",
    ) -> bool:
        event = events_pb2.RankingPublished(
            year=year,
            level=level_to_pb(level),
            ranks=[events_pb2.RankingPublished.Entry(zone_code=z, rank=r) for z, r in ranks.items()],
            replaced=replaced,
            dropped_zone_codes=list(dropped),
        )
        event.meta.event_id = event_id
        return self._deliver(RANKING_PUBLISHED, event, histories)

    def awards(self, status: str | None = None) -> list[Any]:
        with reading(self.engine) as conn:
            return store.list_awards(conn, store.AwardFilter(status=status), 0, 10_000)

    def granted(self) -> set[tuple[str, str, str, int]]:
        return {(a.rule, a.beneficiary_code, a.basis_key, a.amount_yuan) for a in self.awards("granted")}

    def outbox_subjects(self) -> list[str]:
        with reading(self.engine) as conn:
            return list(conn.execute(select(store.outbox.c.subject).order_by(store.outbox.c.seq)).scalars())


def rankings(*years: tuple[int, ZoneLevel, dict[str, int]]) -> dict[str, list[RankFact]]:
    """Rank histories by zone, as the indicators service reports them, from whole rankings."""
    histories: dict[str, list[RankFact]] = {}
    for year, level, ranks in years:
        for zone, rank in ranks.items():
            histories.setdefault(zone, []).append(RankFact(year, level, rank))
    return histories


def legacy_grant(conn: Any, decision: AwardDecision, source: str, **values: Any) -> str:
    """An award row as the ledger wrote it before rew0003 (no history); `values` overrides columns."""
    award_id = str(uuid.uuid4())
    row = {
        "award_id": award_id,
        "rule": decision.rule,
        "beneficiary_kind": decision.beneficiary_kind,
        "beneficiary_code": decision.beneficiary_code,
        "basis_key": decision.basis_key,
        "year": decision.year,
        "amount_yuan": decision.amount_yuan,
        "status": store.GRANTED,
        "basis": decision.basis,
        "clause": decision.clause,
        "parameters": store.parameters_json(decision.parameters),
        "earmark": decision.earmark,
        "explanation": decision.explanation,
        "source_event_id": source,
        "granted_at": datetime.now(UTC),
        **values,
    }
    conn.execute(store.awards.insert().values(**row))
    return award_id


# ------------------------------------------------------------------------------------------------ storage


def test_unique_key_binds_only_granted_awards_so_a_revoked_one_can_be_granted_again(database_url: str) -> None:
    engine = migrated(database_url)
    decision = new_provincial_zone("GN-1", [RecognitionFact(date(2022, 6, 30), P)], ParameterTable())
    assert isinstance(decision, AwardDecision)

    with transaction(engine) as conn:
        first = store.grant(conn, decision, "evt-1")
        duplicate = store.grant(conn, decision, "evt-2")
    with transaction(engine) as conn:
        assert first is not None and store.revoke(conn, first, "basis gone", "evt-3")
        assert not store.revoke(conn, first, "again", "evt-4")
        second = store.grant(conn, decision, "evt-5")
        third = store.grant(conn, decision, "evt-6")

    with reading(engine) as conn:
        rows = conn.execute(select(store.awards).order_by(store.awards.c.seq)).all()
    assert duplicate is None and third is None and second is not None
    assert [(r.award_id, r.status, r.revocation_reason, r.revoked_by) for r in rows] == [
        (first, "revoked", "basis gone", "evt-3"),
        (second, "granted", None, None),
    ]
    engine.dispose()


def test_migration_keeps_earlier_awards_justified_by_backfilling_their_recognition(database_url: str) -> None:
    config = alembic_config("rewards", database_url)
    command.upgrade(config, "rew0001")
    engine = make_engine(database_url)
    decision = new_provincial_zone("OLD-1", [RecognitionFact(date(2022, 6, 30), P)], ParameterTable())
    assert isinstance(decision, AwardDecision)
    with transaction(engine) as conn:
        legacy_grant(conn, decision, "evt-old")

    command.upgrade(config, "head")
    with transaction(engine) as conn:
        applied = ledger.reconcile(conn, rule="new_provincial_zone", codes=None, trigger="t", source="s")

    with reading(engine) as conn:
        facts = store.recognitions(conn, ["OLD-1"])
    assert facts == {"OLD-1": [RecognitionFact(date(2022, 6, 30), P)]}
    assert applied.granted == applied.revoked == []
    engine.dispose()


# ------------------------------------------------------------------------------------ recognitions, pilots


def test_recognition_event_grants_once_even_redelivered_and_announces_the_award(database_url: str) -> None:
    book = Ledger(migrated(database_url))

    assert book.recognize("GN-1", (P, "2022-06-30"), event_id="e1") is True
    assert book.recognize("GN-1", (P, "2022-06-30"), event_id="e1") is False  # redelivered: the inbox stops it
    book.recognize("GN-1", (P, "2022-06-30"), event_id="e2")  # replayed under a new id: nothing new to grant

    assert book.granted() == {("new_provincial_zone", "GN-1", "first_recognition", 1_000_000)}
    assert book.outbox_subjects() == ["gaoxin.rewards.award_granted.v1"]
    book.engine.dispose()


def test_earlier_dated_national_recognition_revokes_the_new_provincial_zone_award(database_url: str) -> None:
    book = Ledger(migrated(database_url))
    book.recognize("Z", (P, "2022-06-30"))

    book.recognize("Z", (N, "2020-01-01"), (P, "2022-06-30"))  # pushed late, dated earlier

    revoked = book.awards("revoked")
    assert book.granted() == set()
    assert len(revoked) == 1
    assert revoked[0].revocation_reason == (
        "recognition of zone Z (provincial on 2022-06-30) recorded: the zone was first recognised national, "
        "not provincial"
    )
    assert book.outbox_subjects() == ["gaoxin.rewards.award_granted.v1", "gaoxin.rewards.award_revoked.v1"]
    book.engine.dispose()


def test_two_listings_of_one_county_in_one_year_in_any_order_grant_two_awards(database_url: str) -> None:
    engine = migrated(database_url)
    listings = [
        ("innovation_pilot", N, "2022-03-01"),
        ("ip_pilot", N, "2022-05-01"),
        ("ip_pilot", N, "2022-05-01"),  # the same listing delivered twice
        ("ip_demonstration", P, "2021-04-11"),  # the day before the policy: nothing
    ]
    outcomes = set()
    for i, order in enumerate(permutations(listings)):
        county = f"{320700 + i:06d}"
        book = Ledger(engine)
        for programme, level, on in order:
            book.designate(county, programme, level, on)
        outcomes.add(frozenset((rule, key, amount) for rule, code, key, amount in book.granted() if code == county))
    assert outcomes == {
        frozenset(
            {("pilot_county", "innovation_pilot:national", 500_000), ("pilot_county", "ip_pilot:national", 500_000)}
        )
    }
    engine.dispose()


# ------------------------------------------------------------------------------------------------ rankings


def test_ranking_grants_advances_of_three_not_two_and_nothing_in_the_first_year(database_url: str) -> None:
    book = Ledger(migrated(database_url))
    r2021 = (2021, N, {"A": 10, "B": 9, "C": 4})
    r2022 = (2022, N, {"A": 7, "B": 7, "C": 1, "NEW": 2})

    book.publish_ranking(2021, N, r2021[2], rankings(r2021))
    book.publish_ranking(2022, N, r2022[2], rankings(r2021, r2022))

    assert book.granted() == {
        ("rank_advance", "A", "2022:national", 1_000_000),
        ("rank_advance", "C", "2022:national", 1_000_000),
    }
    award = next(a for a in book.awards() if a.beneficiary_code == "A")
    assert award.basis == {
        "zone_code": "A",
        "year": "2022",
        "level": "national",
        "rank": "7",
        "historical_best": "10",
        "advance": "3",
    }
    assert award.earmark == "service_capacity_building"
    assert "前进 3 位以上" in award.explanation
    book.engine.dispose()


def test_corrected_ranking_revokes_what_no_longer_holds_and_grants_later_years_it_changes(database_url: str) -> None:
    book = Ledger(migrated(database_url))
    r2021 = (2021, P, {"A": 10, "B": 5})
    r2022 = (2022, P, {"A": 7, "B": 6})  # A advances 3: award
    r2023 = (2023, P, {"A": 5, "B": 2})  # A: best 7 → advance 2, none; B: best 5 → advance 3, award
    book.publish_ranking(2021, P, r2021[2], rankings(r2021))
    book.publish_ranking(2022, P, r2022[2], rankings(r2021, r2022))
    book.publish_ranking(2023, P, r2023[2], rankings(r2021, r2022, r2023))
    assert book.granted() == {
        ("rank_advance", "A", "2022:provincial", 500_000),
        ("rank_advance", "B", "2023:provincial", 500_000),
    }

    fixed_2022 = (2022, P, {"A": 8, "B": 6})  # A's 2022 corrected: advance 2 in 2022, but 2023 advances 3 on 8
    book.publish_ranking(2022, P, fixed_2022[2], rankings(r2021, fixed_2022, r2023), replaced=True)

    assert book.granted() == {
        ("rank_advance", "A", "2023:provincial", 500_000),
        ("rank_advance", "B", "2023:provincial", 500_000),
    }
    [revoked] = book.awards("revoked")
    assert (revoked.beneficiary_code, revoked.basis_key) == ("A", "2022:provincial")
    assert revoked.revocation_reason == (
        "ranking 2022 provincial republished: rank 8 in 2022 against a historical best of 10 (2021): an advance of "
        "2, fewer than 3 places"
    )
    assert book.outbox_subjects().count("gaoxin.rewards.award_revoked.v1") == 1
    book.engine.dispose()


def test_zone_dropped_from_a_republished_ranking_loses_its_award(database_url: str) -> None:
    book = Ledger(migrated(database_url))
    r2021, r2022 = (2021, N, {"A": 9, "B": 3}), (2022, N, {"A": 1, "B": 2})
    book.publish_ranking(2021, N, r2021[2], rankings(r2021))
    book.publish_ranking(2022, N, r2022[2], rankings(r2021, r2022))
    assert ("rank_advance", "A", "2022:national", 1_000_000) in book.granted()

    without_a = (2022, N, {"B": 2})
    book.publish_ranking(2022, N, without_a[2], rankings(r2021, without_a), replaced=True, dropped=["A"])

    assert book.granted() == set()
    [revoked] = book.awards("revoked")
    assert revoked.revocation_reason == (
        "ranking 2022 national republished: the facts no longer include its basis (2022:national)"
    )
    book.engine.dispose()


def test_rankings_arriving_out_of_order_or_twice_end_in_the_same_ledger(database_url: str) -> None:
    engine = migrated(database_url)
    r2021, r2022, r2023 = (2021, N, {"A": 12}), (2022, N, {"A": 9}), (2023, N, {"A": 5})
    final = rankings(r2021, r2022, r2023)
    ledgers = set()
    for i, order in enumerate(permutations([r2021, r2022, r2023, r2022])):
        zone = f"A{i}"
        book = Ledger(engine)
        for year, level, ranks in order:
            # Whatever the order of delivery, each prepare step reads the histories as they are by then: here,
            # all three rankings have been published before the first event is consumed.
            book.publish_ranking(year, level, {zone: ranks["A"]}, {zone: final["A"]})
        ledgers.add(frozenset((key, amount) for rule, code, key, amount in book.granted() if code == zone))
    assert ledgers == {frozenset({("2022:national", 1_000_000), ("2023:national", 1_000_000)})}
    engine.dispose()


def test_parameter_version_added_later_keeps_granted_awards_with_the_versions_they_used(database_url: str) -> None:
    book = Ledger(migrated(database_url))
    r2021, r2022 = (2021, N, {"A": 10}), (2022, N, {"A": 7})
    book.publish_ranking(2021, N, r2021[2], rankings(r2021))
    book.publish_ranking(2022, N, r2022[2], rankings(r2021, r2022))
    before = book.awards()

    with transaction(book.engine) as conn:
        table = ledger.parameter_table(conn)
        version = ParameterVersion("rank_advance.min_places", 4, 2, date(2021, 4, 12), 25, "", "admin")
        store.add_parameter_version(conn, version, "req")
        stricter = table.with_versions([version])
        applied = ledger.reconcile(conn, rule="rank_advance", codes=None, trigger="t", source="s", params=stricter)

    assert applied.granted == applied.revoked == []
    assert [(a.award_id, a.status, a.parameters) for a in book.awards()] == [
        (a.award_id, a.status, a.parameters) for a in before
    ]
    book.engine.dispose()


def test_concurrent_reconciliations_never_grant_twice(database_url: str) -> None:
    engine = migrated(database_url)
    with transaction(engine) as conn:
        store.add_recognitions(conn, "Z", [RecognitionFact(date(2022, 6, 30), P)])

    async def race() -> None:
        def once() -> None:
            with transaction(engine) as conn:
                ledger.reconcile(conn, rule="new_provincial_zone", codes=["Z"], trigger="t", source="s")

        await asyncio.gather(*(asyncio.to_thread(once) for _ in range(8)))

    asyncio.run(race())
    with reading(engine) as conn:
        rows = conn.execute(select(store.awards)).all()
        events = conn.execute(select(store.outbox)).all()
    assert [(r.beneficiary_code, r.status) for r in rows] == [("Z", "granted")]
    assert len(events) == 1
    engine.dispose()


@pytest.mark.parametrize("year", [2022, None])
def test_summary_sums_granted_and_revoked_per_rule_and_earmark_in_integer_yuan(
    database_url: str, year: int | None
) -> None:
    book = Ledger(migrated(database_url))
    book.recognize("Z1", (P, "2022-06-30"))
    book.recognize("Z2", (P, "2022-07-30"))
    book.recognize("Z2", (N, "2020-01-01"), (P, "2022-07-30"))  # revokes Z2's
    book.designate("320706", "ip_pilot", N, "2022-05-01")
    book.designate("320707", "ip_pilot", P, "2023-05-01")

    with reading(book.engine) as conn:
        rows = store.summary_rows(conn, year)
    totals = {(r.year, r.rule, r.earmark, r.status): (r.count, r.amount_yuan) for r in rows}

    expected = {
        (2022, "new_provincial_zone", "service_capacity_building", "granted"): (1, 1_000_000),
        (2022, "new_provincial_zone", "service_capacity_building", "revoked"): (1, 1_000_000),
        (2022, "pilot_county", "", "granted"): (1, 500_000),
    }
    if year is None:
        expected[(2023, "pilot_county", "", "granted")] = (1, 200_000)
    assert totals == expected
    assert all(isinstance(amount, int) for _, amount in totals.values())
    book.engine.dispose()


def test_subscriptions_are_durable_on_the_indicators_stream(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'unused.db'}")
    subs: list[Subscription] = [
        on_zone_recognized(),
        on_county_designated(),
        on_ranking_published(NoSource(), engine),
    ]
    assert [s.max_ack_pending for s in subs] == [1000, 1000, 1]  # rankings: one at a time, in order
    assert EventConsumer(engine, store.inbox, Bus("nats://127.0.0.1:1", "x"), subs[2])._config().max_ack_pending == 1
    assert [(s.durable, s.stream, s.subject) for s in subs] == [
        ("rewards-zone-recognized", "GAOXIN_INDICATORS", ZONE_RECOGNIZED),
        ("rewards-county-designated", "GAOXIN_INDICATORS", COUNTY_DESIGNATED),
        ("rewards-ranking-published", "GAOXIN_INDICATORS", RANKING_PUBLISHED),
    ]


def test_award_metrics_count_committed_grants_and_revocations_only(database_url: str) -> None:
    engine = migrated(database_url)
    metrics.count_on_commit(engine)
    granted = metrics.AWARDS_GRANTED.labels("new_provincial_zone")
    yuan = metrics.AWARDED_YUAN.labels("new_provincial_zone")
    revoked = metrics.AWARDS_REVOKED.labels("new_provincial_zone")
    before = (granted._value.get(), yuan._value.get(), revoked._value.get())
    with transaction(engine) as conn:
        store.add_recognitions(conn, "Z", [RecognitionFact(date(2022, 6, 30), P)])

    with pytest.raises(RuntimeError), transaction(engine) as conn:
        ledger.reconcile(conn, rule="new_provincial_zone", codes=["Z"], trigger="t", source="s")
        raise RuntimeError("the transaction fails after the grant")
    after_rollback = (granted._value.get(), yuan._value.get(), revoked._value.get())
    with transaction(engine) as conn:
        ledger.reconcile(conn, rule="new_provincial_zone", codes=["Z"], trigger="t", source="s")
    with transaction(engine) as conn:
        store.add_recognitions(conn, "Z", [RecognitionFact(date(2020, 1, 1), N)])
        ledger.reconcile(conn, rule="new_provincial_zone", codes=["Z"], trigger="t", source="s")

    assert after_rollback == before
    assert (granted._value.get(), yuan._value.get(), revoked._value.get()) == (
        before[0] + 1,
        before[1] + 1_000_000,
        before[2] + 1,
    )
    engine.dispose()


# ------------------------------------------------------------------------------------------- reinstatement


def outbox_events(engine: Engine, subject: str, message: Any) -> list[Any]:
    with reading(engine) as conn:
        payloads = conn.execute(
            select(store.outbox.c.payload).where(store.outbox.c.subject == subject).order_by(store.outbox.c.seq)
        ).scalars()
        return [message.FromString(p) for p in payloads]


def test_a_ranking_pushed_again_after_a_withdrawal_reinstates_the_award_it_had(database_url: str) -> None:
    engine = migrated(database_url)
    metrics.count_on_commit(engine)
    counters = (
        metrics.AWARDS_GRANTED.labels("rank_advance"),
        metrics.AWARDED_YUAN.labels("rank_advance"),
        metrics.AWARDS_REVOKED.labels("rank_advance"),
        metrics.REVOKED_YUAN.labels("rank_advance"),
    )
    before = [c._value.get() for c in counters]
    book = Ledger(engine)
    r2020, r2021 = (2020, N, {"RW-C23": 50, "B": 1}), (2021, N, {"RW-C23": 47, "B": 2})
    without = (2021, N, {"B": 2})
    book.publish_ranking(2020, N, r2020[2], rankings(r2020))
    book.publish_ranking(2021, N, r2021[2], rankings(r2020, r2021), event_id="first")
    [granted] = book.awards("granted")

    book.publish_ranking(2021, N, without[2], rankings(r2020, without), replaced=True, dropped=["RW-C23"])
    book.publish_ranking(2021, N, r2021[2], rankings(r2020, r2021), replaced=True, event_id="again")

    [award] = book.awards()  # one row: the same award, granted again
    assert (award.award_id, award.status, award.amount_yuan) == (granted.award_id, "granted", 1_000_000)
    assert (award.basis, award.parameters, award.explanation) == (
        granted.basis,
        granted.parameters,
        granted.explanation,
    )
    assert (award.granted_at, award.source_event_id) == (granted.granted_at, "first")  # its first grant
    assert (award.revoked_at, award.revocation_reason, award.revoked_by) == (None, None, None)
    with reading(engine) as conn:
        history = store.histories(conn, [award.award_id])[award.award_id]
        summary = store.summary_rows(conn, 2021)
    assert [(h.status, h.reason, h.source) for h in history] == [
        ("granted", None, "first"),
        (
            "revoked",
            "ranking 2021 national republished: the facts no longer include its basis (2021:national)",
            history[1].source,
        ),
        ("granted", "ranking 2021 national republished: its basis holds again", "again"),
    ]
    assert history[0].at == award.granted_at and history[0].at <= history[1].at <= history[2].at
    grants = outbox_events(engine, ledger.AWARD_GRANTED, events_pb2.AwardGranted)
    revocations = outbox_events(engine, ledger.AWARD_REVOKED, events_pb2.AwardRevoked)
    assert [(e.award_id, e.amount_yuan, e.clause_number, e.reinstated) for e in grants] == [
        (award.award_id, 1_000_000, 25, False),
        (award.award_id, 1_000_000, 25, True),
    ]
    assert [e.award_id for e in revocations] == [award.award_id]
    # Counted as a grant: granted minus revoked is what the ledger holds, as the summary says.
    assert [c._value.get() - b for c, b in zip(counters, before, strict=True)] == [2, 2_000_000, 1, 1_000_000]
    assert [(r.status, r.count, r.amount_yuan) for r in summary] == [("granted", 1, 1_000_000)]
    engine.dispose()


def test_a_reinstatement_never_makes_two_granted_awards_on_one_key(database_url: str) -> None:
    engine = migrated(database_url)
    decision = new_provincial_zone("GN-1", [RecognitionFact(date(2022, 6, 30), P)], ParameterTable())
    assert isinstance(decision, AwardDecision)
    with transaction(engine) as conn:
        first = store.grant(conn, decision, "evt-1")
        assert first is not None and store.revoke(conn, first, "basis gone", "evt-2")
        second = store.grant(conn, decision, "evt-3")  # as the ledger did before reinstatements existed
        assert second is not None
        refused = store.reinstate(conn, first, "back", "evt-4")  # the key holds `second`
        assert store.reinstate(conn, second, "back", "evt-5") is None  # not revoked
        assert store.revoke(conn, second, "gone again", "evt-6")
        back = store.reinstate(conn, first, "t: its basis holds again", "evt-7")

    assert refused is None and back is not None and back.award_id == first
    with reading(engine) as conn:
        rows = conn.execute(select(store.awards).order_by(store.awards.c.seq)).all()
        history = store.histories(conn, [first, second])
    assert [(r.award_id, r.status, r.revocation_reason) for r in rows] == [
        (first, "granted", None),
        (second, "revoked", "gone again"),
    ]
    assert [(h.status, h.reason, h.source) for h in history[first]] == [
        ("granted", None, "evt-1"),
        ("revoked", "basis gone", "evt-2"),
        ("granted", "t: its basis holds again", "evt-7"),
    ]
    assert [(h.status, h.source) for h in history[second]] == [("granted", "evt-3"), ("revoked", "evt-6")]
    engine.dispose()


def test_migration_backfills_the_history_of_every_award(database_url: str) -> None:
    config = alembic_config("rewards", database_url)
    command.upgrade(config, "rew0002")
    engine = make_engine(database_url)
    decision = new_provincial_zone("OLD-2", [RecognitionFact(date(2022, 6, 30), P)], ParameterTable())
    other = new_provincial_zone("OLD-3", [RecognitionFact(date(2022, 7, 30), P)], ParameterTable())
    assert isinstance(decision, AwardDecision) and isinstance(other, AwardDecision)
    granted_at = datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)
    revoked_at = granted_at + timedelta(days=30)
    with transaction(engine) as conn:
        kept = legacy_grant(conn, decision, "evt-a", granted_at=granted_at)
        withdrawn = legacy_grant(
            conn,
            other,
            "evt-b",
            granted_at=granted_at,
            status="revoked",
            revoked_at=revoked_at,
            revocation_reason="gone",
            revoked_by="evt-c",
        )

    command.upgrade(config, "head")

    with reading(engine) as conn:
        history = store.histories(conn, [kept, withdrawn])
    assert {k: [(h.status, h.at, h.reason, h.source) for h in v] for k, v in history.items()} == {
        kept: [("granted", granted_at, None, "evt-a")],
        withdrawn: [("granted", granted_at, None, "evt-b"), ("revoked", revoked_at, "gone", "evt-c")],
    }
    engine.dispose()
