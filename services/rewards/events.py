"""What the rewards service consumes (recognitions, listings, rankings) and how each becomes awards.

Each consumer stores the fact as last seen, then reconciles the affected beneficiaries' awards of the rules that
read it (`services.rewards.ledger`), in the transaction that also records the event in the inbox: a redelivered
or replayed event changes nothing, and events arriving out of order end in the same ledger because every
decision is made from all the facts stored, never from the event alone. The awards granted (reinstated ones too)
and revoked are announced through the outbox (gaoxin.rewards.award_granted.v1 / award_revoked.v1).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from gaoxin.events.v1 import events_pb2
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from services.common.convert import date_from_pb, level_from_pb
from services.common.db import reading
from services.common.inbox import Prepared, Subscription
from services.rewards import ledger, store
from services.rewards.domain.rules import DesignationFact, RankFact, RecognitionFact

ZONE_RECOGNIZED = "gaoxin.indicators.zone_recognized.v1"
COUNTY_DESIGNATED = "gaoxin.indicators.county_designated.v1"
RANKING_PUBLISHED = "gaoxin.indicators.ranking_published.v1"
STREAM = "GAOXIN_INDICATORS"


def on_zone_recognized() -> Subscription:
    """new_provincial_zone for the zone, and talent_project for the projects recruited into it."""

    def handle(conn: Connection, subject: str, payload: bytes) -> None:
        event = events_pb2.ZoneRecognized.FromString(payload)
        zone = event.zone_code
        facts = []
        for r in [*event.history, event.recognition]:
            level, on = level_from_pb(r.level), date_from_pb(r.recognized_on)
            if level is not None and on is not None:
                facts.append(RecognitionFact(on, level))
        store.add_recognitions(conn, zone, facts)
        level, on = level_from_pb(event.recognition.level), date_from_pb(event.recognition.recognized_on)
        what = f"{level.value if level else 'unknown level'} on {on.isoformat() if on else 'an unknown date'}"
        trigger = f"recognition of zone {zone} ({what}) recorded"
        source = event.meta.event_id
        ledger.reconcile(conn, rule="new_provincial_zone", codes=[zone], trigger=trigger, source=source)
        projects = store.talent_projects_in_zone(conn, zone)
        if projects:
            ledger.reconcile(conn, rule="talent_project", codes=projects, trigger=trigger, source=source)

    return Subscription(durable="rewards-zone-recognized", stream=STREAM, subject=ZONE_RECOGNIZED, handler=handle)


def on_county_designated() -> Subscription:
    """pilot_county for the county."""

    def handle(conn: Connection, subject: str, payload: bytes) -> None:
        event = events_pb2.CountyDesignated.FromString(payload)
        level, on = level_from_pb(event.level), date_from_pb(event.listed_on)
        if level is None or on is None:
            raise ValueError(f"county_designated event {event.meta.event_id} lacks a level or a listing date")
        store.add_designation(conn, event.county_code, DesignationFact(event.programme, level, on))
        trigger = f"listing of county {event.county_code} in {event.programme} ({level.value}, {on.isoformat()})"
        ledger.reconcile(
            conn, rule="pilot_county", codes=[event.county_code], trigger=trigger, source=event.meta.event_id
        )

    return Subscription(durable="rewards-county-designated", stream=STREAM, subject=COUNTY_DESIGNATED, handler=handle)


class RankHistorySource(Protocol):
    """Every official rank of each zone, all years and levels (the indicators service's GetRankHistory)."""

    async def rank_histories(self, zone_codes: Sequence[str]) -> dict[str, list[RankFact]]: ...


@dataclass(frozen=True)
class RankHistories:
    """The rank histories read from the indicators service before the transaction, for the zones that needed
    reading (see `stale_zones`)."""

    by_zone: Mapping[str, Sequence[RankFact]]


def ranking_zones(event: events_pb2.RankingPublished) -> list[str]:
    return sorted({e.zone_code for e in event.ranks} | set(event.dropped_zone_codes))


def stale_zones(event: events_pb2.RankingPublished, held: Mapping[str, Sequence[RankFact]]) -> list[str]:
    """The zones of a ranking event whose held history this event may change: no history held, or an entry for
    the event's year and level other than the event's (a new rank, a changed one, a zone dropped).

    A zone whose held entry already says what the event says needs no reading: every change to a zone's ranks
    upstream publishes an event naming the zone, whose processing reads its history afresh, so the history held
    is current up to the changes still to be consumed, and those will read it again.
    """
    level = level_from_pb(event.level)
    ranked = {e.zone_code: e.rank for e in event.ranks}
    stale = []
    for zone in ranking_zones(event):
        history = held.get(zone)
        entry = next((f.rank for f in history if f.year == event.year and f.level is level), None) if history else None
        if history is None or entry != ranked.get(zone):
            stale.append(zone)
    return stale


def on_ranking_published(source: RankHistorySource, engine: Engine) -> Subscription:
    """rank_advance for the ranking's zones and the zones it dropped, every year of theirs.

    Events are applied one at a time in stream order across every replica (max_ack_pending 1). Rank histories
    come from the indicators service, which owns them, read before the transaction for the
    zones the event changes (`stale_zones`): a correction of one year changes the historical best of every
    later year, and a late redelivery of an older version of the ranking still reads today's ranks. They are
    stored as the truth for those zones; then every zone of the ranking is reconciled.
    """

    async def prepare(subject: str, payload: bytes) -> RankHistories:
        event = events_pb2.RankingPublished.FromString(payload)

        def held() -> dict[str, list[RankFact]]:
            with reading(engine) as conn:
                return store.rank_histories(conn, ranking_zones(event))

        stale = stale_zones(event, await asyncio.to_thread(held))
        return RankHistories(await source.rank_histories(stale) if stale else {})

    def handle(conn: Connection, subject: str, payload: bytes, histories: RankHistories) -> None:
        event = events_pb2.RankingPublished.FromString(payload)
        store.lock_rule(conn, "rank_advance")  # before the facts change, not only before deciding on them
        store.replace_rank_histories(conn, histories.by_zone)
        level = level_from_pb(event.level)
        verb = "republished" if event.replaced else "published"
        trigger = f"ranking {event.year} {level.value if level else 'unknown level'} {verb}"
        ledger.reconcile(
            conn, rule="rank_advance", codes=ranking_zones(event), trigger=trigger, source=event.meta.event_id
        )

    return Subscription(
        durable="rewards-ranking-published",
        stream=STREAM,
        subject=RANKING_PUBLISHED,
        handler=Prepared(prepare, handle),
        # One event at a time across every replica: a history read before a later change must not be written
        # after a read made since. Rankings come a few times a year; order costs nothing here.
        max_ack_pending=1,
    )
