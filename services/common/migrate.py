"""Alembic migrations per service, run by `gaoxin migrate` (never on import or start-up)."""

from __future__ import annotations

import functools

from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, text

from services.common.config import ALL_SERVICES, ServiceName, Settings
from services.common.db import ensure_database, make_engine, reading


def alembic_config(service: ServiceName, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", f"services.{service}:migrations")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(settings: Settings, services: tuple[ServiceName, ...] = ALL_SERVICES) -> None:
    for service in services:
        ensure_database(settings.database_url(service))
        command.upgrade(alembic_config(service, settings.database_url(service)), "head")


@functools.cache
def revisions(service: ServiceName) -> tuple[frozenset[str], frozenset[str]]:
    """The service's migration heads, and every revision its migrations know."""
    script = ScriptDirectory.from_config(alembic_config(service, "sqlite://"))
    return frozenset(script.get_heads()), frozenset(r.revision for r in script.walk_revisions())


def schema_problem(engine: Engine, service: ServiceName) -> str | None:
    """Why this database cannot serve the service now (unreachable, not migrated, migrated to an older revision),
    in one line; None when it can: at the migration head, or at a revision these migrations do not know, i.e.
    a later release's (its migration Job ran before this pod was replaced, as in a rolling upgrade)."""
    try:
        with reading(engine) as conn:
            current = frozenset(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except Exception as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        return f"database unreachable or not migrated (run `gaoxin migrate --service {service}`): {first[:200]}"
    heads, known = revisions(service)
    if current == heads or (current and not current <= known):
        return None
    return (
        f"database at revision {', '.join(sorted(current)) or 'none'}, not at {', '.join(sorted(heads))}: "
        f"run `gaoxin migrate --service {service}`"
    )


def run_migrations(metadata: MetaData) -> None:
    """Body of every service's migrations/env.py: online migrations on the service's own engine."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
