"""No personal value of an applicant is kept or shown anywhere: databases, logs, events, metrics.

A set of checks runs with distinctive names, passport numbers, birth dates and a letter number; then every
SQLite file under the data dir (with its WAL), every log, every message on GAOXIN_TALENT and the /metrics of
the gateway and the services are searched, raw, for each value in every form it could take: as written, in
other date formats, JSON-escaped, and as a plain (unkeyed) hash, which a pseudonym must never be.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import stat
from datetime import date
from pathlib import Path

import httpx
import nats
from sqlalchemy import select

from services.common.config import DEVELOPMENT_PSEUDONYM_KEY
from services.common.db import make_engine, reading
from services.platform import PSEUDONYM_KEY_FILE, Platform
from services.talent import store
from services.talent.pseudonyms import Pseudonymizer
from tests.e2e.conftest import eventually
from tests.e2e.talent.conftest import IN_NATIONAL_ZONE

NAMES = ("Quirinius Zabrowski-Oyelaran", "司马蔚然")
PASSPORTS = ("ZQ8841773", "KX0290417")
BIRTH_DATES = (date(1961, 7, 23), date(1959, 11, 14))
LETTER_NUMBER = "苏科外确〔2025〕第 0917 号"


def date_forms(d: date) -> set[str]:
    return {
        d.isoformat(),
        d.strftime("%Y%m%d"),
        d.strftime("%Y/%m/%d"),
        d.strftime("%d.%m.%Y"),
        d.strftime("%m/%d/%Y"),
        d.strftime("%d/%m/%Y"),
        f"{d.year}-{d.month}-{d.day}",
        f"{d.year}年{d.month}月{d.day}日",
    }


def forms(value: str) -> set[bytes]:
    """Every byte string under which `value` could have been kept."""
    texts = {value, value.upper(), value.casefold(), value.replace(" ", "")}
    found = {t.encode() for t in texts}
    escaped = {json.dumps(t).strip('"') for t in texts}  # \\uXXXX escapes, as JSON columns store them
    escaped |= {re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m[1].upper(), e) for e in escaped}
    found |= {e.encode() for e in escaped}
    found |= {hashlib.sha256(t.encode()).hexdigest().encode() for t in texts}
    found |= {hashlib.md5(t.encode()).hexdigest().encode() for t in texts}  # noqa: S324 - looked for, not used
    return {f for f in found if len(f) >= 6}


def personal_values() -> dict[str, set[bytes]]:
    values = {name: forms(name) for name in NAMES + PASSPORTS + (LETTER_NUMBER,)}
    for born in BIRTH_DATES:
        values[born.isoformat()] = {f for text in date_forms(born) for f in forms(text)}
    return values


def run_checks(api: httpx.Client) -> list[str]:
    """Checks of every kind, one through an Idempotency-Key, one refused; the recorded decision ids."""
    ids: list[str] = []
    for i, (name, passport, born) in enumerate(zip(NAMES, PASSPORTS, BIRTH_DATES, strict=True)):
        body = {
            "nationality": "DE",
            "birth_date": born.isoformat(),
            "application_date": "2026-03-02",
            "talent_category": "A",
            "employer_credit_code": IN_NATIONAL_ZONE,
            "approval_authority_level": "provincial",
            "name": name,
            "passport_number": passport,
        }
        reply = api.post("/v1/talent/work-permit-age:check", json=body, headers={"Idempotency-Key": f"privacy-{i}"})
        assert reply.status_code == 200, reply.text
        ids.append(reply.json()["decision_id"])
        letter = {"issuer_level": "provincial", "issued_on": "2025-12-01", "number": LETTER_NUMBER}
        visa = {"nationality": "DE", "talent_type": "high_level", "confirmation_letter": letter, "name": name}
        reply = api.post("/v1/talent/r-visa:check", json=visa | {"passport_number": passport})
        assert reply.status_code == 200, reply.text
        ids.append(reply.json()["decision_id"])
        rights = {"nationality": "DE", "permanent_residence_card": True, "name": name, "passport_number": passport}
        reply = api.post("/v1/talent/rd-institution-representative:check", json=rights)
        assert reply.status_code == 200, reply.text
        ids.append(reply.json()["decision_id"])
        refused = api.post("/v1/talent/work-permit-age:check", json=body | {"application_date": "1999-13-01"})
        assert refused.status_code == 422
        assert all(name not in text and passport not in text for text in (refused.text, reply.text))
    return ids


def all_published(platform: Platform) -> bool:
    engine = make_engine(platform.settings.database_url("talent"))
    try:
        with reading(engine) as conn:
            pending = conn.execute(select(store.outbox.c.seq).where(store.outbox.c.published_at.is_(None))).all()
        return not pending
    finally:
        engine.dispose()


def stream_messages(platform: Platform) -> list[bytes]:
    async def read() -> list[bytes]:
        nc = await nats.connect(platform.settings.resolved_nats_url)
        try:
            js = nc.jetstream()
            total = (await js.stream_info("GAOXIN_TALENT")).state.messages
            sub = await js.subscribe("gaoxin.talent.>", ordered_consumer=True)
            found = []
            for _ in range(total):
                msg = await sub.next_msg(timeout=5)
                found.append(msg.data + b"".join(f"{k}:{v}".encode() for k, v in (msg.headers or {}).items()))
            return found
        finally:
            await nc.close()

    return asyncio.run(read())


def test_no_personal_value_in_databases_logs_events_or_metrics(
    talent_api: httpx.Client, talent_platform: Platform
) -> None:
    decision_ids = run_checks(talent_api)
    assert eventually(lambda: all_published(talent_platform))
    settings = talent_platform.settings
    metrics_urls = [f"{talent_platform.gateway_url}/metrics"] + [
        f"http://127.0.0.1:{settings.metrics_port(s)}/metrics" for s in ("talent", "indicators", "rewards")
    ]

    places: dict[str, bytes] = {}
    for path in sorted(talent_platform.data_dir.rglob("*.db*")):  # the databases with their -wal and -shm
        places[str(path)] = path.read_bytes()
    for path in sorted(talent_platform.log_dir.glob("*.log")):
        places[str(path)] = path.read_bytes()
    for i, message in enumerate(stream_messages(talent_platform)):
        places[f"GAOXIN_TALENT message {i}"] = message
    for url in metrics_urls:
        places[url] = httpx.get(url).content

    leaks = [
        (value, place)
        for value, variants in personal_values().items()
        for place, content in places.items()
        if any(variant in content for variant in variants)
    ]
    assert leaks == []
    # The scan looked where the decisions are: each one is in the talent database and on the stream.
    talent_db = Path(settings.database_url("talent").removeprefix("sqlite:///"))
    stored = b"".join(content for place, content in places.items() if place.startswith(str(talent_db)))
    on_stream = b"".join(content for place, content in places.items() if place.startswith("GAOXIN_TALENT"))
    assert all(d.encode() in stored and d.encode() in on_stream for d in decision_ids)
    assert b"decision recorded" in places[str(talent_platform.log_dir / "talent.log")]


def test_gaoxin_up_pseudonymises_under_a_key_of_its_own_not_the_codes_development_key(
    talent_api: httpx.Client, talent_platform: Platform
) -> None:
    """Without GAOXIN_TALENT_PSEUDONYM_KEY, `gaoxin up` generates a key for its data dir: under the development key
    in the code, anyone could confirm a guessed passport number from a decision's `subject`."""
    assert talent_platform.settings.talent_pseudonym_key is None
    key_file = talent_platform.data_dir / PSEUDONYM_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    body = {"nationality": "DE", "permanent_residence_card": True, "passport_number": "QX1234567"}

    subject = talent_api.post("/v1/talent/rd-institution-representative:check", json=body).json()["subject"]

    own = Pseudonymizer(key_file.read_text().strip().encode()).subject("DE", "", "QX1234567")
    development = Pseudonymizer(DEVELOPMENT_PSEUDONYM_KEY.encode()).subject("DE", "", "QX1234567")
    assert own is not None and development is not None
    assert subject == own.pseudonym != development.pseudonym
