"""Demo data for `make run`, pushed through the public REST API like a government portal would.

Real facts (from ../shared/DEMO-DATA.md): the county codes and names, 连云港高新区 provincial since 1997 and
national since February 2015 (国函〔2015〕25号), 东海高新区 approved only to prepare (筹建) in 2025, 东海县, 赣榆区
and 海州区 named national IP-strong-county pilots in 2022, and 连云港高新区's 2020 above-designated-size industrial
output of about 315 亿元. The days of those months, every zone marked （演示）, every enterprise (their credit
codes are generated, never a real firm's), every other indicator value and every rank are invented for the
demonstration, and the values say so in their `source`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from services.common.db import make_engine, reading, transaction
from services.gateway import store
from services.indicators.domain.credit_code import random_credit_code

COUNTIES = {
    "320703": "连云区",
    "320706": "海州区",
    "320707": "赣榆区",
    "320722": "东海县",
    "320723": "灌云县",
    "320724": "灌南县",
}

ZONES: list[dict[str, Any]] = [
    {
        "zone_code": "LYG-HTZ",
        "name": "连云港高新技术产业开发区",
        "county_code": "320706",
        "parks": [],
        # Real: provincial 1997, national February 2015; the days are invented.
        "recognitions": [("provincial", "1997-06-01"), ("national", "2015-02-16")],
    },
    {
        "zone_code": "DH-HTZ",
        "name": "连云港东海高新技术产业开发区（筹建）",
        "county_code": "320722",
        "parks": [],
        "recognitions": [],  # approved to prepare in 2025, not yet recognised
    },
    {
        "zone_code": "GN-DEMO",
        "name": "灌南高新技术产业开发区（演示）",
        "county_code": "320724",
        "parks": ["灌南经济开发区片区（演示）"],
        "recognitions": [("provincial", "2022-06-30")],  # invented: earns the new-provincial-zone award
    },
    {
        "zone_code": "GY-DEMO",
        "name": "赣榆高新技术产业开发区（演示）",
        "county_code": "320707",
        "parks": [],
        "recognitions": [("provincial", "2021-04-11")],  # invented: the day before the policy took effect
    },
    {
        "zone_code": "GYUN-DEMO",
        "name": "灌云高新技术产业开发区（演示）",
        "county_code": "320723",
        "parks": [],
        "recognitions": [("provincial", "2019-09-20")],  # invented
    },
]

# Real: named national IP-strong-county pilots (知识产权强县试点) in 2022; the day is invented.
DESIGNATIONS = [
    (county, {"programme": "ip_pilot", "level": "national", "listed_on": "2022-11-18"})
    for county in ("320722", "320707", "320706")
]

INVENTED = "demo (invented figures)"
# (zone, division code of its enterprises, [(name, above_scale, certificate issued on or None)]); all invented.
ENTERPRISES: list[tuple[str, str, list[tuple[str, bool, str | None]]]] = [
    (
        "LYG-HTZ",
        "320772",
        [
            ("连云港演示生物医药有限公司（虚构）", True, "2024-11-06"),
            ("连云港演示装备制造有限公司（虚构）", True, "2021-12-15"),
        ],
    ),
    (
        "GN-DEMO",
        "320724",
        [("灌南演示新材料有限公司（虚构）", True, "2024-02-29"), ("灌南演示电子科技有限公司（虚构）", False, None)],
    ),
    ("GY-DEMO", "320707", [("赣榆演示海洋科技有限公司（虚构）", True, "2023-12-08")]),
]

# zone → year → (rd_expenditure, gdp, hitech_industry_output, above_scale_industrial_output, hitech_enterprises,
# above_scale_enterprises), money in 万元; invented. LYG-HTZ 2024 sits exactly on two boundaries of clause 三:
# R&D intensity 7% (meets “7%以上”) and high-tech output share 80% (does not meet “超过 80%”).
VALUES: dict[str, dict[int, tuple[str, ...]]] = {
    "LYG-HTZ": {
        2023: ("315000", "4800000", "2700000", "3450000", "125", "290"),
        2024: ("350000", "5000000", "2880000", "3600000", "138", "300"),
        2025: ("392000", "5200000", "3100000", "3750000", "150", "310"),
    },
    "GN-DEMO": {
        2023: ("52000", "1150000", "560000", "820000", "30", "84"),
        2024: ("57600", "1200000", "612000", "850000", "36", "90"),
        2025: ("66000", "1250000", "660000", "880000", "43", "92"),
    },
    "GY-DEMO": {
        2023: ("61000", "1300000", "700000", "960000", "41", "95"),
        2024: ("70200", "1350000", "735000", "1000000", "46", "98"),
        2025: ("80000", "", "790000", "1040000", "50", "101"),  # no GDP reported yet: rd_intensity not computable
    },
    "GYUN-DEMO": {
        2023: ("30500", "980000", "590000", "905000", "22", "71"),
        2024: ("33800", "1010000", "640000", "930000", "25", "74"),
    },
}
RAW_ORDER = (
    "rd_expenditure",
    "gdp",
    "hitech_industry_output",
    "above_scale_industrial_output",
    "hitech_enterprises",
    "above_scale_enterprises",
)
# Real, approximate: about 315 亿元 in 2020 (DEMO-DATA.md).
REAL_VALUES = [("LYG-HTZ", "above_scale_industrial_output", 2020, "3150000", "DEMO-DATA.md: about 315亿元 in 2020")]

# Invented official provincial rankings, among an invented field of 20 provincial zones.
PROVINCIAL_FIELD = 20
RANKINGS = {
    2021: {"GY-DEMO": 15, "GYUN-DEMO": 19},
    2022: {"GY-DEMO": 12, "GN-DEMO": 16, "GYUN-DEMO": 20},
    2023: {"GY-DEMO": 9, "GN-DEMO": 11, "GYUN-DEMO": 17},
    2024: {"GY-DEMO": 2, "GN-DEMO": 7, "GYUN-DEMO": 19},
}


def values_csv() -> str:
    lines = ["zone_code,indicator,year,value,source"]
    for zone, years in VALUES.items():
        for year, figures in years.items():
            lines += [f"{zone},{code},{year},{v},{INVENTED}" for code, v in zip(RAW_ORDER, figures, strict=True) if v]
    lines += [f"{zone},{code},{year},{v},{source}" for zone, code, year, v, source in REAL_VALUES]
    return "\n".join(lines) + "\n"


def enterprises() -> list[dict[str, Any]]:
    rng = random.Random(20210412)  # fixed: the same invented codes at every start, so re-running upserts
    items = []
    for zone, division, firms in ENTERPRISES:
        for name, above_scale, issued_on in firms:
            item: dict[str, Any] = {
                "credit_code": random_credit_code(rng, division),
                "name": name,
                "zone_code": zone,
                "above_scale": above_scale,
            }
            if issued_on:
                item["hitech_certificate"] = {
                    "number": f"GR{issued_on[:4]}32{rng.randrange(10**6):06d}",
                    "issued_on": issued_on,
                }
            items.append(item)
    return items


def load(base_url: str, api_key: str) -> dict[str, int]:
    """Push the demo facts; safe to run again (PUTs upsert; repeated recognitions, designations, values and
    rankings change nothing)."""
    counts = dict.fromkeys(
        ("counties", "zones", "recognitions", "designations", "enterprises", "values", "rankings"), 0
    )
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        for code, name in COUNTIES.items():
            _ok(client.put(f"/v1/counties/{code}", json={"name": name}))
            counts["counties"] += 1
        for zone in ZONES:
            body = {k: zone[k] for k in ("name", "county_code", "parks")}
            _ok(client.put(f"/v1/zones/{zone['zone_code']}", json=body))
            counts["zones"] += 1
            for level, recognized_on in zone["recognitions"]:
                _ok(
                    client.post(
                        f"/v1/zones/{zone['zone_code']}/recognitions",
                        json={"level": level, "recognized_on": recognized_on},
                    )
                )
                counts["recognitions"] += 1
        for county, designation in DESIGNATIONS:
            _ok(client.post(f"/v1/counties/{county}/designations", json=designation))
            counts["designations"] += 1
        batch = enterprises()
        _ok(client.post("/v1/enterprises:batch", json={"enterprises": batch}))
        counts["enterprises"] = len(batch)
        reply = client.post(
            "/v1/indicator-values:batch", content=values_csv().encode(), headers={"Content-Type": "text/csv"}
        )
        _ok(reply)
        counts["values"] = reply.json()["accepted"]
        for year, ranks in RANKINGS.items():
            body = {"ranks": [{"zone_code": z, "rank": r} for z, r in ranks.items()], "field_size": PROVINCIAL_FIELD}
            _ok(client.put(f"/v1/evaluations/{year}/rankings/provincial", json=body))
            counts["rankings"] += 1
    return counts


@dataclass(frozen=True)
class DemoLoad:
    loaded_at: datetime  # when the demo data was (first) completely loaded into this installation
    counts: dict[str, int]  # what this start pushed: empty when it skipped the load
    skipped: bool  # loaded at an earlier start: nothing pushed now


def load_once(base_url: str, api_key: str, gateway_database_url: str) -> DemoLoad:
    """The demo data for `gaoxin up`: pushed into an installation once, never over what users changed since.

    A completed load is recorded in the gateway's database (`demo_data_loads`) after its last push succeeded;
    a later start finds it and pushes nothing. A load that failed midway left no record, so the next start
    pushes everything again (`load` is idempotent: what the failed load pushed is pushed unchanged).
    """
    engine = make_engine(gateway_database_url)
    try:
        with reading(engine) as conn:
            loaded_at = store.demo_data_loaded_at(conn)
        if loaded_at is not None:
            return DemoLoad(loaded_at, {}, skipped=True)
        counts = load(base_url, api_key)
        loaded_at = datetime.now(UTC)
        with transaction(engine) as conn:
            store.record_demo_data_load(conn, counts, loaded_at)
        return DemoLoad(loaded_at, counts, skipped=False)
    finally:
        engine.dispose()


def _ok(response: httpx.Response) -> None:
    if response.status_code >= 300:
        raise RuntimeError(
            f"demo data refused: {response.request.method} {response.request.url} "
            f"→ {response.status_code} {response.text}"
        )
