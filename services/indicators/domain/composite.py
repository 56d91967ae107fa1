"""The platform's own composite score (动态监测, clause 二十五: “加大科技创新发展指标权重”).

Weights are a dated set in which the S&T-innovation indicators weigh more: R&D intensity 0.40 and high-tech
enterprise share 0.35 (innovation capacity) against 0.25 for high-tech output share (industrial structure).

Normalisation: min-max per indicator across the zones of the same ranking (one level, one year) that have all
three ratios, (x - min) / (max - min), 1 for everyone when all are equal; score = 100 × Σ weight × normalised,
rounded half-even to 2 places. A zone missing any ratio gets no score (null), and is left out of the min-max,
rather than a score on fewer indicators, which would rank zones on different yardsticks.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from services.indicators.domain.dated import POLICY_EFFECTIVE_FROM, Version

WEIGHT_SETS: tuple[Version[Mapping[str, Decimal]], ...] = (
    Version(
        "composite.weights",
        1,
        POLICY_EFFECTIVE_FROM,
        {
            "rd_intensity": Decimal("0.40"),
            "hitech_enterprise_share": Decimal("0.35"),
            "hitech_output_share": Decimal("0.25"),
        },
        "在全市园区考核评价体系中加大科技创新发展指标权重",
    ),
)
SCORE_PLACES = Decimal("0.01")


def scores(
    ratios: Mapping[str, Mapping[str, Fraction | None]], weights: Mapping[str, Decimal]
) -> dict[str, Decimal | None]:
    """Zone code → score (0..100) or None, from each zone's derived ratios."""
    complete = {
        zone: {code: value for code, value in values.items() if code in weights}
        for zone, values in ratios.items()
        if all(values.get(code) is not None for code in weights)
    }
    result: dict[str, Decimal | None] = dict.fromkeys(ratios)
    if not complete:
        return result
    total: dict[str, Fraction] = dict.fromkeys(complete, Fraction(0))
    for code, weight in weights.items():
        column = {zone: values[code] for zone, values in complete.items()}
        low, high = min(v for v in column.values() if v is not None), max(v for v in column.values() if v is not None)
        for zone, value in column.items():
            assert value is not None
            normalised = Fraction(1) if high == low else (value - low) / (high - low)
            total[zone] += Fraction(weight) * normalised
    for zone, weighted in total.items():
        exact = 100 * weighted
        result[zone] = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(SCORE_PLACES, ROUND_HALF_EVEN)
    return result
