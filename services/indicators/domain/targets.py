"""Derived ratios of a zone's year and their clause 三 target status, compared exactly.

A ratio is a Fraction of the two exact decimals, so 7% meets “7%以上” and 80% does not meet “超过 80%” whatever
the digits; the value shown is rounded (DISPLAY_PLACES), the status never is. A shown value never contradicts its
status: when the rounded value would compare with the target's threshold otherwise than the exact ratio does
(equal to it when the ratio is not, or on the other side), more places are shown, as many as it takes
(`shown_text`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from services.common.convert import ZoneLevel
from services.indicators.domain.catalogue import DERIVED, Indicator, TargetRule, target_for
from services.indicators.domain.dated import Version

DISPLAY_PLACES = 10
# Values have at most 15 integer digits and 6 places, thresholds 2 places, so a ratio that is not its threshold
# differs from it by at least 1e-23 and 23 places always separate them; the cap is a bound, never reached.
MAX_DISPLAY_PLACES = 30


@dataclass(frozen=True)
class Derived:
    indicator: Indicator
    ratio: Fraction | None  # None: not computable
    target: Version[TargetRule] | None
    status: str  # "met" | "not_met" | "not_computable"
    explanation: str

    @property
    def value(self) -> str:
        """The value shown, and quoted by `explanation`: on the same side of the threshold as the exact ratio."""
        if self.ratio is None:
            return ""
        return shown_text(self.ratio, Fraction(self.target.value.threshold) if self.target else None)


def _rounded(ratio: Fraction, places: int) -> Fraction:
    """Half-even to `places` decimal places, in exact arithmetic (no Decimal context, no double rounding)."""
    scale = 10**places
    return Fraction(round(ratio * scale), scale)


def _text(value: Fraction, places: int) -> str:
    """A value with at most `places` decimal places as plain decimal text, without trailing zeros."""
    scaled = value * 10**places
    assert scaled.denominator == 1
    sign = "-" if scaled < 0 else ""
    digits = str(abs(scaled.numerator)).rjust(places + 1, "0")
    whole, fraction = digits[: len(digits) - places], digits[len(digits) - places :].rstrip("0")
    if whole == "0" and not fraction:
        return "0"
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


def _compare(a: Fraction, b: Fraction) -> int:
    return (a > b) - (a < b)


def decimal_text(ratio: Fraction) -> str:
    """The ratio as a decimal fraction, rounded half-even to DISPLAY_PLACES, without trailing zeros."""
    return _text(_rounded(ratio, DISPLAY_PLACES), DISPLAY_PLACES)


def shown_text(ratio: Fraction, threshold: Fraction | None) -> str:
    """`decimal_text`, unless that compares with `threshold` otherwise than `ratio` does: then the fewest places
    beyond DISPLAY_PLACES (at most MAX_DISPLAY_PLACES) that compare the same way, e.g. 0.069999999999 against
    0.07 is shown "0.069999999999", not "0.07"."""
    if threshold is None:
        return decimal_text(ratio)
    side = _compare(ratio, threshold)
    for places in range(DISPLAY_PLACES, MAX_DISPLAY_PLACES + 1):
        rounded = _rounded(ratio, places)
        if _compare(rounded, threshold) == side:
            return _text(rounded, places)
    # Not reachable with the values the platform accepts; rounding away from the threshold keeps the side.
    scale = 10**MAX_DISPLAY_PLACES
    scaled = ratio * scale
    away = math.ceil(scaled) if side > 0 else math.floor(scaled)
    return _text(Fraction(away, scale), MAX_DISPLAY_PLACES)


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
    if target is None:
        shown = f"{how} = {decimal_text(value)}"
        # API.md has three statuses; with no target the status cannot be decided, though the ratio can.
        return Derived(
            indicator, value, None, "not_computable", f"{shown}; no target: the zone has no level on {on.isoformat()}"
        )
    rule = target.value
    shown = f"{how} = {shown_text(value, Fraction(rule.threshold))}"
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
