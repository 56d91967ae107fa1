"""Opaque page tokens and page-size limits shared by every list endpoint.

These are the positions behind the public tokens: the gateway seals them (services/gateway/page_tokens.py), so
only a position this API issued, for the same list and filters, reaches a decoder. The decoders still refuse a
position of the wrong type or range with InvalidArgument (422 at `page_token`), never letting one reach a query
(defence in depth: a caller of the gRPC API sends what it likes).
"""

from __future__ import annotations

import base64
import json

from services.common.errors import FieldViolation, InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
# Sequence numbers are 64-bit signed integers in every table that has them.
MAX_SEQUENCE = 2**63 - 1
# Codes and ids that positions name (zone codes, key and webhook ids) are far shorter.
MAX_TEXT_POSITION = 128


def page_size(requested: int) -> int:
    """0 means the default; anything above the maximum is coerced to it."""
    if requested < 0:
        raise InvalidArgument("page_size must be positive", [FieldViolation(("page_size",), "must be positive")])
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_token(after: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(after).encode()).decode().rstrip("=")


def unrecognised_token(why: str = "unrecognised page token") -> InvalidArgument:
    return InvalidArgument("page_token is not one this API issued", [FieldViolation(("page_token",), why)])


def decode_token(token: str) -> object:
    if not token:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested deeper than the parser goes
        raise unrecognised_token() from exc


def decode_sequence(token: str) -> int | None:
    """A position that is a sequence number (awards, the audit log): an integer 0…2^63-1 (not a boolean, which
    JSON's `true` would give), or None for the first page."""
    after = decode_token(token)
    if after is None:
        return None
    if type(after) is not int or not 0 <= after <= MAX_SEQUENCE:
        raise unrecognised_token("unrecognised page token: not a position in this list")
    return after


def decode_text_position(token: str) -> str | None:
    """A position that is a code (zones): printable text of at most MAX_TEXT_POSITION characters (no NUL, which
    PostgreSQL cannot even compare), or None for the first page."""
    after = decode_token(token)
    if after is None:
        return None
    if not isinstance(after, str) or not after or len(after) > MAX_TEXT_POSITION or not after.isprintable():
        raise unrecognised_token("unrecognised page token: not a position in this list")
    return after
