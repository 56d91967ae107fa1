"""API keys: a recognisable prefix, a random secret, only a hash kept at rest."""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

KEY_PREFIX = "gx_"


class Scope(StrEnum):
    DATA_WRITE = "data:write"
    READ = "read"
    TALENT_CHECK = "talent:check"
    ADMIN = "admin"


ALL_SCOPES: tuple[Scope, ...] = tuple(Scope)


def new_key() -> tuple[str, str]:
    """A new (key_id, key). The key id is public (listings, logs); the key is shown once."""
    key_id = secrets.token_hex(6)
    return key_id, f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def key_hash(key: str) -> str:
    # Keys are 256-bit random secrets, so one round of SHA-256 is enough; a bootstrap key chosen by an
    # operator must be long (Settings refuses one shorter than MIN_BOOTSTRAP_ADMIN_KEY_LENGTH).
    return hashlib.sha256(key.encode()).hexdigest()
