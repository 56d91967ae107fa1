"""Alembic migrations per service, run by `gaoxin migrate` (never on import or start-up)."""

from __future__ import annotations

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData

from services.common.config import ALL_SERVICES, ServiceName, Settings
from services.common.db import ensure_database, make_engine


def alembic_config(service: ServiceName, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", f"services.{service}:migrations")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(settings: Settings, services: tuple[ServiceName, ...] = ALL_SERVICES) -> None:
    for service in services:
        ensure_database(settings.database_url(service))
        command.upgrade(alembic_config(service, settings.database_url(service)), "head")


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
