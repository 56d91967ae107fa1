"""Recording every write to the hash-chained audit log: who, what, when, outcome, request id — no bodies."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import anyio.to_thread
from prometheus_client import Counter
from sqlalchemy import Engine

from services.common.db import transaction
from services.gateway import store

log = logging.getLogger(__name__)

AUDITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
AUDIT_FAILURES = Counter("gaoxin_audit_write_failures_total", "Audit log entries that could not be written.")


class AuditTrail:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _append(self, key_id: str, action: str, resource: str, outcome: int, request_id: str) -> None:
        with transaction(self.engine) as conn:
            store.append_audit(
                conn,
                datetime.now(UTC).isoformat(timespec="microseconds"),
                key_id,
                action,
                resource,
                outcome,
                request_id,
            )

    async def record(self, key_id: str, action: str, resource: str, outcome: int, request_id: str) -> None:
        try:
            await anyio.to_thread.run_sync(self._append, key_id, action, resource, outcome, request_id)
        except Exception:
            AUDIT_FAILURES.inc()
            log.exception("audit log write failed", extra={"fields": {"action": action, "outcome": outcome}})
