"""Parsing and validating batches of indicator values: CSV and JSON, every kind of bad row, revisions."""

from __future__ import annotations

import json

import pytest

from services.indicators.domain import csv_values
from services.indicators.domain.csv_values import parse_csv
from services.indicators.domain.json_values import parse_json
from services.indicators.domain.values import (
    MAX_BATCH_VALUES,
    Held,
    MalformedBatch,
    ParsedBatch,
    ValueRow,
    canonical_value,
    counterpart_keys,
    flag_parts_exceeding_wholes,
    flag_unknown_zones,
    paired_rows,
    part_whole_zones,
    plan,
)

HEADER = "zone_code,indicator,year,value,source\n"


def csv(*lines: str, bom: bool = False, newline: str = "\n") -> bytes:
    text = HEADER + "".join(line + "\n" for line in lines)
    return (("\ufeff" if bom else "") + text.replace("\n", newline)).encode()


def problems(batch: ParsedBatch) -> list[tuple[tuple[str | int, ...], str]]:
    return [(v.location, v.message) for v in batch.violations]


@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_parse_csv_reads_rows_with_or_without_bom_and_crlf(bom: bool, newline: str) -> None:
    batch = parse_csv(
        csv("LYG,gdp,2024,5000000.50,统计年报", "LYG,hitech_enterprises,2024,138,", bom=bom, newline=newline), "key"
    )

    assert batch.violations == []
    assert batch.rows == [
        ValueRow(("LYG", "gdp", 2024), "5000000.5", "统计年报"),
        ValueRow(("LYG", "hitech_enterprises", 2024), "138", "key"),
    ]
    assert batch.positions == [2, 3]


def test_parse_csv_names_each_bad_row_by_line_and_field() -> None:
    batch = parse_csv(
        csv(
            "LYG,gdp,2024,100,",  # line 2: good
            "LYG,gdpp,2024,100,",  # line 3: unknown indicator
            "LYG,rd_intensity,2024,0.07,",  # line 4: derived, cannot be pushed
            "LYG,gdp,1999,100,",  # line 5: year outside the window
            "LYG,gdp,2023,abc,",  # line 6: not a number
            "LYG,gdp,2022,-1,",  # line 7: negative money
            "LYG,hitech_enterprises,2024,12.5,",  # line 8: a count with a fraction
            ",gdp,2021,100,",  # line 9: no zone
            "LYG,gdp,2024,200,",  # line 10: duplicate of line 2
            "LYG,gdp,2020",  # line 11: too few fields
        ),
        "key",
    )

    assert problems(batch) == [
        (("line", 3, "indicator"), problems(batch)[0][1]),
        (
            ("line", 4, "indicator"),
            "rd_intensity is derived (rd_expenditure / gdp) and cannot be pushed; push its raw values",
        ),
        (("line", 5, "year"), "must be a year from 2000 to 2100, found '1999'"),
        (("line", 6, "value"), "must be a number, found 'abc'"),
        (("line", 7, "value"), "must not be negative"),
        (("line", 8, "value"), "must be a whole number (a count)"),
        (("line", 9, "zone_code"), "is required"),
        (("line", 11), "expected 5 fields (zone_code,indicator,year,value,source), found 3"),
        (("line", 10), "duplicate of line 2 (same zone_code, indicator and year)"),
    ]
    assert problems(batch)[0][1].startswith("unknown indicator 'gdpp'; the raw indicators are rd_expenditure, gdp")


def test_parse_csv_refuses_a_wrong_header_and_reads_no_row() -> None:
    batch = parse_csv(b"zone,indicator,year,value,source\nLYG,gdp,2024,1,\n", "key")
    assert batch.rows == []
    assert problems(batch) == [
        (
            ("line", 1),
            "the header must be exactly zone_code,indicator,year,value,source, "
            "found 'zone,indicator,year,value,source'",
        )
    ]


@pytest.mark.parametrize("body", [b"", HEADER.encode(), (HEADER + "\n\n").encode()])
def test_parse_csv_without_values_is_refused(body: bytes) -> None:
    assert parse_csv(body, "key").violations != []


def test_parse_csv_skips_blank_lines_and_counts_physical_lines() -> None:
    batch = parse_csv(csv("", 'LYG,gdp,2024,1,"two\nlines"', "", "LYG,gdp,2023,x,"), "key")
    assert batch.rows[0].source == "two\nlines"
    assert problems(batch) == [(("line", 6, "value"), "must be a number, found 'x'")]


@pytest.mark.parametrize(
    "body", [b"zone_code,indicator,year,value,source\n\xff\xfe,gdp,2024,1,\n", csv('LYG,gdp,2024,"1,')]
)
def test_parse_csv_that_cannot_be_read_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedBatch):
        parse_csv(body, "key")


