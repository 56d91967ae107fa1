"""`gaoxin`: the platform's command line (up, migrate, demo)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import Any

from pydantic import ValidationError

from services.common.config import ALL_SERVICES, ServiceName, Settings, describe_settings_error


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
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        # One line naming the setting, before anything is started or created, rather than a traceback (or a
        # service exiting later with its reason only in its log).
        raise SystemExit(f"gaoxin: {describe_settings_error(exc)}") from None


def cmd_migrate(args: argparse.Namespace) -> int:
    from services.common.migrate import upgrade

    services: tuple[ServiceName, ...] = tuple(args.service) if args.service else ALL_SERVICES
    upgrade(_settings(args), services)
    print(f"migrated: {', '.join(services)}")
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from services import demo
    from services.platform import Platform, ServiceKeptFailing, Supervisor

    platform = Platform(_settings(args))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        print(f"starting the platform (data in {platform.data_dir}, logs in {platform.log_dir}) …", flush=True)
        platform.start()
        revoked = platform.revoked_admin_key()
        if platform.settings.demo_data and revoked is not None:
            print("demo data not loaded: the admin key is revoked (see below)", flush=True)
        elif platform.settings.demo_data:
            try:
                loaded = demo.load_once(
                    platform.gateway_url, platform.admin_key, platform.settings.database_url("gateway")
                )
            except Exception as exc:
                raise RuntimeError(f"demo data not completely loaded (the next start loads it again): {exc}") from exc
            if loaded.skipped:
                print(
                    f"demo data already loaded ({loaded.loaded_at:%Y-%m-%d %H:%M} UTC): not loaded again, "
                    "so changes made since are kept",
                    flush=True,
                )
            else:
                print(f"demo data loaded: {loaded.counts}", flush=True)
        if revoked is None:
            admin = (
                f"  Admin key {platform.admin_key}\n"
                f"  NATS      {platform.settings.resolved_nats_url}\n"
                "\n"
                f"  try: curl -H 'Authorization: Bearer {platform.admin_key}' {platform.gateway_url}/v1/awards\n"
            )
        else:
            # Never presented as usable: a revoked key stays revoked (it may have leaked), so say how to get another.
            admin = (
                f"  Admin key REVOKED ({revoked.key_id}, {revoked.revoked_at:%Y-%m-%d %H:%M} UTC): it answers 401 and "
                "stays revoked\n"
                f"            for another, {platform.new_admin_key_hint()}\n"
                f"  NATS      {platform.settings.resolved_nats_url}\n"
            )
        print(
            "\n"
            f"  Gateway   {platform.gateway_url}\n"
            f"  API docs  {platform.gateway_url}/docs\n"
            f"  Metrics   {platform.gateway_url}/metrics\n"
            f"{admin}"
            "\nCtrl-C stops everything; the data stays for the next start.",
            flush=True,
        )
        # Until Ctrl-C or SIGTERM: a process that exits meanwhile is restarted, one that keeps exiting stops it all.
        Supervisor(platform, _report).run(stop)
        return 0
    except ServiceKeptFailing as exc:
        print(f"platform stopped: {exc}", file=sys.stderr, flush=True)
        return 1
    except Exception as exc:
        print(f"start-up failed: {exc}", file=sys.stderr)
        return 1
    finally:
        print("stopping …", flush=True)
        platform.stop()
        print("stopped", flush=True)


def _report(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)


def cmd_demo(args: argparse.Namespace) -> int:
    from services import demo

    print(demo.load(args.url, args.key))
    return 0


def _gateway_engine(args: argparse.Namespace) -> Any:
    from services.common.db import make_engine

    return make_engine(_settings(args).database_url("gateway"))


def cmd_keys_create(args: argparse.Namespace) -> int:
    from services.common.db import transaction
    from services.gateway import store

    with transaction(_gateway_engine(args)) as conn:
        listing, key = store.issue_key(conn, args.name, sorted(set(args.scope)), args.rate_limit)
    print(f"key_id  {listing.key_id}\nscopes  {' '.join(listing.scopes)}\nkey     {key}   (shown once)")
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    from services.common.db import reading
    from services.gateway import store

    with reading(_gateway_engine(args)) as conn:
        for k in store.list_keys(conn):
            state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
            print(f"{k.key_id}  {state:<18} {' '.join(k.scopes):<40} {k.name}")
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    from services.common.db import transaction
    from services.gateway import store

    with transaction(_gateway_engine(args)) as conn:
        listing = store.revoke_key(conn, args.key_id)
    if listing is None:
        print(f"no key {args.key_id}", file=sys.stderr)
        return 1
    print(f"revoked {listing.key_id} (running gateways stop accepting it within 10 s)")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from services.gateway.routes.audit import verify_chain

    result = verify_chain(_gateway_engine(args))
    print(result)
    return 0 if result["valid"] else 1


def main(argv: list[str] | None = None) -> int:
    from services.common.runtime import keep_files_private

    parser = argparse.ArgumentParser(prog="gaoxin", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start everything (embedded NATS and SQLite unless told otherwise)")
    up.add_argument("--nats-url", help="use this NATS instead of starting the embedded nats-server")
    up.add_argument("--database-url", help="PostgreSQL URL prefix; each service uses <url>_<service>")
    up.add_argument(
        "--demo",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="load demo data, once per installation (default: GAOXIN_DEMO_DATA)",
    )
    up.set_defaults(func=cmd_up)

    migrate = sub.add_parser("migrate", help="run the database migrations of the services")
    migrate.add_argument("--service", action="append", choices=ALL_SERVICES)
    migrate.add_argument("--database-url", help="PostgreSQL URL prefix; each service uses <url>_<service>")
    migrate.set_defaults(func=cmd_migrate)

    demo = sub.add_parser(
        "demo", help="load the demo data into a running gateway, now, whether or not it was loaded before"
    )
    demo.add_argument("--url", default="http://127.0.0.1:8000")
    demo.add_argument("--key", required=True)
    demo.set_defaults(func=cmd_demo)

    from services.gateway.domain.keys import ALL_SCOPES

    keys = sub.add_parser("keys", help="manage API keys in the gateway's database").add_subparsers(
        dest="keys_command", required=True
    )
    create = keys.add_parser("create", help="create a key (printed once)")
    create.add_argument("--name", required=True)
    create.add_argument("--scope", action="append", required=True, choices=[s.value for s in ALL_SCOPES])
    create.add_argument("--rate-limit", type=int, help="requests per minute (default: the deployment's)")
    create.set_defaults(func=cmd_keys_create)
    keys.add_parser("list", help="list keys (never the keys themselves)").set_defaults(func=cmd_keys_list)
    revoke = keys.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    revoke.set_defaults(func=cmd_keys_revoke)

    audit = sub.add_parser("audit", help="the gateway's audit log").add_subparsers(dest="audit_command", required=True)
    audit.add_parser("verify", help="check the hash chain end to end").set_defaults(func=cmd_audit_verify)

    args = parser.parse_args(argv)
    # Before anything creates a file: databases, logs and keys are the owner's only (services.common.runtime).
    keep_files_private()
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
