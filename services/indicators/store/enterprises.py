"""Enterprises and their high-tech certificates: queries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from services.indicators.domain.enterprises import Certificate, EnterpriseRecord
from services.indicators.store.registry import chunks
from services.indicators.store.tables import enterprises, hitech_certificates


def get_enterprise(conn: Connection, credit_code: str) -> EnterpriseRecord | None:
    return get_enterprises(conn, [credit_code]).get(credit_code)


# Built once, with an expanding parameter, so it is compiled once and cached whatever the number of codes.
_ENTERPRISES_WITH_CERTIFICATES = (
    select(
        enterprises.c.credit_code,
        enterprises.c.name,
        enterprises.c.zone_code,
        enterprises.c.above_scale,
        hitech_certificates.c.number,
        hitech_certificates.c.issued_on,
    )
    .select_from(
        enterprises.outerjoin(hitech_certificates, hitech_certificates.c.credit_code == enterprises.c.credit_code)
    )
    .where(enterprises.c.credit_code.in_(bindparam("codes", expanding=True)))
    .order_by(enterprises.c.credit_code, hitech_certificates.c.issued_on)
)


def get_enterprises(conn: Connection, credit_codes: list[str]) -> dict[str, EnterpriseRecord]:
    """The registered ones among `credit_codes`, by code: one query per 500 codes."""
    rows: dict[str, list[Any]] = {}
    for chunk in chunks(sorted(set(credit_codes))):
        for row in conn.execute(_ENTERPRISES_WITH_CERTIFICATES, {"codes": chunk}):
            rows.setdefault(row.credit_code, []).append(row)
    return {
        code: EnterpriseRecord(
            code,
            held[0].name,
            held[0].zone_code,
            held[0].above_scale,
            tuple(Certificate(row.number, row.issued_on) for row in held if row.number is not None),
        )
        for code, held in rows.items()
    }


def upsert_enterprises(conn: Connection, records: list[EnterpriseRecord]) -> tuple[int, int, int]:
    """(created, updated, unchanged). A pushed certificate is added to the enterprise's certificates; one with the
    same issue date as a held one corrects its number. An enterprise pushed exactly as held is left untouched."""
    now = datetime.now(UTC)
    codes = [r.credit_code for r in records]
    existing: dict[str, tuple[object, ...]] = {}
    held: dict[tuple[str, object], str] = {}
    e = enterprises.c
    for chunk in chunks(codes):
        held_rows = select(e.credit_code, e.name, e.zone_code, e.above_scale).where(e.credit_code.in_(chunk))
        for row in conn.execute(held_rows):
            existing[row.credit_code] = (row.name, row.zone_code, row.above_scale)
        for c in conn.execute(select(hitech_certificates).where(hitech_certificates.c.credit_code.in_(chunk))):
            held[(c.credit_code, c.issued_on)] = c.number
    rows = [
        {"credit_code": r.credit_code, "name": r.name, "zone_code": r.zone_code, "above_scale": r.above_scale}
        for r in records
    ]
    new = [{**row, "updated_at": now} for row in rows if row["credit_code"] not in existing]
    certificate_news = {
        r.credit_code for r in records for c in r.certificates if held.get((r.credit_code, c.issued_on)) != c.number
    }
    changed = [
        {**{f"b_{k}": v for k, v in row.items()}, "updated_at": now}
        for row in rows
        if (code := str(row["credit_code"])) in existing
        and (existing[code] != (row["name"], row["zone_code"], row["above_scale"]) or code in certificate_news)
    ]
    if new:
        conn.execute(enterprises.insert(), new)
    if changed:
        conn.execute(
            enterprises.update()
            .where(enterprises.c.credit_code == bindparam("b_credit_code"))
            .values(
                name=bindparam("b_name"),
                zone_code=bindparam("b_zone_code"),
                above_scale=bindparam("b_above_scale"),
                updated_at=bindparam("updated_at"),
            ),
            changed,
        )
    certificates = [(r.credit_code, c) for r in records for c in r.certificates]
    added = [
        {"credit_code": code, "issued_on": c.issued_on, "number": c.number, "recorded_at": now}
        for code, c in certificates
        if (code, c.issued_on) not in held
    ]
    corrected = [
        {"b_credit_code": code, "b_issued_on": c.issued_on, "b_number": c.number}
        for code, c in certificates
        if held.get((code, c.issued_on), c.number) != c.number
    ]
    if added:
        conn.execute(hitech_certificates.insert(), added)
    if corrected:
        t = hitech_certificates.c
        conn.execute(
            hitech_certificates.update()
            .where(t.credit_code == bindparam("b_credit_code"), t.issued_on == bindparam("b_issued_on"))
            .values(number=bindparam("b_number")),
            corrected,
        )
    return len(new), len(changed), len(rows) - len(new) - len(changed)