def test_parse_csv_stops_beyond_the_batch_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_values, "MAX_BATCH_VALUES", 2)
    batch = parse_csv(csv("LYG,gdp,2022,1,", "LYG,gdp,2023,1,", "LYG,gdp,2024,1,"), "key")
    assert problems(batch) == [(("line", 4), "a batch holds at most 2 values; split it")]


def test_batch_limit_is_at_least_100000_values() -> None:
    assert MAX_BATCH_VALUES >= 100_000


@pytest.mark.parametrize(
    ("text", "integral", "canonical"),
    [
        ("3150000", False, "3150000"),
        ("0030", True, "30"),
        ("12.50", False, "12.5"),
        ("12.000", True, "12"),
        ("0.000", False, "0"),
        ("0.000001", False, "0.000001"),
        ("1e3", False, "1000"),
        ("+5", False, "5"),
        ("999999999999999", False, "999999999999999"),
    ],
)
def test_canonical_value_is_exact_without_trailing_zeros(text: str, integral: bool, canonical: str) -> None:
    assert canonical_value(text, integral) == (canonical, "")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "is required"),
        ("1,000", "must be a number, found '1,000'"),
        ("NaN", "must be a number, found 'NaN'"),
        ("1_000", "must be a number, found '1_000'"),
        ("-0.5", "must not be negative"),
        ("0.0000001", "at most 6 decimal places"),
        ("1000000000000000", "too large: at most 15 digits before the decimal point"),
        ("1e15", "too large: at most 15 digits before the decimal point"),
        ("1e999999999999999999999", "too large: at most 15 digits before the decimal point"),
        ("1e-999999999999999999999", "at most 6 decimal places"),
        ("١٢", "must be a number, found '١٢'"),
    ],
)
def test_canonical_value_refuses_non_numbers_and_out_of_range(text: str, why: str) -> None:
    assert canonical_value(text, False) == ("", why)


def test_parse_json_reads_numbers_exactly_and_strings_as_decimals() -> None:
    body = {
        "values": [
            {"zone_code": "LYG", "indicator": "gdp", "year": 2024, "value": 0.1},
            {"zone_code": "LYG", "indicator": "rd_expenditure", "year": 2024, "value": "350000.25", "source": "年报"},
            {"zone_code": "LYG", "indicator": "above_scale_enterprises", "year": 2024, "value": 300},
        ]
    }
    batch = parse_json(json.dumps(body).encode(), "key")

    assert batch.violations == []
    assert [(r.key[1], r.value, r.source) for r in batch.rows] == [
        ("gdp", "0.1", "key"),
        ("rd_expenditure", "350000.25", "年报"),
        ("above_scale_enterprises", "300", "key"),
    ]


def test_parse_json_names_each_bad_row_by_index_and_field() -> None:
    body = {
        "values": [
            {"zone_code": "LYG", "indicator": "gdp", "year": "2024", "value": 1},
            {"zone_code": "LYG", "indicator": "gdp", "year": 2023, "value": True},
            {"zone_code": "", "indicator": 5, "year": 2022, "value": None, "extra": 1},
            "not an object",
            {"zone_code": "LYG", "indicator": "gdp", "year": 2023, "value": 2},
        ],
        "unexpected": 1,
    }
    batch = parse_json(json.dumps(body).encode(), "key")

    assert problems(batch) == [
        (("unexpected",), "unknown field"),
        (("values", 0, "year"), "must be an integer year"),
        (("values", 1, "value"), "must be a number, or a string holding a decimal number"),
        (("values", 2, "extra"), "unknown field"),
        (("values", 2, "zone_code"), "must be a non-empty string"),
        (("values", 2, "indicator"), "must be a string naming a raw indicator"),
        (("values", 2, "value"), "must be a number, or a string holding a decimal number"),
        (("values", 3), "must be an object"),
    ]
    assert [r.key for r in batch.rows] == [("LYG", "gdp", 2023)]


@pytest.mark.parametrize("body", [b"{not json", b'{"values": [NaN]}', b"\xff"])
def test_parse_json_that_cannot_be_read_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedBatch):
        parse_json(body, "key")


def test_parse_json_nested_too_deeply_is_malformed_naming_why_not_a_recursion_error() -> None:
    body = b'{"values":' + b"[" * 5000 + b"]" * 5000 + b"}"

    with pytest.raises(MalformedBatch, match="nested too deeply"):
        parse_json(body, "key")


@pytest.mark.parametrize("body", [b"[]", b'{"values": []}', b'{"values": {}}', b"{}"])
def test_parse_json_without_a_values_list_is_refused(body: bytes) -> None:
    assert parse_json(body, "key").violations[-1].location == ("values",)


