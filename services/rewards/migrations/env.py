from services.common.migrate import run_migrations
from services.rewards.store import metadata

run_migrations(metadata)
