from __future__ import annotations

import pytest

from services.common.text import LINE_BREAKS_AND_TABS, control_character_problem, name_problem


@pytest.mark.parametrize("text", ["连云港高新区", " spaced name ", "O'Brien & Co. (Ltd.)", "emoji 🚀", ""])
def test_printable_text_passes(text: str) -> None:
    assert control_character_problem(text) == ""


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("a\x00b", "U+0000 at position 2"),
        ("line\nbreak", "U+000A at position 5"),
        ("\tx", "U+0009 at position 1"),
        ("del\x7f", "U+007F at position 4"),
        ("c1\x85", "U+0085 at position 3"),
    ],
)
def test_a_control_character_is_named_with_its_position(text: str, named: str) -> None:
    assert named in control_character_problem(text)


def test_names_are_non_blank_short_and_printable() -> None:
    assert name_problem("海州区") == ""
    assert "non-blank" in name_problem("   ")
    assert "at most 200" in name_problem("x" * 201)
    assert name_problem("x" * 200) == ""
    assert "U+0000" in name_problem("a\x00b")


def test_multi_line_text_may_allow_line_breaks_and_tabs_but_never_nul() -> None:
    assert control_character_problem("two\r\nlines\tand a tab", LINE_BREAKS_AND_TABS) == ""
    assert "U+0000" in control_character_problem("two\nlines\x00", LINE_BREAKS_AND_TABS)
