"""Rules for one pushed indicator value, and what a batch does to the values already held.

A batch is validated whole: every bad row is reported (up to MAX_LISTED_VIOLATIONS, then a count), and nothing
is stored unless every row is good. Checks here are per row and need no database; unknown zones are found by
the caller, which knows the registry.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from services.common.errors import FieldViolation
from services.common.text import LINE_BREAKS_AND_TABS, control_character_problem
from services.indicators.domain.catalogue import CATALOGUE, RAW, RAW_CODES

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_BATCH_VALUES = 200_000
MAX_LISTED_VIOLATIONS = 1000
# 10^15 万元 is far beyond any zone's economy; 6 places of 万元 is one fen (0.01 yuan).
MAX_INTEGER_DIGITS = 15
MAX_DECIMAL_PLACES = 6
MAX_SOURCE_LENGTH = 200
_PLACES = Decimal(1).scaleb(-MAX_DECIMAL_PLACES)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")  # ASCII digits only
_RAW_LIST = ", ".join(i.code for i in RAW)

Key = tuple[str, str, int]  # (zone_code, indicator, year)


class MalformedBatch(ValueError):
    """The body cannot be read at all (not UTF-8, not JSON, broken CSV quoting): a 400, not a list of rows."""


class ValueRow(NamedTuple):
    """A tuple, not a dataclass: 200,000 of them are built per batch, and a tuple is built fastest. The key is
    built once, at parsing, and reused for duplicates, held values and the plan."""

    key: Key  # (zone_code, indicator, year)
    value: str  # canonical decimal text
    source: str


@dataclass
class ParsedBatch:
    """Good rows, and problems located as (where, position, field): ("line", 5, "year") for CSV, ("values", 3,
    "year") for JSON. Positions are kept as ints per row (not location tuples) to keep big batches cheap."""

    where: str  # "line" | "values"
    rows: list[ValueRow] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)  # of each good row
    violations: list[FieldViolation] = field(default_factory=list)
    # Zone codes of rows refused for other reasons, so an unknown zone is reported on them too.
    bad_row_zones: list[tuple[int, str]] = field(default_factory=list)

    @property
    def zone_codes(self) -> set[str]:
        return {row.key[0] for row in self.rows} | {code for _, code in self.bad_row_zones}

    def describe(self, position: int) -> str:
        return f"line {position}" if self.where == "line" else f"values[{position}]"


def canonical_value(text: str, integral: bool) -> tuple[str, str]:
    """(canonical text, "") for a good value, ("", why) otherwise."""
    # Plain "123" and "123.45" are nearly every value: handled with string operations only, so 100,000-row
    # batches stay fast; anything else goes through Decimal.
    whole, point, fraction = text.partition(".")
    if whole.isdigit() and whole.isascii() and (not point or (fraction.isdigit() and fraction.isascii())):
        if len(whole) > MAX_INTEGER_DIGITS and whole.lstrip("0")[MAX_INTEGER_DIGITS:]:
            return "", f"too large: at most {MAX_INTEGER_DIGITS} digits before the decimal point"
        fraction = fraction.rstrip("0")
        if len(fraction) > MAX_DECIMAL_PLACES:
            return "", f"at most {MAX_DECIMAL_PLACES} decimal places"
        if fraction and integral:
            return "", "must be a whole number (a count)"
        whole = whole.lstrip("0") or "0"
        return (f"{whole}.{fraction}" if fraction else whole), ""
    if not _DECIMAL.fullmatch(text):
        return "", f"must be a number, found {text[:40]!r}" if text else "is required"
    try:
        number = Decimal(text)
    except InvalidOperation:  # an exponent beyond what Decimal holds, such as 1e999999999999999999999
        if text.lower().partition("e")[2].startswith("-"):
            return "", f"at most {MAX_DECIMAL_PLACES} decimal places"
        return "", f"too large: at most {MAX_INTEGER_DIGITS} digits before the decimal point"
    if number < 0:
        return "", "must not be negative"
    if number != 0 and number.adjusted() >= MAX_INTEGER_DIGITS:
        return "", f"too large: at most {MAX_INTEGER_DIGITS} digits before the decimal point"
    try:
        quantized = number.quantize(_PLACES)
    except InvalidOperation:
        return "", f"at most {MAX_DECIMAL_PLACES} decimal places"
    if quantized != number:
        return "", f"at most {MAX_DECIMAL_PLACES} decimal places"
    if integral and quantized != quantized.to_integral_value():
        return "", "must be a whole number (a count)"
    return ("0" if quantized == 0 else format(quantized.normalize(), "f")), ""


def indicator_problem(code: str) -> str:
    if code in RAW_CODES:
        return ""
    if not code:
        return "is required"
    known = CATALOGUE.get(code)
    if known is not None:
        return f"{code} is derived ({known.formula}) and cannot be pushed; push its raw values"
    return f"unknown indicator {code[:40]!r}; the raw indicators are {_RAW_LIST}"


def year_problem(year: int) -> str:
    return "" if MIN_YEAR <= year <= MAX_YEAR else f"must be a year from {MIN_YEAR} to {MAX_YEAR}"


def source_problem(source: str) -> str:
    if len(source) > MAX_SOURCE_LENGTH:
        return f"at most {MAX_SOURCE_LENGTH} characters"
    return control_character_problem(source, LINE_BREAKS_AND_TABS)


def flag_duplicates(batch: ParsedBatch) -> None:
    """A key pushed twice in one batch is ambiguous: each later row is an error naming the first."""
    first: dict[Key, int] = {}
    for index, row in enumerate(batch.rows):
        earlier = first.setdefault(row.key, index)
        if earlier != index:
            batch.violations.append(
                FieldViolation(
                    (batch.where, batch.positions[index]),
                    f"duplicate of {batch.describe(batch.positions[earlier])} (same zone_code, indicator and year)",
                )
            )


def flag_unknown_zones(batch: ParsedBatch, unknown: set[str]) -> None:
    """Flag every row, good or refused for another reason, whose zone is in `unknown`."""
    if not unknown:
        return
    rows = zip(batch.positions, (row.key[0] for row in batch.rows), strict=True)
    for position, zone_code in itertools.chain(rows, batch.bad_row_zones):
        if zone_code in unknown:
            batch.violations.append(
                FieldViolation(
                    (batch.where, position, "zone_code"), f"unknown zone {zone_code[:40]!r}; PUT /v1/zones first"
                )
            )


# Raw values counted within another (clause 三's shares): high-tech enterprises are among the above-designated-size
# enterprises, high-tech industry output is part of above-designated-size industrial output. A part above its
# whole is inconsistent data, whose share would read above 100% and "met"; equal (100%) is possible.
PARTS_OF_WHOLES: tuple[tuple[str, str, str], ...] = (
    (
        "hitech_enterprises",
        "above_scale_enterprises",
        "high-tech enterprises are counted among the above-designated-size enterprises",
    ),
    (
        "hitech_industry_output",
        "above_scale_industrial_output",
        "high-tech industry output is part of above-designated-size industrial output",
    ),
)
_PAIRED = {code: pair for pair in PARTS_OF_WHOLES for code in pair[:2]}


def paired_rows(rows: Iterable[ValueRow]) -> dict[Key, int]:
    """Each batch row of a part or a whole, by key → its index in the batch (the last one for a duplicate key):
    computed once per batch, for the three functions below."""
    return {row.key: index for index, row in enumerate(rows) if row.key[1] in _PAIRED}


def part_whole_zones(pushed: Mapping[Key, int]) -> set[str]:
    """The zones whose parts or wholes the batch pushes: each writer of them must hold them while it checks."""
    return {key[0] for key in pushed}


def counterpart_keys(pushed: Mapping[Key, int]) -> set[Key]:
    """The keys whose stored value the part/whole check needs: the other member of each pair a batch row belongs
    to, when the batch does not push it too."""
    needed = set()
    for zone_code, indicator, year in pushed:
        part, whole, _ = _PAIRED[indicator]
        other = (zone_code, whole if indicator == part else part, year)
        if other not in pushed:
            needed.add(other)
    return needed


def flag_parts_exceeding_wholes(batch: ParsedBatch, pushed: Mapping[Key, int], stored: Mapping[Key, str]) -> None:
    """Flag each row of the batch that leaves a (zone, year) with a part above its whole, the batch applied over
    the `stored` values (those of `counterpart_keys`). The message names both values and where each comes from;
    correcting both means pushing both in one batch."""

    def after_batch(key: Key) -> str | None:
        index = pushed.get(key)
        return batch.rows[index].value if index is not None else stored.get(key)

    def where(key: Key, row: int) -> str:
        """Where the value of `key` comes from, as seen from batch row `row`."""
        index = pushed.get(key)
        if index is None:
            return "stored"
        return "this row" if index == row else batch.describe(batch.positions[index])

    checked: set[Key] = set()
    for zone_code, indicator, year in pushed:
        part, whole, why = _PAIRED[indicator]
        part_key, whole_key = (zone_code, part, year), (zone_code, whole, year)
        if part_key in checked:
            continue  # each pair once, from whichever of its rows comes first
        checked.add(part_key)
        part_value, whole_value = after_batch(part_key), after_batch(whole_key)
        if (
            part_value is None
            or whole_value is None
            or part_value == whole_value  # canonical text: equal text, equal values (most batches)
            or Decimal(part_value) <= Decimal(whole_value)
        ):
            continue
        for key in (part_key, whole_key):
            if (row := pushed.get(key)) is not None:
                batch.violations.append(
                    FieldViolation(
                        (batch.where, batch.positions[row], "value"),
                        f"{part} {part_value} ({where(part_key, row)}) is more than {whole} {whole_value} "
                        f"({where(whole_key, row)}) for zone {zone_code} in {year}: {why}; to correct both, push "
                        "both in one batch",
                    )
                )


def sorted_violations(violations: list[FieldViolation]) -> list[FieldViolation]:
    """By row, then in the order found (so a row's problems stay together)."""
    return sorted(violations, key=lambda v: v.location[1] if len(v.location) > 1 else -1)


@dataclass(frozen=True, slots=True)
class Held:
    """The current value of a key, as stored."""

    value: str
    source: str
    batch_id: str
    version: int


@dataclass
class Plan:
    new: list[ValueRow] = field(default_factory=list)
    revised: list[tuple[ValueRow, Held]] = field(default_factory=list)
    unchanged: int = 0


def plan(rows: Iterable[ValueRow], held: dict[Key, Held]) -> Plan:
    """New keys are inserted; a different value replaces the held one, which is kept as a revision; the same
    value (canonical text, so 12.50 equals 12.5) changes nothing, whatever its source."""
    result = Plan()
    for row in rows:
        current = held.get(row.key)
        if current is None:
            result.new.append(row)
        elif current.value == row.value:
            result.unchanged += 1
        else:
            result.revised.append((row, current))
    return result
