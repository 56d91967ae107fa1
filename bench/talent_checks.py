"""Talent checks per second through the gateway, beside the bare FastAPI → grpc.aio echo of `make bench`.

Subject: POST /v1/talent/work-permit-age:check → gateway (uvicorn, FastAPI, middleware, API-key auth, rate
limit, body validation, audit log) → gRPC → talent service (input checks, HMAC pseudonym) → gRPC
LocateEnterprises (the lookups of a moment in one call) → indicators service → SQLite; then the rules, and one
SQLite transaction holding the decision and its outbox row → relay → nats-server (and the gateway's webhook
consumer), with every service running as in `gaoxin up`. Every request records a decision. Baseline: the same
bare echo as gateway_roundtrip, measured in turn with the subject (bench.paired) with the same load.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import httpx

from bench.gateway_roundtrip import (
    beside_baseline,
    brief,
    describe,
    measure_baseline,
    running_echo,
    running_platform,
    server_pids,
)
from bench.load import Load, Measured, measure
from bench.paired import Goal, alternate
from bench.report import note
from services.indicators.domain.credit_code import make_credit_code

NAME = "talent_checks"
DESCRIPTION = (
    "POST /v1/talent/work-permit-age:check: gateway → talent → indicators (LocateEnterprises) → SQLite decision + "
    "outbox → NATS, beside the bare echo"
)

# Issue 5: at least half the echo's requests/s, p99 at most twice its p99, at 50 requests in flight.
GOAL = Goal(min_rps=0.5, max_p99=2.0)
CHECK_PATH = "/v1/talent/work-permit-age:check"
EMPLOYER = make_credit_code("320706", "BENCH001")
ZONE = "BENCH-TALENT"
CHECK_BODY = {
    "nationality": "DE",
    "birth_date": "1961-05-01",
    "application_date": "2026-03-01",
    "talent_category": "A",
    "employer_credit_code": EMPLOYER,
    "approval_authority_level": "city",
    "name": "Bench Applicant",
    "passport_number": "BENCH0001",
}
SEED = (
    ("PUT", "/v1/counties/320706", {"name": "海州区"}),
    ("PUT", f"/v1/zones/{ZONE}", {"name": "基准高新区", "county_code": "320706"}),
    ("POST", f"/v1/zones/{ZONE}/recognitions", {"level": "national", "recognized_on": "2015-02-16"}),
    (
        "POST",
        "/v1/enterprises:batch",
        {"enterprises": [{"credit_code": EMPLOYER, "name": "基准企业", "zone_code": ZONE, "above_scale": True}]},
    ),
)


def seed(base_url: str, api_key: str) -> None:
    """The zone and the employer the checks name, pushed through the REST API."""
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=10, trust_env=False) as client:
        for method, path, body in SEED:
            reply = client.request(method, path, json=body)
            if reply.status_code not in (200, 201):
                raise RuntimeError(f"{method} {path} answered {reply.status_code}: {reply.text[:300]}")


def measure_checks(base_url: str, api_key: str, load: Load, pids: Sequence[int] = ()) -> Measured:
    """`load` checks against a running, seeded platform at `base_url` (127.0.0.1 only), each recording a decision;
    with `pids`, the CPU those processes use meanwhile."""
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    note(f"subject: {base_url}{CHECK_PATH}; {describe(load)}")
    measured = measure(f"{base_url}{CHECK_PATH}", load, headers, json.dumps(CHECK_BODY).encode(), pids)
    note(f"subject: {brief(measured)}")
    return measured


def run(load: Load) -> dict[str, object]:
    with (
        tempfile.TemporaryDirectory(prefix="gaoxin-bench-", ignore_cleanup_errors=True) as tmp,
        running_echo(Path(tmp) / "baseline") as echo,
        running_platform(Path(tmp) / "platform") as platform,
    ):
        seed(platform.gateway_url, platform.admin_key)
        paired = alternate(
            load.rounds,
            lambda: measure_baseline(echo, load),
            lambda: measure_checks(platform.gateway_url, platform.admin_key, load, server_pids(platform)),
        )
    return beside_baseline(NAME, DESCRIPTION, load, paired, GOAL)


def main() -> int:
    """`python -m bench.talent_checks`: this benchmark alone (same as `python -m bench talent_checks`)."""
    from bench.__main__ import main as bench_main  # imported here: bench.__main__ imports this module

    return bench_main([NAME, *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
