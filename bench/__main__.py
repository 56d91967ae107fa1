"""`python -m bench` (`make bench`): run the registered benchmarks, print their results as one JSON list.

Each benchmark is a module with NAME, DESCRIPTION and run(load) -> dict; its figures sit beside a baseline
measured in the same run and are quoted as ratios to it. Progress goes to stderr, the JSON to stdout.
To add one: write bench/<name>.py with those three attributes and append the module to BENCHMARKS.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from typing import Protocol

from bench import award_latency, gateway_roundtrip, ingest_csv, rewards_recompute, rule_throughput, talent_checks
from bench.load import Load
from bench.report import note


class Benchmark(Protocol):
    NAME: str
    DESCRIPTION: str

    def run(self, load: Load) -> dict[str, object]: ...


BENCHMARKS: tuple[Benchmark, ...] = (
    gateway_roundtrip,
    ingest_csv,
    talent_checks,
    rule_throughput,
    rewards_recompute,
    award_latency,
)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    names = [b.NAME for b in BENCHMARKS]
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=(__doc__ or "").splitlines()[0], allow_abbrev=False
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run (default: all of {names})")
    parser.add_argument("--concurrency", type=_positive, default=50, help="requests in flight (default 50)")
    parser.add_argument("--requests", type=_positive, default=3000, help="measured requests per server (default 3000)")
    parser.add_argument("--warmup", type=int, default=300, help="unmeasured requests first (default 300)")
    parser.add_argument(
        "--rounds",
        type=_positive,
        default=3,
        help="times a benchmark with a baseline measures the two in turn, pooled (default 3)",
    )
    parser.add_argument(
        "--max-seconds", type=float, default=120.0, help="fail a phase that takes longer than this (default 120)"
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(names))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; known: {names}")
    if args.warmup < 0:
        parser.error("--warmup must be 0 or more")
    return args


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through every finally: children stopped, temp dirs removed


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if args.list:
        for benchmark in BENCHMARKS:
            print(f"{benchmark.NAME}: {benchmark.DESCRIPTION}")
        return 0
    load = Load(args.concurrency, args.requests, args.warmup, args.max_seconds, args.rounds)
    results: list[dict[str, object]] = []
    for benchmark in BENCHMARKS:
        if args.names and benchmark.NAME not in args.names:
            continue
        note(f"{benchmark.NAME}: running")
        results.append(benchmark.run(load))
    json.dump(results, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
