from __future__ import annotations

import random

import pytest

from services.indicators.domain.credit_code import (
    credit_check,
    credit_code_problems,
    make_credit_code,
    organisation_check,
    random_credit_code,
)

# Published codes of well-known firms: the algorithm must accept real codes, not just its own output.
REAL = ["9144030071526726XG", "91110108551385082Q", "91350100M000100Y43"]


@pytest.mark.parametrize("code", REAL)
def test_validate_credit_code_accepts_published_codes(code: str) -> None:
    assert credit_code_problems(code) == []


def test_validate_credit_code_names_wrong_check_character_and_the_right_one() -> None:
    assert credit_code_problems("9144030071526726XA") == [
        "check character (position 18, GB 32100-2015) should be 'G', found 'A'"
    ]


def test_validate_credit_code_checks_the_organisation_code_at_position_17() -> None:
    code = "91440300715267261G"  # organisation check should be X
    problems = credit_code_problems(code)
    assert problems[0] == "organisation code check character (position 17, GB 11714) should be 'X', found '1'"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("91440300715267", "must be 18 characters (统一社会信用代码), found 14"),
        ("9144030071526726XGX", "must be 18 characters (统一社会信用代码), found 19"),
        ("9144030071526726xg", "letters must be upper case: did you mean '9144030071526726XG'?"),
        ("9144030071526O26XG", "character 'O' at position 14 is not allowed"),
        ("91AB030071526726XG", "positions 3-8 must be the 6-digit division code (行政区划码), found 'AB0300'"),
    ],
)
def test_validate_credit_code_rejects_each_malformation_with_its_own_message(code: str, message: str) -> None:
    assert credit_code_problems(code)[0].startswith(message)


@pytest.mark.parametrize("excluded", "IOSVZ")
def test_validate_credit_code_refuses_letters_outside_the_charset(excluded: str) -> None:
    code = "9144030071526726" + excluded + "G"
    assert f"character '{excluded}' at position 17 is not allowed" in credit_code_problems(code)[0]


def test_organisation_check_maps_10_to_x_and_11_to_0() -> None:
    assert organisation_check("71526726") == "X"
    bodies = ("".join(random.Random(seed).choice("0123456789") for _ in range(8)) for seed in range(2000))
    assert "0" in {organisation_check(body) for body in bodies}


def test_generated_credit_codes_are_valid_and_reproducible() -> None:
    rng = random.Random(7)
    codes = [random_credit_code(rng, "320772") for _ in range(500)]

    assert all(credit_code_problems(code) == [] for code in codes)
    assert all(code.startswith("91320772") for code in codes)
    assert random_credit_code(random.Random(7), "320772") == codes[0]


def test_make_credit_code_computes_both_check_characters() -> None:
    code = make_credit_code("440300", "71526726")
    assert code == "9144030071526726XG"
    assert credit_check(code[:17]) == "G"


@pytest.mark.parametrize(("division", "body"), [("32070", "12345678"), ("320706", "1234567"), ("320706", "1234567O")])
def test_make_credit_code_refuses_bad_parts(division: str, body: str) -> None:
    with pytest.raises(ValueError):
        make_credit_code(division, body)
