"""Indicator values as CSV: UTF-8 (a BOM is allowed), header exactly zone_code,indicator,year,value,source.

Errors are located as ("line", n, field) with n the physical line number, header = line 1, so a portal can
point at the row in the file it sent. Blank lines are skipped. Written for 100,000-row batches: one pass, no
per-row allocation beyond the row itself.
"""

from __future__ import annotations

import csv
import io

from services.common.errors import FieldViolation
from services.indicators.domain.catalogue import RAW
from services.indicators.domain.values import (
    MAX_BATCH_VALUES,
    MAX_YEAR,
    MIN_YEAR,
    MalformedBatch,
    ParsedBatch,
    ValueRow,
    canonical_value,
    flag_duplicates,
    indicator_problem,
    source_problem,
)

HEADER = ("zone_code", "indicator", "year", "value", "source")
_HEADER_TEXT = ",".join(HEADER)


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedBatch(f"the CSV body is not UTF-8 (invalid byte at offset {exc.start})") from exc


_YEARS = {str(y): y for y in range(MIN_YEAR, MAX_YEAR + 1)}
_INTEGRAL = {indicator.code: indicator.integral for indicator in RAW}  # raw indicators only


def parse_csv(data: bytes, default_source: str) -> ParsedBatch:
    batch = ParsedBatch("line")
    reader = csv.reader(io.StringIO(decode(data), newline=""), strict=True)
    rows, positions, violations = batch.rows, batch.positions, batch.violations
    try:
        header = next(reader, None)
        if header is None:
            violations.append(FieldViolation(("line", 1), f"empty body: expected the header {_HEADER_TEXT}"))
            return batch
        if tuple(h.strip() for h in header) != HEADER:
            violations.append(
                FieldViolation(("line", 1), f"the header must be exactly {_HEADER_TEXT}, found {','.join(header)!r}")
            )
            return batch
        count = 0
        # The loop body is inlined on purpose: it runs 100,000 times per batch.
        for record in reader:
            if not record:
                continue
            line = reader.line_num
            count += 1
            if count > MAX_BATCH_VALUES:
                violations.append(
                    FieldViolation(("line", line), f"a batch holds at most {MAX_BATCH_VALUES:,} values; split it")
                )
                break
            if len(record) != 5:
                violations.append(
                    FieldViolation(("line", line), f"expected 5 fields ({_HEADER_TEXT}), found {len(record)}")
                )
                continue
            zone_code, indicator, year_text, value_text, source = record
            zone_code, indicator, source = zone_code.strip(), indicator.strip(), source.strip()
            integral = _INTEGRAL.get(indicator)
            value, why_value = canonical_value(value_text.strip(), integral is True)
            year = _YEARS.get(year_text.strip())
            if year is not None and integral is not None and zone_code and not why_value and not source_problem(source):
                rows.append(ValueRow((zone_code, indicator, year), value, source or default_source))
                positions.append(line)
                continue
            _problems(batch, line, zone_code, indicator, year_text.strip(), year, why_value, source)
    except csv.Error as exc:
        raise MalformedBatch(f"the CSV body cannot be read at line {reader.line_num}: {exc}") from exc
    if not rows and not violations:
        violations.append(FieldViolation(("line", 2), "the batch holds no values"))
    flag_duplicates(batch)
    return batch


def _problems(
    batch: ParsedBatch,
    line: int,
    zone_code: str,
    indicator: str,
    year_text: str,
    year: int | None,
    why_value: str,
    source: str,
) -> None:
    problems = batch.violations
    if not zone_code:
        problems.append(FieldViolation(("line", line, "zone_code"), "is required"))
    else:
        batch.bad_row_zones.append((line, zone_code))
    if why := indicator_problem(indicator):
        problems.append(FieldViolation(("line", line, "indicator"), why))
    if year is None:
        problem = f"must be a year from {MIN_YEAR} to {MAX_YEAR}, found {year_text[:10]!r}"
        problems.append(FieldViolation(("line", line, "year"), problem))
    if why_value:
        problems.append(FieldViolation(("line", line, "value"), why_value))
    if why := source_problem(source):
        problems.append(FieldViolation(("line", line, "source"), why))