def test_unknown_zones_are_flagged_on_good_and_bad_rows_alike() -> None:
    batch = parse_csv(csv("LYG,gdp,2024,1,", "NOPE,gdp,2024,1,", "NOPE,gdp,2023,bad,"), "key")
    flag_unknown_zones(batch, batch.zone_codes - {"LYG"})
    assert [v.location for v in batch.violations] == [
        ("line", 4, "value"),
        ("line", 3, "zone_code"),
        ("line", 4, "zone_code"),
    ]


def test_plan_inserts_new_keys_revises_changed_values_and_skips_equal_ones() -> None:
    rows = [
        ValueRow(("Z", "gdp", 2024), "100", "b"),
        ValueRow(("Z", "gdp", 2023), "90", "b"),
        ValueRow(("Z", "gdp", 2022), "80", "b"),
    ]
    held = {("Z", "gdp", 2023): Held("90", "a", "batch-1", 1), ("Z", "gdp", 2022): Held("81", "a", "batch-1", 1)}

    result = plan(rows, held)

    assert result.new == [rows[0]]
    assert result.revised == [(rows[2], held[("Z", "gdp", 2022)])]
    assert result.unchanged == 1


def test_part_above_its_whole_in_one_batch_flags_both_rows_naming_both_values() -> None:
    batch = parse_csv(csv("Z,hitech_enterprises,2024,50,", "Z,gdp,2024,9,", "Z,above_scale_enterprises,2024,20,"), "k")
    pushed = paired_rows(batch.rows)
    assert counterpart_keys(pushed) == set() and part_whole_zones(pushed) == {"Z"}

    flag_parts_exceeding_wholes(batch, pushed, {})

    why = "high-tech enterprises are counted among the above-designated-size enterprises"
    assert problems(batch) == [
        (
            ("line", 2, "value"),
            f"hitech_enterprises 50 (this row) is more than above_scale_enterprises 20 (line 4) for zone Z in 2024: "
            f"{why}; to correct both, push both in one batch",
        ),
        (
            ("line", 4, "value"),
            f"hitech_enterprises 50 (line 2) is more than above_scale_enterprises 20 (this row) for zone Z in 2024: "
            f"{why}; to correct both, push both in one batch",
        ),
    ]


def test_part_or_whole_pushed_alone_is_checked_against_the_stored_value() -> None:
    batch = parse_json(
        json.dumps(
            {
                "values": [
                    {"zone_code": "Z", "indicator": "hitech_industry_output", "year": 2024, "value": "80.5"},
                    {"zone_code": "Y", "indicator": "above_scale_enterprises", "year": 2024, "value": "9"},
                    {"zone_code": "X", "indicator": "hitech_enterprises", "year": 2024, "value": "30"},
                ]
            }
        ).encode(),
        "k",
    )
    pushed = paired_rows(batch.rows)
    needed = counterpart_keys(pushed)
    assert needed == {
        ("Z", "above_scale_industrial_output", 2024),
        ("Y", "hitech_enterprises", 2024),
        ("X", "above_scale_enterprises", 2024),
    }

    stored = {
        ("Z", "above_scale_industrial_output", 2024): "80.49",
        ("Y", "hitech_enterprises", 2024): "10",
    }  # nothing stored for X: nothing to compare with
    flag_parts_exceeding_wholes(batch, pushed, stored)

    assert [location for location, _ in problems(batch)] == [("values", 0, "value"), ("values", 1, "value")]
    assert problems(batch)[0][1].startswith(
        "hitech_industry_output 80.5 (this row) is more than above_scale_industrial_output 80.49 (stored) for zone Z"
    )
    assert "high-tech industry output is part of above-designated-size industrial output" in problems(batch)[0][1]
    assert problems(batch)[1][1].startswith(
        "hitech_enterprises 10 (stored) is more than above_scale_enterprises 9 (this row) for zone Y in 2024"
    )


def test_part_equal_to_its_whole_and_a_batch_correcting_both_values_pass() -> None:
    equal = parse_csv(csv("Z,hitech_enterprises,2024,20,", "Z,above_scale_enterprises,2024,20.0,"), "k")
    correcting = parse_csv(csv("Z,hitech_enterprises,2024,5,", "Z,above_scale_enterprises,2024,10,"), "k")
    other_year = parse_csv(csv("Z,hitech_enterprises,2023,50,"), "k")
    stored = {("Z", "hitech_enterprises", 2024): "50", ("Z", "above_scale_enterprises", 2024): "20"}

    for batch in (equal, correcting, other_year):
        flag_parts_exceeding_wholes(batch, paired_rows(batch.rows), stored)

    assert problems(equal) == problems(correcting) == problems(other_year) == []


def test_parse_json_refuses_a_number_beyond_what_decimal_holds_at_its_row() -> None:
    body = b'{"values": [{"zone_code": "LYG", "indicator": "gdp", "year": 2024, "value": 1e999999999999999999999}]}'

    batch = parse_json(body, "key")

    assert problems(batch) == [(("values", 0, "value"), "too large: at most 15 digits before the decimal point")]
