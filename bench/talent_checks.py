"""Talent checks per second through the gateway, beside the bare FastAPI → grpc.aio echo of `make bench`.

Subject: POST /v1/talent/r-visa:check → gateway (uvicorn, FastAPI, middleware, API-key auth, body validation)
→ gRPC → talent service (input checks, HMAC pseudonym, rules) → one SQLite transaction holding the decision and
its outbox row → relay → nats-server, with the other services running as in `gaoxin up`. Every request records
a decision. Baseline: the same bare echo as gateway_roundtrip, measured in the same run with the same load.

The work-permit check adds a gRPC hop to the indicators service (LocateEnterprise); it is measured once that
RPC exists (issue-3), with an employer pushed through the REST API first.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from bench.gateway_roundtrip import brief, describe, measure_baseline, running_platform
from bench.load import Load, Measured, measure
from bench.report import machine, note
from bench.stats import ratios

NAME = "talent_checks"
DESCRIPTION = "POST /v1/talent/r-visa:check: gateway → gRPC → talent → SQLite + outbox → NATS, beside the bare echo"

CHECK_PATH = "/v1/talent/r-visa:check"
CHECK_BODY = {
    "nationality": "DE",
    "talent_type": "high_level",
    "confirmation_letter": {"issuer_level": "provincial", "issued_on": "2025-11-03", "number": "BENCH-0001"},
    "name": "Bench Applicant",
    "passport_number": "BENCH0001",
}


def measure_checks(base_url: str, api_key: str, load: Load) -> Measured:
    """`load` checks against a running platform at `base_url` (127.0.0.1 only), each recording a decision."""
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    note(f"subject: {base_url}{CHECK_PATH}; {describe(load)}")
    measured = measure(f"{base_url}{CHECK_PATH}", load, headers, json.dumps(CHECK_BODY).encode())
    note(f"subject: {brief(measured)}")
    return measured


def run(load: Load) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="gaoxin-bench-", ignore_cleanup_errors=True) as tmp:
        baseline = measure_baseline(Path(tmp) / "baseline", load)
        with running_platform(Path(tmp) / "platform") as platform:
            subject = measure_checks(platform.gateway_url, platform.admin_key, load)
    return {
        "benchmark": NAME,
        "description": DESCRIPTION,
        "concurrency": load.concurrency,
        "requests": load.requests,
        "warmup": load.warmup,
        "subject": subject.as_dict(),
        "baseline": baseline.as_dict(),
        "ratio": ratios(subject.summary, baseline.summary),
        "machine": machine(),
    }


def main() -> int:
    """`python -m bench.talent_checks`: this benchmark alone (same as `python -m bench talent_checks`)."""
    from bench.__main__ import main as bench_main  # imported here: bench.__main__ imports this module

    return bench_main([NAME, *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
