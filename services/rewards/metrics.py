"""Business metrics of the rewards service (the dashboard's "awards granted" panels read them).

Counted when the transaction that granted or revoked commits, never for one that rolled back: `ledger.apply`
notes its changes on the connection, and the engine's commit and rollback events settle them. A reinstatement (a
revoked award granted again as it was) counts as a grant, its amount back in the granted yuan: granted minus
revoked is always what the ledger holds as granted (`GET /v1/awards/summary`).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter
from sqlalchemy import Engine, event

from services.rewards.domain.rules import RULES

AWARDS_GRANTED = Counter("gaoxin_awards_granted_total", "Awards granted (reinstatements included), by rule.", ["rule"])
AWARDS_REVOKED = Counter("gaoxin_awards_revoked_total", "Awards revoked, by rule.", ["rule"])
AWARDED_YUAN = Counter(
    "gaoxin_awards_granted_yuan_total", "Yuan granted (reinstatements included), by rule, before revocations.", ["rule"]
)
REVOKED_YUAN = Counter("gaoxin_awards_revoked_yuan_total", "Yuan of the awards revoked, by rule.", ["rule"])

for _rule in RULES:  # every series exists from the start, so rate() and alerts see the first award
    for _counter in (AWARDS_GRANTED, AWARDS_REVOKED, AWARDED_YUAN, REVOKED_YUAN):
        _counter.labels(_rule.id)

_PENDING = "gaoxin.rewards.metrics.pending"


def note(conn: Any, granted: bool, rule: str, amount_yuan: int) -> None:
    """Remember one grant (or reinstatement) or revocation made on this connection, to count when its transaction
    commits."""
    conn.info.setdefault(_PENDING, []).append((granted, rule, amount_yuan))


def count_on_commit(engine: Engine) -> None:
    """Settle what `note` remembered when each transaction of `engine` commits; forget it on rollback."""

    def committed(conn: Any) -> None:
        for granted, rule, amount in conn.info.pop(_PENDING, ()):
            (AWARDS_GRANTED if granted else AWARDS_REVOKED).labels(rule).inc()
            (AWARDED_YUAN if granted else REVOKED_YUAN).labels(rule).inc(amount)

    def rolled_back(conn: Any) -> None:
        conn.info.pop(_PENDING, None)

    event.listen(engine, "commit", committed)
    event.listen(engine, "rollback", rolled_back)
