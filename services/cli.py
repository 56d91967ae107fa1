"""`gaoxin`: the platform's command line (up, migrate, demo)."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from services.common.config import ALL_SERVICES, ServiceName, Settings, describe_settings_error

if TYPE_CHECKING:
    from services.platform import Platform


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


class Console:
    """What `gaoxin up` prints. A console that goes away (the reader of a pipe exits, a terminal closes) must stop
    nothing and prevent nothing, least of all the stop: what cannot be written is dropped, and the stream is
    pointed at /dev/null so that later writes (and the interpreter's last flush) do not fail again. The platform
    goes on running, supervised, until a signal stops it; the services' logs are files either way."""

    def say(self, text: str, *, error: bool = False) -> None:
        stream = sys.stderr if error else sys.stdout
        try:
            print(text, file=stream, flush=True)
        except OSError:  # BrokenPipeError, EIO from a hung-up terminal, …
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
                os.close(devnull)


class Interrupted(BaseException):
    """SIGINT/SIGTERM/SIGHUP while the platform starts: what was started is stopped at once, no banner.

    A BaseException, as KeyboardInterrupt is, so that no `except Exception` on the way swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# SIGHUP too: the children are in sessions of their own (services.platform.start_child), so a terminal that closes
# hangs up `gaoxin up` alone, which must then stop them.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def cmd_up(args: argparse.Namespace) -> int:
    from services.platform import Platform, PortsInUse, ServiceKeptFailing, StartCancelled, Supervisor

    platform = Platform(_settings(args))
    try:
        # Ports taken (another `gaoxin up`?) or a production talent service without its key: one line, before
        # anything is created or started.
        platform.check_can_start()
    except (PortsInUse, ValueError) as exc:
        raise SystemExit(f"gaoxin: {exc}") from None
    console = Console()
    stop = threading.Event()
    phase = "starting"

    received: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signum)
        stop.set()
        if phase == "starting":
            # Out of platform.start() or the demo load wherever they are, into the stop below.
            raise Interrupted(signum)
        if phase == "stopping":
            # As a second signal does to the gateway alone: its drain ends now. The rest stops as it would.
            platform.hurry()

    def checkpoint() -> None:
        # The exception above is lost when the handler happens to run inside a finaliser or a weakref callback
        # (SQLAlchemy's, during the migrations): then the start stops here instead, or at platform.start()'s next
        # step or poll of `stop`.
        if received:
            raise Interrupted(received[0])

    def unraisable(info: Any) -> None:
        # ... and Python would print that lost exception's traceback ("Exception ignored in …"): not ours.
        if not isinstance(info.exc_value, Interrupted):
            sys.__unraisablehook__(info)

    sys.unraisablehook = unraisable

    status = 1
    try:
        try:
            for sig in STOP_SIGNALS:
                signal.signal(sig, on_signal)
            console.say(f"starting the platform (data in {platform.data_dir}, logs in {platform.log_dir}) …")
            platform.start(cancel=stop)
            checkpoint()
            _load_demo_data(platform, console)
            checkpoint()
            console.say(_banner(platform))
            phase = "supervising"
            # Until Ctrl-C or SIGTERM: a process that exits meanwhile is restarted, one that keeps exiting stops
            # it all.
            Supervisor(platform, lambda line: _report(console, line)).run(stop)
            status = 0
        finally:
            phase = "stopping"  # from here a signal never interrupts anything: the stop below must run whole
    except Interrupted as exc:
        console.say(f"start-up interrupted by {exc}", error=True)
        status = 128 + exc.signum
    except StartCancelled:
        console.say(f"start-up interrupted by {signal.Signals(received[0]).name}", error=True)
        status = 128 + received[0]
    except ServiceKeptFailing as exc:
        console.say(f"platform stopped: {exc}", error=True)
    except Exception as exc:
        console.say(f"start-up failed: {exc}", error=True)
    finally:
        try:
            console.say("stopping …")
        finally:
            platform.stop()
        console.say("stopped")
    return status


def _load_demo_data(platform: Platform, console: Console) -> None:
    from services import demo

    if platform.settings.demo_data and platform.revoked_admin_key() is not None:
        console.say("demo data not loaded: the admin key is revoked (see below)")
    elif platform.settings.demo_data:
        try:
            loaded = demo.load_once(platform.gateway_url, platform.admin_key, platform.settings.database_url("gateway"))
        except Exception as exc:
            raise RuntimeError(f"demo data not completely loaded (the next start loads it again): {exc}") from exc
        if loaded.skipped:
            console.say(
                f"demo data already loaded ({loaded.loaded_at:%Y-%m-%d %H:%M} UTC): not loaded again, "
                "so changes made since are kept"
            )
        else:
            console.say(f"demo data loaded: {loaded.counts}")


def _banner(platform: Platform) -> str:
    revoked = platform.revoked_admin_key()
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
    return (
        "\n"
        f"  Gateway   {platform.gateway_url}\n"
        f"  API docs  {platform.gateway_url}/docs\n"
        f"  Metrics   {platform.gateway_url}/metrics\n"
        f"{admin}"
        "\nCtrl-C stops everything; the data stays for the next start."
    )


def _report(console: Console, line: str) -> None:
    console.say(f"{time.strftime('%H:%M:%S')} {line}", error=True)


def cmd_demo(args: argparse.Namespace) -> int:
    import httpx

    from services import demo

    settings = _settings(args)
    url = args.url or f"http://{settings.local_address(settings.gateway_port)}"
    try:
        counts = demo.load(url, args.key)
    except httpx.HTTPError as exc:
        raise SystemExit(f"gaoxin: demo data not loaded: no answer from the gateway at {url}: {exc}") from None
    except RuntimeError as exc:  # a push refused (demo._ok): a wrong key, a key without data:write, …
        raise SystemExit(f"gaoxin: {' '.join(str(exc).split())}") from None
    print(counts)
    return 0


def _gateway_engine(args: argparse.Namespace) -> Any:
    """The gateway's database, for `gaoxin keys` and `gaoxin audit`: refused in one line when it is not there or
    not migrated (a wrong directory, GAOXIN_DATA_DIR unset), without creating an empty one."""
    from sqlalchemy.engine import make_url

    from services.common.db import make_engine
    from services.common.migrate import schema_problem

    settings = _settings(args)
    url = settings.database_url("gateway")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        raise SystemExit(
            f"gaoxin: no gateway database at {parsed.database}: run this where `gaoxin up` ran, or set "
            "GAOXIN_DATA_DIR (or GAOXIN_GATEWAY_DATABASE_URL) to the platform's"
        )
    engine = make_engine(url)
    if (problem := schema_problem(engine, "gateway")) is not None:
        engine.dispose()
        raise SystemExit(f"gaoxin: gateway: {problem}")
    return engine


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


# What the REST API accepts as a key's `rate_limit_per_minute` (services/gateway/routes/keys.py, KeyIn).
MIN_RATE_LIMIT, MAX_RATE_LIMIT = 1, 1_000_000


def _rate_limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not MIN_RATE_LIMIT <= value <= MAX_RATE_LIMIT:
        # 0 would silently mean the deployment's default, a negative quota refuses every request.
        raise argparse.ArgumentTypeError(f"must be {MIN_RATE_LIMIT} to {MAX_RATE_LIMIT} requests per minute")
    return value


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
    demo.add_argument(
        "--url", help="the gateway (default: http://$GAOXIN_HOST:$GAOXIN_GATEWAY_PORT, 127.0.0.1 for 0.0.0.0)"
    )
    demo.add_argument("--key", required=True)
    demo.set_defaults(func=cmd_demo)

    from services.gateway.domain.keys import ALL_SCOPES

    keys = sub.add_parser("keys", help="manage API keys in the gateway's database").add_subparsers(
        dest="keys_command", required=True
    )
    create = keys.add_parser("create", help="create a key (printed once)")
    create.add_argument("--name", required=True)
    create.add_argument("--scope", action="append", required=True, choices=[s.value for s in ALL_SCOPES])
    create.add_argument(
        "--rate-limit",
        type=_rate_limit,
        help=f"requests per minute, {MIN_RATE_LIMIT}-{MAX_RATE_LIMIT} (default: the deployment's)",
    )
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
