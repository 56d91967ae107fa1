"""Unified social credit codes (统一社会信用代码, GB 32100-2015), validated with both check characters.

Layout of the 18 characters: 1 registration authority, 2 entity type, 3-8 division code (行政区划码), 9-17 the
organisation code (组织机构代码, GB 11714: 8 characters and its own check character at 17), 18 the check character.

Lower-case input is refused, not upper-cased: the code is an identifier printed in capitals on the business
licence, and a portal sending lower case has a bug worth seeing; the message names the upper-case form.
"""

from __future__ import annotations

import random

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
_VALUE = {c: i for i, c in enumerate(CHARSET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3**(i-1) mod 31
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
LENGTH = 18


def _org_value(char: str) -> int:
    """GB 11714 values: digits 0-9, letters A=10 … Z=35."""
    return int(char) if char.isdigit() else ord(char) - ord("A") + 10


def organisation_check(body: str) -> str:
    """The GB 11714 check character of an 8-character organisation code body."""
    c = 11 - sum(w * _org_value(ch) for w, ch in zip(_ORG_WEIGHTS, body, strict=True)) % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def credit_check(first17: str) -> str:
    """The GB 32100-2015 check character of the first 17 characters."""
    return CHARSET[(31 - sum(w * _VALUE[ch] for w, ch in zip(_WEIGHTS, first17, strict=True)) % 31) % 31]


def credit_code_problems(code: str) -> list[str]:
    """Why `code` is not a valid unified social credit code; empty when it is."""
    if len(code) != LENGTH:
        return [f"must be {LENGTH} characters (统一社会信用代码), found {len(code)}"]
    if code != code.upper():
        return [f"letters must be upper case: did you mean '{code.upper()}'?"]
    bad = [(i, ch) for i, ch in enumerate(code, 1) if ch not in _VALUE]
    if bad:
        return [
            f"character '{ch}' at position {i} is not allowed (GB 32100-2015 uses 0-9 and A-Z without I, O, S, V, Z)"
            for i, ch in bad
        ]
    problems = []
    if not code[2:8].isdigit():
        problems.append(f"positions 3-8 must be the 6-digit division code (行政区划码), found '{code[2:8]}'")
    expected_org = organisation_check(code[8:16])
    if code[16] != expected_org:
        problems.append(
            f"organisation code check character (position 17, GB 11714) should be '{expected_org}', found '{code[16]}'"
        )
    expected = credit_check(code[:17])
    if code[17] != expected:
        problems.append(f"check character (position 18, GB 32100-2015) should be '{expected}', found '{code[17]}'")
    return problems


def make_credit_code(division_code: str, organisation_body: str, prefix: str = "91") -> str:
    """A valid code from its parts; "91" is an enterprise registered with market regulation (工商, 企业)."""
    if len(prefix) != 2 or len(division_code) != 6 or not division_code.isdigit() or len(organisation_body) != 8:
        raise ValueError("need a 2-character prefix, a 6-digit division code and an 8-character organisation body")
    if any(ch not in _VALUE for ch in prefix + organisation_body):
        raise ValueError("characters outside the GB 32100-2015 set")
    first17 = prefix + division_code + organisation_body + organisation_check(organisation_body)
    return first17 + credit_check(first17)


def random_credit_code(rng: random.Random, division_code: str = "320706") -> str:
    """A valid, invented code for demo data and tests (seed the generator for a stable one)."""
    body = "".join(rng.choice(CHARSET) for _ in range(8))
    return make_credit_code(division_code, body)
