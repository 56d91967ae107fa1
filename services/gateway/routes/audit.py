"""The audit log (scope `admin`): read it, and verify its hash chain."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from pydantic import BaseModel

from services.common.db import reading
from services.common.paging import decode_sequence, encode_token
from services.gateway import store
from services.gateway.deps import Admin
from services.gateway.domain.audit import GENESIS, AuditEntry, first_break
from services.gateway.json_route import StrictJsonRoute
from services.gateway.page_tokens import Paging
from services.gateway.schemas import PageSize

router = APIRouter(prefix="/v1", tags=["audit"], route_class=StrictJsonRoute)

VERIFY_BATCH = 5000


class AuditItem(BaseModel):
    seq: int
    at: str
    key_id: str
    action: str
    resource: str
    outcome: int
    request_id: str
    previous_hash: str
    hash: str


class AuditPage(BaseModel):
    items: list[AuditItem]
    next_page_token: str | None


class Verification(BaseModel):
    valid: bool
    entries: int
    first_break: int | None


def _item(entry: AuditEntry, previous_hash: str, digest: str) -> dict[str, Any]:
    return {**entry.__dict__, "previous_hash": previous_hash, "hash": digest}


@router.get("/audit-log", response_model=AuditPage, summary="Audit log entries, oldest first")
async def list_audit(
    request: Request,
    caller: Admin,
    paging: Paging,
    page_size: PageSize = 50,
) -> dict[str, Any]:
    after = decode_sequence(paging.after) or 0
    limit = min(page_size, 1000)

    def work() -> list[tuple[AuditEntry, str, str]]:
        with reading(request.app.state.engine) as conn:
            return store.audit_entries(conn, after, limit + 1)

    rows = await anyio.to_thread.run_sync(work)
    page = rows[:limit]
    return {
        "items": [_item(*row) for row in page],
        "next_page_token": paging.next_token(encode_token(page[-1][0].seq) if len(rows) > limit else None),
    }


def verify_chain(engine: Any) -> dict[str, Any]:
    """Walk the whole chain in batches; shared by the endpoint and `gaoxin audit verify`."""
    count, after, tail = 0, 0, GENESIS
    while True:
        with reading(engine) as conn:
            rows = store.audit_entries(conn, after, VERIFY_BATCH)
        if not rows:
            return {"valid": True, "entries": count, "first_break": None}
        broken = first_break(rows, previous=tail)
        if broken is not None:
            return {"valid": False, "entries": count + len(rows), "first_break": broken}
        count, after, tail = count + len(rows), rows[-1][0].seq, rows[-1][2]


@router.get("/audit-log/verification", response_model=Verification, summary="Check the hash chain end to end")
async def verify(request: Request, caller: Admin) -> dict[str, Any]:
    return await anyio.to_thread.run_sync(verify_chain, request.app.state.engine)
