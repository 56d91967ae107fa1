"""Official annual rankings (年度考评排名, clause 二十五): validation, historical best and advance.

Ranks are absolute positions in the authority's ranking of all zones of a level (178 national zones in 2024),
and the platform may hold only some of those zones, so ranks need not start at 1 nor be contiguous; they must
be positive and unique. `field_size` is how many zones the official ranking ranks in all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from services.common.convert import ZoneLevel
from services.common.errors import FieldViolation
from services.indicators.domain.values import MAX_YEAR, MIN_YEAR

MAX_ENTRIES = 5_000
# “加强高新区动态监测和评价 … 对年度考评排名较历史最好位次实现前进 3 位以上 …”: the ranking, its historical best
# and advance rest on clause 二十五.
CLAUSE_RANKING = 25


@dataclass(frozen=True, order=True)
class RankEntry:
    rank: int
    zone_code: str


@dataclass(frozen=True)
class PastRank:
    year: int
    level: ZoneLevel
    rank: int


def check_shape(year: int, entries: list[RankEntry], field_size: int) -> list[FieldViolation]:
    """What can be said without the registry: year, ranks, duplicates, field size."""
    violations = []
    if not MIN_YEAR <= year <= MAX_YEAR:
        violations.append(FieldViolation(("year",), f"must be a year from {MIN_YEAR} to {MAX_YEAR}"))
    if not entries:
        violations.append(FieldViolation(("ranks",), "must list at least one zone"))
    if len(entries) > MAX_ENTRIES:
        violations.append(FieldViolation(("ranks",), f"at most {MAX_ENTRIES} zones"))
    first_rank: dict[int, int] = {}
    first_zone: dict[str, int] = {}
    for i, entry in enumerate(entries):
        if entry.rank <= 0:
            violations.append(FieldViolation(("ranks", i, "rank"), "must be a positive integer"))
        elif (j := first_rank.setdefault(entry.rank, i)) != i:
            violations.append(FieldViolation(("ranks", i, "rank"), f"rank {entry.rank} is already given to ranks[{j}]"))
        if (j := first_zone.setdefault(entry.zone_code, i)) != i:
            violations.append(FieldViolation(("ranks", i, "zone_code"), f"zone already ranked at ranks[{j}]"))
    if field_size < 0:
        violations.append(FieldViolation(("field_size",), "must not be negative (0 or absent: the largest rank)"))
    elif field_size and entries and field_size < max(e.rank for e in entries):
        violations.append(FieldViolation(("field_size",), "must be at least the largest rank"))
    return violations


def check_year_ended(year: int, today: date) -> list[FieldViolation]:
    """A ranking is dated by the last day of its year (POLICY.md), and like every fact pushed as real it must not
    be in the future: the ranking of a year that has not ended in China is refused, so it cannot pay rewards."""
    if MIN_YEAR <= year <= MAX_YEAR and date(year, 12, 31) > today:
        return [
            FieldViolation(
                ("year",),
                f"must be a year that has ended: its ranking is dated {year}-12-31, which must not be in the future "
                f"(today is {today.isoformat()} in China)",
            )
        ]
    return []


def check_zones(
    year: int, level: ZoneLevel, entries: list[RankEntry], levels: Mapping[str, ZoneLevel | None]
) -> list[FieldViolation]:
    """Each zone must be registered and of the ranking's level at the end of the year (national zones are
    ranked among national zones, provincial among provincial). `levels` holds every registered zone asked about."""
    violations = []
    for i, entry in enumerate(entries):
        if entry.zone_code not in levels:
            violations.append(FieldViolation(("ranks", i, "zone_code"), f"unknown zone {entry.zone_code!r}"))
            continue
        actual = levels[entry.zone_code]
        if actual is not level:
            held = f"{actual.value}" if actual else "not recognised"
            violations.append(
                FieldViolation(
                    ("ranks", i, "zone_code"),
                    f"zone {entry.zone_code} is {held} on {year}-12-31, not {level.value}",
                )
            )
    return violations


def effective_field_size(entries: Iterable[RankEntry], field_size: int) -> int:
    """As pushed, or the largest rank: absolute ranks mean at least that many zones were ranked."""
    return field_size or max((e.rank for e in entries), default=0)


def historical_best(history: Iterable[PastRank], year: int, level: ZoneLevel) -> int | None:
    """Best (smallest) official rank in the years before `year`, at the same level: a national rank and a
    provincial rank are places in different rankings and are never compared."""
    return min((p.rank for p in history if p.year < year and p.level is level), default=None)
