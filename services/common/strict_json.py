"""JSON as the platform reads a request body: an object naming one member twice is refused.

RFC 8259 (section 4) says names within an object SHOULD be unique and that software receiving duplicates behaves
unpredictably; Python keeps the last one. A talent check of `{"nationality": "DE", "nationality": "CN"}` would be
decided on whichever one a parser kept, so the question goes back to the client instead.
"""

from __future__ import annotations

import json
from typing import Any


class DuplicateMember(ValueError):
    """An object in the body names a member twice."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the request body names the member {name!r} twice in one object")
        self.name = name


def no_duplicate_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`object_pairs_hook` for json.loads: the object, or DuplicateMember."""
    found: dict[str, Any] = {}
    for name, value in pairs:
        if name in found:
            raise DuplicateMember(name)
        found[name] = value
    return found


def loads(data: str | bytes, **options: Any) -> Any:
    """json.loads, refusing duplicate member names (DuplicateMember, a ValueError)."""
    return json.loads(data, object_pairs_hook=no_duplicate_members, **options)
