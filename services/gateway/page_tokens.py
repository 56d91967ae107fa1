"""Page tokens as the public API hands them out: authenticated, and bound to the list and the filters they came from.

Behind a token is a position in a list: the last key of the page before, as the backend that answered the list
encoded it (zones, awards) or as the gateway's own keyset paging did (`keyset`, the audit log). The gateway seals
that position here, once for every list: a token is `<payload>.<mac>`, both base64url without padding, where
payload is the JSON `[path, filters, position]` and mac the first 16 bytes of an HMAC-SHA256 of it under a key
generated once per installation and kept in the gateway's database (`store.gateway_secret`), so that every
replica accepts the tokens of every other. `path` is the list's own path (`/v1/zones/GY-DEMO/ranks`), `filters`
the query parameters the route declares other than `page_token` and `page_size`, as the request gave them.

A token is opened only if its MAC is right (checked before its payload is read), names this list and these
filters; anything else is a 422 at `["query", "page_token"]` saying which. The position inside is then trusted to
be one this API issued, and the decoders behind it still refuse one of the wrong type or range.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.dependencies.models import Dependant

from services.gateway.problems import Problem

SECRET_NAME = "page_tokens"  # noqa: S105 - the name of a row in gateway_secrets, not a secret
MAC_BYTES = 16
# Far above any token this API issues (a path, a few filters, a key of the list); longer is refused unread.
MAX_TOKEN_CHARS = 2048
_DOMAIN = b"gaoxin page token v1\0"
# Paging parameters: not filters, so a client may change its page size from one page to the next.
_NOT_FILTERS = frozenset({"page_token", "page_size"})

CONTINUATION_HELP = (
    "`next_page_token` of the previous page of this same list, requested with the same filters (`page_size` may "
    "change); a token this API did not issue, or issued for another list or other filters, is a 422"
)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _refused(message: str, detail: str = "unrecognised page token") -> Problem:
    return Problem(422, detail, "validation_failed", [{"location": ["query", "page_token"], "message": message}])


def _shown(filters: str) -> str:
    return filters or "no filters"


class PageTokens:
    """Seals positions into tokens and opens them again, under the installation's key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a page-token key needs at least 16 bytes")
        self._key = key

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, _DOMAIN + payload, hashlib.sha256).digest()[:MAC_BYTES]

    def seal(self, path: str, filters: str, position: str) -> str:
        payload = json.dumps([path, filters, position], ensure_ascii=False, separators=(",", ":")).encode()
        return f"{_b64encode(payload)}.{_b64encode(self._mac(payload))}"

    def open(self, path: str, filters: str, token: str) -> str:
        """The position `token` holds, when this API issued it for this list and these filters; else a 422."""
        payload = self._authenticated(token)
        try:
            issued_path, issued_filters, position = json.loads(payload)
        except (ValueError, TypeError):  # cannot happen for a payload seal() wrote
            raise _refused("unrecognised page token") from None
        if not all(isinstance(part, str) for part in (issued_path, issued_filters, position)):
            raise _refused("unrecognised page token")
        if issued_path != path:
            raise _refused(
                f"this page token was issued for the list at {issued_path}, not {path}",
                "page token of another list",
            )
        if issued_filters != filters:
            raise _refused(
                f"this page token was issued with {_shown(issued_filters)}, not {_shown(filters)}: "
                "request every page of a list with the same filters",
                "page token issued with other filters",
            )
        return str(position)

    def _authenticated(self, token: str) -> bytes:
        unrecognised = _refused("not a page token this API issued (or it was altered)")
        if len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
            raise unrecognised
        payload_text, mac_text = token.split(".")
        try:
            payload, mac = _b64decode(payload_text), _b64decode(mac_text)
        except (binascii.Error, ValueError):
            raise unrecognised from None
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise unrecognised
        return payload


@dataclass(frozen=True)
class Pager:
    """What a list route needs of its page token: `after`, the position to continue from ("" on the first page),
    and `next_token`, which seals the position of the next page for this same list and filters."""

    after: str
    path: str
    filters: str
    tokens: PageTokens

    def next_token(self, position: str | None) -> str | None:
        return self.tokens.seal(self.path, self.filters, position) if position else None


def _query_names(dependant: Dependant) -> Iterator[str]:
    for field in dependant.query_params:
        yield field.alias
    for sub in dependant.dependencies:
        yield from _query_names(sub)


def filters_of(request: Request) -> str:
    """The query parameters of the route serving `request`, paging aside, as the request gave them (canonical:
    sorted, URL-encoded); not the undeclared ones, which the route ignores."""
    route: Any = request.scope.get("route")
    dependant: Dependant | None = getattr(route, "dependant", None)
    names = frozenset(request.query_params if dependant is None else _query_names(dependant)) - _NOT_FILTERS
    return urlencode(sorted((name, value) for name in names for value in request.query_params.getlist(name)))


async def pager(
    request: Request, page_token: Annotated[str | None, Query(description=CONTINUATION_HELP)] = None
) -> Pager:
    tokens: PageTokens = request.app.state.page_tokens
    path, filters = request.url.path, filters_of(request)
    after = tokens.open(path, filters, page_token) if page_token else ""
    return Pager(after, path, filters, tokens)


# A list route's paging: declare `paging: Paging` (beside `page_size: PageSize`), continue from `paging.after`,
# and answer `paging.next_token(position of the next page, or None)`.
Paging = Annotated[Pager, Depends(pager)]
