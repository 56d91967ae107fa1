"""What free text the platform accepts: no control characters (NUL, line breaks, escapes).

A NUL cannot be stored in a PostgreSQL text column at all (the insert fails), and the others have no place in
a name or a source: refusing them, named, keeps one answer for every database and every log.
"""

from __future__ import annotations

import re

# C0 controls (tab and line breaks included), DEL and the C1 controls.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


# Free text over several lines (a value's source) may hold these; a name may not.
LINE_BREAKS_AND_TABS = "\t\n\r"


def control_character_problem(text: str, allowed: str = "") -> str:
    """'' when `text` holds no control character but those `allowed`, else what is wrong, naming the first one
    and where."""
    if text.isprintable():  # no control character at all (C speed: this runs once per row of a 100,000-row batch)
        return ""
    for found in _CONTROL.finditer(text):
        if found.group() not in allowed:
            return f"must not contain control characters (U+{ord(found.group()):04X} at position {found.start() + 1})"
    return ""


MAX_NAME_LENGTH = 200


def name_problem(name: str) -> str:
    """'' for a name the platform keeps (non-blank, at most 200 characters, printable), else what is wrong."""
    if not name.strip() or len(name) > MAX_NAME_LENGTH:
        return f"must be a non-blank name of at most {MAX_NAME_LENGTH} characters"
    return control_character_problem(name)
