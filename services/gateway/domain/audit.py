"""The audit log's hash chain: each entry's hash covers its content and the previous entry's hash, so changing,
removing or reordering any entry breaks every hash after it. Pure; storage is in store.py."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str  # ISO-8601 UTC
    key_id: str  # "anonymous" when no valid key was presented
    action: str  # method and route template, e.g. "PUT /v1/zones/{zone_code}"
    resource: str  # the path as requested (codes and ids only: bodies are never recorded)
    outcome: int  # HTTP status
    request_id: str


def entry_hash(entry: AuditEntry, previous_hash: str) -> str:
    # vars(), not asdict(): the fields are flat str and int, and asdict's recursive deep copy was half the CPU of
    # appending a batch. Same dict, so the same JSON and hash.
    canonical = json.dumps(vars(entry), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{previous_hash}\n{canonical}".encode()).hexdigest()


def first_break(chain: Iterable[tuple[AuditEntry, str, str]], previous: str = GENESIS) -> int | None:
    """The seq of the first entry whose (previous_hash, hash) does not follow from its predecessors, or None.

    `previous` is the hash the chain continues from (GENESIS for the first entry; a batch's predecessor).
    """
    expected_previous = previous
    for entry, previous_hash, stored_hash in chain:
        if previous_hash != expected_previous or entry_hash(entry, previous_hash) != stored_hash:
            return entry.seq
        expected_previous = stored_hash
    return None
