"""Each service's Alembic migrations build exactly the schema its tables declare, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect

from services.common.config import ALL_SERVICES, ServiceName
from services.common.db import make_engine
from services.common.migrate import alembic_config
from services.gateway.store import metadata as gateway_metadata
from services.indicators.store import metadata as indicators_metadata
from services.rewards.store import metadata as rewards_metadata
from services.talent.store import metadata as talent_metadata

METADATA: dict[ServiceName, MetaData] = {
    "indicators": indicators_metadata,
    "rewards": rewards_metadata,
    "talent": talent_metadata,
    "gateway": gateway_metadata,
}


@pytest.mark.parametrize("service", ALL_SERVICES)
def test_migrations_match_declared_tables(service: ServiceName, database_url: str) -> None:
    command.upgrade(alembic_config(service, database_url), "head")

    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), METADATA[service])
        tables = set(inspect(conn).get_table_names())
    engine.dispose()

    assert diff == []
    assert set(METADATA[service].tables) <= tables


@pytest.mark.parametrize("service", ALL_SERVICES)
def test_migrating_twice_is_harmless(service: ServiceName, database_url: str) -> None:
    config = alembic_config(service, database_url)
    command.upgrade(config, "head")
    command.upgrade(config, "head")

    engine = make_engine(database_url)
    with engine.connect() as conn:
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
    engine.dispose()
    assert version.startswith(service[:3])
