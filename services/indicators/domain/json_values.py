"""Indicator values as JSON: {"values": [{"zone_code", "indicator", "year", "value", "source"?}]}.

Parsed here rather than at the gateway so that decimals are read exactly (never through a float) and every
bad row, type errors included, is reported in one answer; errors are located as ("values", i, field).
A `value` may be a JSON number or a string holding a decimal; `year` must be a JSON integer.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from services.common import strict_json
from services.common.errors import JSON_TOO_DEEP, FieldViolation
from services.common.strict_json import DuplicateMember
from services.indicators.domain.catalogue import CATALOGUE
from services.indicators.domain.values import (
    MAX_BATCH_VALUES,
    MalformedBatch,
    ParsedBatch,
    ValueRow,
    canonical_value,
    flag_duplicates,
    indicator_problem,
    source_problem,
    year_problem,
)

FIELDS = frozenset({"zone_code", "indicator", "year", "value", "source"})


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _decimal(text: str) -> Decimal | str:
    """A JSON number, exactly; one with an exponent beyond what Decimal holds (1e999999999999999999999) is kept as
    its text, which the value's checks then refuse as out of range, at its row, like any other bad value."""
    try:
        return Decimal(text)
    except InvalidOperation:
        return text


def parse_json(data: bytes, default_source: str) -> ParsedBatch:
    try:
        body = strict_json.loads(data, parse_float=_decimal, parse_constant=_no_constants)
    except DuplicateMember as exc:
        raise MalformedBatch(str(exc)) from exc
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise MalformedBatch(f"the request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # a ~2 KB body of nested arrays is enough: a 400 like any unreadable body
        raise MalformedBatch(JSON_TOO_DEEP) from exc

    batch = ParsedBatch("values")
    if not isinstance(body, dict):
        batch.violations.append(FieldViolation(("values",), 'the body must be an object {"values": [...]}'))
        return batch
    batch.violations += [FieldViolation((str(k),), "unknown field") for k in body if k != "values"]
    values = body.get("values")
    if not isinstance(values, list) or not values:
        batch.violations.append(FieldViolation(("values",), "must be a non-empty list of values"))
        return batch
    if len(values) > MAX_BATCH_VALUES:
        batch.violations.append(
            FieldViolation(("values",), f"a batch holds at most {MAX_BATCH_VALUES:,} values, found {len(values):,}")
        )
        return batch
    for index, item in enumerate(values):
        parse_item(item, index, default_source, batch)
    flag_duplicates(batch)
    return batch


def parse_item(item: Any, index: int, default_source: str, batch: ParsedBatch) -> None:
    """One JSON object (also used for values arriving as protobuf from internal producers)."""
    if not isinstance(item, dict):
        batch.violations.append(FieldViolation(("values", index), "must be an object"))
        return
    problems = [FieldViolation(("values", index, str(k)), "unknown field") for k in item if k not in FIELDS]

    def problem(name: str, why: str) -> None:
        problems.append(FieldViolation(("values", index, name), why))

    zone_code, indicator = item.get("zone_code"), item.get("indicator")
    if not isinstance(zone_code, str) or not zone_code.strip():
        problem("zone_code", "must be a non-empty string")
    if not isinstance(indicator, str):
        problem("indicator", "must be a string naming a raw indicator")
    elif why := indicator_problem(indicator):
        problem("indicator", why)
    year = item.get("year")
    if not isinstance(year, int) or isinstance(year, bool):
        problem("year", "must be an integer year")
    elif why := year_problem(year):
        problem("year", why)
    raw = item.get("value")
    known = CATALOGUE.get(indicator) if isinstance(indicator, str) else None
    value = ""
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        problem("value", "must be a number, or a string holding a decimal number")
    else:
        value, why = canonical_value(str(raw).strip(), known is not None and known.integral)
        if why:
            problem("value", why)
    source = item.get("source")
    if source is not None and not isinstance(source, str):
        problem("source", "must be a string")
    elif source and (why := source_problem(source)):
        problem("source", why)
    if problems:
        batch.violations.extend(problems)
        if isinstance(zone_code, str) and zone_code.strip():
            batch.bad_row_zones.append((index, zone_code.strip()))
        return
    assert isinstance(zone_code, str) and isinstance(indicator, str) and isinstance(year, int)
    batch.rows.append(ValueRow((zone_code.strip(), indicator, year), value, (source or "").strip() or default_source))
    batch.positions.append(index)
