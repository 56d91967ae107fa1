"""`gaoxin`: the platform's command line (up, migrate, demo)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from services.common.config import ALL_SERVICES, ServiceName, Settings


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "nats_url", None):
        overrides["nats_url"] = args.nats_url
    if getattr(args, "database_url", None):
        # One PostgreSQL server, one database per service: <url>_<service>, e.g. .../gaoxin_rewards.
        for service in ALL_SERVICES:
            overrides[f"{service}_database_url"] = f"{args.database_url}_{service}"
    if getattr(args, "demo", None) is not None:
        overrides["demo_data"] = args.demo
    return Settings(**overrides)


def cmd_migrate(args: argparse.Namespace) -> int:
    from services.common.migrate import upgrade

    services: tuple[ServiceName, ...] = tuple(args.service) if args.service else ALL_SERVICES
    upgrade(_settings(args), services)
    print(f"migrated: {', '.join(services)}")
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from services import demo
    from services.platform import Platform

    platform = Platform(_settings(args))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        print(f"starting the platform (data in {platform.data_dir}, logs in {platform.log_dir}) …", flush=True)
        platform.start()
        if platform.settings.demo_data:
            counts = demo.load(platform.gateway_url, platform.admin_key)
            print(f"demo data loaded: {counts}", flush=True)
        print(
            "\n"
            f"  Gateway   {platform.gateway_url}\n"
            f"  API docs  {platform.gateway_url}/docs\n"
            f"  Metrics   {platform.gateway_url}/metrics\n"
            f"  Admin key {platform.admin_key}\n"
            f"  NATS      {platform.settings.resolved_nats_url}\n"
            "\n"
            f"  try: curl -H 'Authorization: Bearer {platform.admin_key}' {platform.gateway_url}/v1/awards\n"
            "\nCtrl-C stops everything; the data stays for the next start.",
            flush=True,
        )
        while not stop.wait(0.5):
            for name, process in platform.processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; stopping", file=sys.stderr)
                    stop.set()
        return 0
    except Exception as exc:
        print(f"start-up failed: {exc}", file=sys.stderr)
        return 1
    finally:
        print("stopping …", flush=True)
        platform.stop()
        print("stopped", flush=True)


def cmd_demo(args: argparse.Namespace) -> int:
    from services import demo

    print(demo.load(args.url, args.key))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gaoxin", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start everything (embedded NATS and SQLite unless told otherwise)")
    up.add_argument("--nats-url", help="use this NATS instead of starting the embedded nats-server")
    up.add_argument("--database-url", help="PostgreSQL URL prefix; each service uses <url>_<service>")
    up.add_argument(
        "--demo",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="load demo data (default: GAOXIN_DEMO_DATA)",
    )
    up.set_defaults(func=cmd_up)

    migrate = sub.add_parser("migrate", help="run the database migrations of the services")
    migrate.add_argument("--service", action="append", choices=ALL_SERVICES)
    migrate.add_argument("--database-url", help="PostgreSQL URL prefix; each service uses <url>_<service>")
    migrate.set_defaults(func=cmd_migrate)

    demo = sub.add_parser("demo", help="load the demo data into a running gateway")
    demo.add_argument("--url", default="http://127.0.0.1:8000")
    demo.add_argument("--key", required=True)
    demo.set_defaults(func=cmd_demo)

    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
