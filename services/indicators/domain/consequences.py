"""Clause 二十六: “对考核结果好的高新区加大资金、政策支持力度；对考核结果较差的高新区，限制新增土地指标，通报约谈，
限期整改。” Neither “good” nor “poor” is defined, so both are a dated parameter: by default the top and the bottom
10% of the zones of that level in that year's official ranking, each rounded up to at least one zone.

The shares are taken of the ranking's field size (ranks are absolute positions: the 178 national zones, not just
the ones this platform holds). A ranking of one zone is neither good nor poor for anyone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from services.indicators.domain.dated import POLICY_EFFECTIVE_FROM, Version
from services.indicators.domain.ranking import RankEntry

CLAUSE_CONSEQUENCES = 26
MEASURES = ("land_quota_restricted", "notice_and_interview", "rectification")  # 限制新增土地指标, 通报约谈, 限期整改


@dataclass(frozen=True)
class ConsequenceRule:
    top_share: Decimal
    bottom_share: Decimal
    measures: tuple[str, ...]


RULES: tuple[Version[ConsequenceRule], ...] = (
    Version(
        "consequences",
        1,
        POLICY_EFFECTIVE_FROM,
        ConsequenceRule(Decimal("0.10"), Decimal("0.10"), MEASURES),
        "考核结果好: top 10%; 考核结果较差: bottom 10% (each rounded up, at least one zone)",
    ),
)


@dataclass(frozen=True)
class Outcome:
    zone_code: str
    rank: int
    outcome: str  # "support" | "none" | "restrict"
    measures: tuple[str, ...]


def counts(field_size: int, rule: ConsequenceRule) -> tuple[int, int]:
    """How many places at the top and at the bottom: ceil(share × n), at least 1; none when n < 2."""
    if field_size < 2:
        return 0, 0
    top = max(1, math.ceil(Fraction(rule.top_share) * field_size))
    bottom = max(1, math.ceil(Fraction(rule.bottom_share) * field_size))
    return top, bottom


def outcomes(entries: Iterable[RankEntry], field_size: int, rule: ConsequenceRule) -> list[Outcome]:
    top, bottom = counts(field_size, rule)
    result = []
    for entry in sorted(entries):
        if entry.rank <= top:
            result.append(Outcome(entry.zone_code, entry.rank, "support", ()))
        elif entry.rank > field_size - bottom and bottom:
            result.append(Outcome(entry.zone_code, entry.rank, "restrict", rule.measures))
        else:
            result.append(Outcome(entry.zone_code, entry.rank, "none", ()))
    return result
