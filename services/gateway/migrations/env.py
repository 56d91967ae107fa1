from services.common.migrate import run_migrations
from services.gateway.store import metadata

run_migrations(metadata)
