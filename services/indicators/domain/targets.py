"""Derived ratios of a zone's year and their clause 三 target status, compared exactly.

A ratio is a Fraction of the two exact decimals, so 7% meets “7%以上” and 80% does not meet “超过 80%” whatever
the digits; the value shown is rounded (DISPLAY_PLACES), the status never is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from services.common.convert import ZoneLevel
from services.indicators.domain.catalogue import DERIVED, Indicator, TargetRule, target_for
from services.indicators.domain.dated import Version

DISPLAY_PLACES = Decimal("1e-10")


@dataclass(frozen=True)
class Derived:
    indicator: Indicator
    ratio: Fraction | None  # None: not computable
    target: Version[TargetRule] | None
    status: str  # "met" | "not_met" | "not_computable"
    explanation: str

    @property
    def value(self) -> str:
        return "" if self.ratio is None else decimal_text(self.ratio)


def decimal_text(ratio: Fraction) -> str:
    """The ratio as a decimal fraction, rounded half-even to 10 places, without trailing zeros."""
    rounded = (Decimal(ratio.numerator) / Decimal(ratio.denominator)).quantize(DISPLAY_PLACES, ROUND_HALF_EVEN)
    text = format(rounded.normalize(), "f")
    return "0" if rounded == 0 else text


def ratio(values: Mapping[str, str], indicator: Indicator) -> tuple[Fraction | None, str]:
    """numerator / denominator from the raw values, or None and why not."""
    num, den = values.get(indicator.numerator), values.get(indicator.denominator)
    missing = [code for code, v in ((indicator.numerator, num), (indicator.denominator, den)) if v is None]
    if missing:
        return None, f"not computable: no value for {' and '.join(missing)}"
    assert num is not None and den is not None
    if Fraction(den) == 0:
        return None, f"not computable: {indicator.denominator} is 0"
    return Fraction(num) / Fraction(den), f"{indicator.numerator} {num} / {indicator.denominator} {den}"


def meets(value: Fraction, rule: TargetRule) -> bool:
    threshold = Fraction(rule.threshold)
    return value >= threshold if rule.op == ">=" else value > threshold


def evaluate(indicator: Indicator, values: Mapping[str, str], level: ZoneLevel | None, on: date) -> Derived:
    """One derived indicator of a zone: its ratio, the target of the zone's level on `on`, the status."""
    value, how = ratio(values, indicator)
    target = target_for(indicator.code, level, on) if level is not None else None
    if value is None:
        return Derived(indicator, None, target, "not_computable", how)
    shown = f"{how} = {decimal_text(value)}"
    if target is None:
        return Derived(indicator, value, None, "not_computable", f"{shown}; no target: the zone has no level")
    rule = target.value
    met = meets(value, rule)
    verdict = "meets" if met else "does not meet"
    return Derived(
        indicator,
        value,
        target,
        "met" if met else "not_met",
        f"{shown} {verdict} the {rule.year} target {rule.op} {rule.threshold} for {rule.level.value} zones "
        f"(clause 三: {target.basis})",
    )


def evaluate_all(values: Mapping[str, str], level: ZoneLevel | None, on: date) -> list[Derived]:
    return [evaluate(indicator, values, level, on) for indicator in DERIVED]
