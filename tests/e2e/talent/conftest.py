"""The platform as the talent tests need it: employers registered in zones, the talent database at hand."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select

from services.common.db import make_engine, reading
from services.indicators.domain.credit_code import make_credit_code
from services.platform import Platform
from services.talent import store

NATIONAL_ZONE = "TALENT-LYG"  # recognised provincial in 1997, national in 2015
UNRECOGNISED_ZONE = "TALENT-DH"  # approved only to prepare (筹建): no recognition
IN_NATIONAL_ZONE = make_credit_code("320706", "TL000001")
IN_UNRECOGNISED_ZONE = make_credit_code("320722", "TL000002")
UNREGISTERED = make_credit_code("320706", "TL000003")


def push(api: httpx.Client, method: str, path: str, body: object) -> None:
    reply = api.request(method, path, json=body)
    assert reply.status_code in (200, 201), f"{method} {path}: {reply.status_code} {reply.text}"


@pytest.fixture(scope="session")
def talent_platform(platform: Platform) -> Platform:
    """The session's platform with two zones and an employer in each, pushed as a government portal would."""
    with httpx.Client(
        base_url=platform.gateway_url, headers={"Authorization": f"Bearer {platform.admin_key}"}, timeout=10
    ) as api:
        push(api, "PUT", "/v1/counties/320706", {"name": "海州区"})
        push(api, "PUT", "/v1/counties/320722", {"name": "东海县"})
        push(api, "PUT", f"/v1/zones/{NATIONAL_ZONE}", {"name": "连云港高新区（测试）", "county_code": "320706"})
        push(
            api, "PUT", f"/v1/zones/{UNRECOGNISED_ZONE}", {"name": "东海高新区（筹建，测试）", "county_code": "320722"}
        )
        for level, on in (("provincial", "1997-06-01"), ("national", "2015-02-16")):
            push(api, "POST", f"/v1/zones/{NATIONAL_ZONE}/recognitions", {"level": level, "recognized_on": on})
        employers = [
            (IN_NATIONAL_ZONE, "连云港某医药科技有限公司（测试）", NATIONAL_ZONE),
            (IN_UNRECOGNISED_ZONE, "东海某新材料有限公司（测试）", UNRECOGNISED_ZONE),
        ]
        push(
            api,
            "POST",
            "/v1/enterprises:batch",
            {
                "enterprises": [
                    {"credit_code": code, "name": name, "zone_code": zone, "above_scale": True}
                    for code, name, zone in employers
                ]
            },
        )
    return platform


@pytest.fixture
def talent_api(talent_platform: Platform) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {talent_platform.admin_key}"}
    with httpx.Client(base_url=talent_platform.gateway_url, headers=headers, timeout=10) as client:
        yield client


def decision_count(platform: Platform) -> int:
    engine = make_engine(platform.settings.database_url("talent"))
    try:
        with reading(engine) as conn:
            return int(conn.execute(select(func.count()).select_from(store.decisions)).scalar_one())
    finally:
        engine.dispose()
