"""Keyset paging of the gateway's own lists (API keys, webhooks, deliveries) by (created_at, id).

A page token names the last row of the previous page, so a row added while a client pages never shifts a
later page; the id breaks ties between rows created in the same instant.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from services.common.errors import InvalidArgument
from services.common.paging import MAX_PAGE_SIZE, decode_token, encode_token
from services.gateway.problems import Problem
from services.gateway.wire import iso_datetime

Row = TypeVar("Row")
Position = tuple[datetime, str]


def limit_of(page_size: int) -> int:
    return min(page_size, MAX_PAGE_SIZE)


def position(token: str | None) -> Position | None:
    """The (created_at, id) a page token names; 422 at `query.page_token` for anything this API did not issue."""
    try:
        after = decode_token(token or "")
        if after is None:
            return None
        if not (isinstance(after, list) and len(after) == 2 and all(isinstance(part, str) for part in after)):
            raise ValueError("not a position")
        at = datetime.fromisoformat(after[0])
        if at.tzinfo is None:
            raise ValueError("no time zone")
        return at, after[1]
    except (ValueError, InvalidArgument):
        raise Problem(
            422,
            "unrecognised page token",
            "validation_failed",
            [{"location": ["query", "page_token"], "message": "unrecognised page token"}],
        ) from None


def page(rows: Sequence[Row], limit: int, key: Callable[[Row], Position]) -> tuple[list[Row], str | None]:
    """`rows` as read with `limit + 1`: the page, and the token of the next one when there is more."""
    shown = list(rows[:limit])
    if len(rows) <= limit:
        return shown, None
    at, ident = key(shown[-1])
    return shown, encode_token([iso_datetime(at), ident])
