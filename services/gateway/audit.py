"""Recording every write to the hash-chained audit log: who, what, when, outcome, request id — no bodies."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from prometheus_client import Counter
from sqlalchemy import Engine

from services.common.db import BatchWriter
from services.gateway import store
from services.gateway.domain.audit import AuditEntry

log = logging.getLogger(__name__)

AUDITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# While busy, a batch of entries waits this long for more (BatchWriter): fewer head reads and commits per write.
GATHER_SECONDS = 0.003
AUDIT_FAILURES = Counter("gaoxin_audit_write_failures_total", "Audit log entries that could not be written.")


class AuditTrail:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Every write request appends here, and every entry extends one hash chain. From a thread each, the appends
        # queued on SQLite's lock in sleeps of 1 to 100 ms; one writer thread appends whatever is waiting in one
        # transaction, in arrival order, so the chain is as if appended one by one. As a batch, the entries cost
        # one read of the head, one INSERT and one head update, not three statements each.
        self.writer: BatchWriter[store.AuditRecord, AuditEntry] = BatchWriter(
            engine, store.append_audit_batch, "audit-writer", GATHER_SECONDS
        )

    async def record(self, key_id: str, action: str, resource: str, outcome: int, request_id: str) -> None:
        """Append one entry; returns once it is committed (or its failure counted and logged)."""
        # Stamped here, as the response starts: on this one event loop, so times rise with the queue's order.
        # Always six decimals, so the texts sort as the moments do; `Z` like every other timestamp of the API. The
        # hash covers the text as stored: entries written before the `Z` keep their `+00:00`.
        at = datetime.now(UTC).isoformat(timespec="microseconds").removesuffix("+00:00") + "Z"
        try:
            await self.writer.write(store.AuditRecord(at, key_id, action, resource, outcome, request_id))
        except Exception:
            AUDIT_FAILURES.inc()
            log.exception("audit log write failed", extra={"fields": {"action": action, "outcome": outcome}})
