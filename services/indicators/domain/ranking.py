"""Official annual rankings (年度考评排名, clause 二十五): validation, historical best and advance.

Ranks are absolute positions in the authority's ranking of all zones of a level (178 national zones in 2024),
and the platform may hold only some of those zones, so ranks need not start at 1 nor be contiguous; they must
be positive and unique. `field_size` is how many zones the official ranking ranks in all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from services.common.convert import ZoneLevel
from services.common.errors import FieldViolation
from services.indicators.domain.dated import end_of_year
from services.indicators.domain.registry import Recognition, level_on
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


def check_shape(
    year: int, entries: list[RankEntry], field_size: int, rows: Sequence[int] | None = None
) -> list[FieldViolation]:
    """What can be said without the registry: year, ranks, duplicates, field size. `rows`: each entry's index in
    the caller's list, for the locations and messages (default: its index in `entries`)."""
    rows = rows if rows is not None else range(len(entries))
    violations = []
    if not MIN_YEAR <= year <= MAX_YEAR:
        violations.append(FieldViolation(("year",), f"must be a year from {MIN_YEAR} to {MAX_YEAR}"))
    if not entries:
        violations.append(FieldViolation(("ranks",), "must list at least one zone"))
    if len(entries) > MAX_ENTRIES:
        violations.append(FieldViolation(("ranks",), f"at most {MAX_ENTRIES} zones"))
    first_rank: dict[int, int] = {}
    first_zone: dict[str, int] = {}
    for i, entry in zip(rows, entries, strict=True):
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
                f"must be a year whose 31 December has come: its ranking is dated {year}-12-31, which must not be "
                f"in the future (today is {today.isoformat()} in China)",
            )
        ]
    return []


def level_problem(zone_code: str, year: int, level: ZoneLevel, actual: ZoneLevel | None) -> str:
    """Why a zone of level `actual` on 31 December of `year` cannot be in that year's ranking of `level` ("" when
    it can): national zones are ranked among national zones, provincial among provincial (clause 二十五). The one
    rule behind both a ranking push (`check_zones`) and a recognition (`contradicted_rankings`)."""
    if actual is level:
        return ""
    held = actual.value if actual else "not recognised"
    return f"zone {zone_code} is {held} on {year}-12-31, not {level.value}"


def check_zones(
    year: int,
    level: ZoneLevel,
    entries: list[RankEntry],
    levels: Mapping[str, ZoneLevel | None],
    rows: Sequence[int] | None = None,
) -> list[FieldViolation]:
    """Each zone must be registered and of the ranking's level at the end of the year (`level_problem`).
    `levels` holds every registered zone asked about; `rows` as for `check_shape`."""
    violations = []
    for i, entry in zip(rows if rows is not None else range(len(entries)), entries, strict=True):
        if entry.zone_code not in levels:
            violations.append(FieldViolation(("ranks", i, "zone_code"), f"unknown zone {entry.zone_code!r}"))
        elif why := level_problem(entry.zone_code, year, level, levels[entry.zone_code]):
            violations.append(FieldViolation(("ranks", i, "zone_code"), why))
    return violations


@dataclass(frozen=True)
class Contradiction:
    """A stored ranking of a zone that the zone's level timeline would break: the zone is `actual` (None: not
    recognised) on 31 December of `year`, not of the ranking's `level`."""

    year: int
    level: ZoneLevel
    rank: int
    actual: ZoneLevel | None

    def describe(self, zone_code: str) -> str:
        why = level_problem(zone_code, self.year, self.level, self.actual)
        return f"the {self.year} {self.level.value} ranking (rank {self.rank}): {why}"


def contradicted_rankings(placements: Iterable[PastRank], recognitions: Iterable[Recognition]) -> list[Contradiction]:
    """The zone's official rankings (`placements`, any year and level) that a recognition history would
    contradict, by year: the check a ranking push makes (`level_problem`), made from the other side, so that a
    recognition recorded later cannot break a ranking already stored."""
    history = list(recognitions)
    found = []
    for p in sorted(placements, key=lambda p: (p.year, p.level.value)):
        actual = level_on(history, end_of_year(p.year))
        if actual is not p.level:
            found.append(Contradiction(p.year, p.level, p.rank, actual))
    return found


def contradiction_detail(zone_code: str, recognition: Recognition, found: list[Contradiction]) -> str:
    """The 409 detail of a recognition refused for the rankings it would contradict: each ranking named."""
    what = f"a {recognition.level.value} recognition of zone {zone_code} on {recognition.recognized_on.isoformat()}"
    rankings = "; ".join(c.describe(zone_code) for c in found)
    return (
        f"{what} would contradict {len(found)} stored official ranking{'s' if len(found) > 1 else ''}, "
        f"in which a zone must have the ranking's level on 31 December: {rankings}. Nothing was recorded: correct "
        f"the ranking first (drop the zone, or push it in the ranking of its level), then record the recognition"
    )


def effective_field_size(entries: Iterable[RankEntry], field_size: int) -> int:
    """As pushed, or the largest rank: absolute ranks mean at least that many zones were ranked."""
    return field_size or max((e.rank for e in entries), default=0)


def historical_best(history: Iterable[PastRank], year: int, level: ZoneLevel) -> int | None:
    """Best (smallest) official rank in the years before `year`, at the same level: a national rank and a
    provincial rank are places in different rankings and are never compared."""
    return min((p.rank for p in history if p.year < year and p.level is level), default=None)
