"""Opaque page tokens and page-size limits shared by every list endpoint."""

from __future__ import annotations

import base64
import json

from services.common.errors import FieldViolation, InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def page_size(requested: int) -> int:
    """0 means the default; anything above the maximum is coerced to it."""
    if requested < 0:
        raise InvalidArgument("page_size must be positive", [FieldViolation(("page_size",), "must be positive")])
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_token(after: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(after).encode()).decode().rstrip("=")


def decode_token(token: str) -> object:
    if not token:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError as exc:
        raise InvalidArgument(
            "page_token is not one this API issued",
            [FieldViolation(("page_token",), "unrecognised page token")],
        ) from exc
