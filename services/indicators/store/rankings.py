"""Official rankings: queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from services.common.convert import ZoneLevel
from services.indicators.domain.ranking import PastRank, RankEntry
from services.indicators.store.registry import chunks
from services.indicators.store.tables import ranking_entries, rankings


@dataclass(frozen=True)
class RankingRow:
    year: int
    level: ZoneLevel
    field_size: int  # as pushed; 0: the largest rank
    published_at: datetime
    revision: int
    entries: list[RankEntry]  # by rank


def get_ranking(conn: Connection, year: int, level: ZoneLevel) -> RankingRow | None:
    head = conn.execute(select(rankings).where(rankings.c.year == year, rankings.c.level == level.value)).first()
    if head is None:
        return None
    e = ranking_entries.c
    entries = conn.execute(select(e.rank, e.zone_code).where(e.year == year, e.level == level.value).order_by(e.rank))
    return RankingRow(
        year,
        level,
        head.field_size,
        head.published_at,
        head.revision,
        [RankEntry(r.rank, r.zone_code) for r in entries],
    )


def replace_ranking(
    conn: Connection, year: int, level: ZoneLevel, entries: list[RankEntry], field_size: int, now: datetime
) -> None:
    earlier = conn.execute(
        select(rankings.c.revision).where(rankings.c.year == year, rankings.c.level == level.value)
    ).scalar()
    e = ranking_entries.c
    conn.execute(delete(ranking_entries).where(e.year == year, e.level == level.value))
    values = {"field_size": field_size, "published_at": now}
    if earlier is None:
        conn.execute(rankings.insert().values(year=year, level=level.value, revision=1, **values))
    else:
        conn.execute(
            rankings.update()
            .where(rankings.c.year == year, rankings.c.level == level.value)
            .values(revision=earlier + 1, **values)
        )
    conn.execute(
        ranking_entries.insert(),
        [{"year": year, "level": level.value, "zone_code": x.zone_code, "rank": x.rank} for x in entries],
    )


def past_ranks(conn: Connection, zone_codes: list[str], before: int) -> dict[str, list[PastRank]]:
    """Official ranks of these zones in the years before `before`, all levels."""
    e = ranking_entries.c
    result: dict[str, list[PastRank]] = {}
    for chunk in chunks(zone_codes):
        rows = conn.execute(
            select(e.zone_code, e.year, e.level, e.rank).where(e.zone_code.in_(chunk), e.year < before).order_by(e.year)
        )
        for r in rows:
            result.setdefault(r.zone_code, []).append(PastRank(r.year, ZoneLevel(r.level), r.rank))
    return result


def rank_histories(conn: Connection, zone_codes: list[str]) -> dict[str, list[PastRank]]:
    """Every zone's official ranks, oldest first, in one query (zones without ranks map to [])."""
    e = ranking_entries.c
    found: dict[str, list[PastRank]] = {code: [] for code in zone_codes}
    for chunk in chunks(zone_codes):
        rows = conn.execute(
            select(e.zone_code, e.year, e.level, e.rank).where(e.zone_code.in_(chunk)).order_by(e.year, e.level)
        )
        for r in rows:
            found[r.zone_code].append(PastRank(r.year, ZoneLevel(r.level), r.rank))
    return found


def rank_history(conn: Connection, zone_code: str) -> list[PastRank]:
    e = ranking_entries.c
    rows = conn.execute(select(e.year, e.level, e.rank).where(e.zone_code == zone_code).order_by(e.year, e.level))
    return [PastRank(r.year, ZoneLevel(r.level), r.rank) for r in rows]
