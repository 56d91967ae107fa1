"""Demo data for `make run`, pushed through the public REST API like a government portal would.

Real facts (from ../shared/DEMO-DATA.md): the county codes and names, 连云港高新区 provincial since 1997 and
national since February 2015 (国函〔2015〕25号), 东海高新区 approved only to prepare (筹建) in 2025. The days of
those months, and every zone marked （演示）, are invented for the demonstration.
"""

from __future__ import annotations

from typing import Any

import httpx

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
]


def load(base_url: str, api_key: str) -> dict[str, int]:
    """Push the demo facts; safe to run again (PUTs upsert, a repeated recognition changes nothing)."""
    counts = {"counties": 0, "zones": 0, "recognitions": 0}
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
    return counts


def _ok(response: httpx.Response) -> None:
    if response.status_code >= 300:
        raise RuntimeError(
            f"demo data refused: {response.request.method} {response.request.url} "
            f"→ {response.status_code} {response.text}"
        )
