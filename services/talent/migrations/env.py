from services.common.migrate import run_migrations
from services.talent.store import metadata

run_migrations(metadata)
