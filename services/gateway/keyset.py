"""Keyset paging of the gateway's own lists (API keys, webhooks, deliveries) by (created_at, id), and of short
lists a backend answers whole (the indicator catalogue, a zone's ranks) by a key of their own.

The tokens here are the positions inside the public ones: routes seal them with `page_tokens.Paging`.

A page token names the last row of the previous page, so a row added while a client pages never shifts a
later page; the id breaks ties between rows created in the same instant.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from services.common.errors import InvalidArgument
from services.common.paging import MAX_PAGE_SIZE, MAX_TEXT_POSITION, decode_token, encode_token
from services.gateway.problems import Problem
from services.gateway.wire import iso_datetime

Row = TypeVar("Row")
Position = tuple[datetime, str]
Key = tuple[int | str, ...]


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
        if not (0 < len(after[1]) <= MAX_TEXT_POSITION and after[1].isprintable()):
            raise ValueError("not an id")  # a NUL would reach PostgreSQL, which cannot compare one
        at = datetime.fromisoformat(after[0])
        if at.tzinfo is None:
            raise ValueError("no time zone")
        return at, after[1]
    except (ValueError, InvalidArgument):
        raise _unrecognised_token() from None


def _unrecognised_token() -> Problem:
    return Problem(
        422,
        "unrecognised page token",
        "validation_failed",
        [{"location": ["query", "page_token"], "message": "unrecognised page token"}],
    )


def page(rows: Sequence[Row], limit: int, key: Callable[[Row], Position]) -> tuple[list[Row], str | None]:
    """`rows` as read with `limit + 1`: the page, and the token of the next one when there is more."""
    shown = list(rows[:limit])
    if len(rows) <= limit:
        return shown, None
    at, ident = key(shown[-1])
    return shown, encode_token([iso_datetime(at), ident])


def page_of_whole(
    rows: Sequence[Row], page_size: int, token: str | None, key: Callable[[Row], Key], shape: tuple[type, ...]
) -> tuple[list[Row], str | None]:
    """A page of a list a backend answers whole, in `key` order: the rows after the key the token names (so a row
    removed between pages shifts nothing), and the next page's token when there is more. `shape` is the types of
    the key's parts: a token of another shape is 422 at `query.page_token`."""
    ordered = sorted(rows, key=key)
    try:
        after = decode_token(token or "")
    except InvalidArgument:
        raise _unrecognised_token() from None
    if after is not None:
        if not (
            isinstance(after, list)
            and len(after) == len(shape)
            and all(type(part) is kind for part, kind in zip(after, shape, strict=True))
        ):
            raise _unrecognised_token()
        start = tuple(after)
        ordered = [row for row in ordered if key(row) > start]
    limit = limit_of(page_size)
    shown = ordered[:limit]
    return shown, encode_token(list(key(shown[-1]))) if len(ordered) > limit else None
