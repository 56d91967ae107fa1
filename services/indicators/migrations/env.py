from services.common.migrate import run_migrations
from services.indicators.store import metadata

run_migrations(metadata)
