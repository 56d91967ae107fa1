"""Every table of the indicators service (SQLAlchemy Core); the Alembic migrations build exactly these.

Indicator values are decimal text, never a float or a backend's NUMERIC (SQLite would keep it as REAL):
exact on every backend, and canonical, so equal values compare equal as strings.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from services.common.db import UtcDateTime, new_metadata
from services.common.inbox import inbox_table
from services.common.outbox import outbox_table

metadata = new_metadata()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

counties = Table(
    "counties",
    metadata,
    Column("county_code", String(6), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

designations = Table(
    "designations",
    metadata,
    Column("county_code", String(6), ForeignKey("counties.county_code"), primary_key=True),
    Column("programme", String(32), primary_key=True),
    Column("level", String(16), primary_key=True),
    Column("listed_on", Date, primary_key=True),
    Column("recorded_at", UtcDateTime(), nullable=False),
)

zones = Table(
    "zones",
    metadata,
    Column("zone_code", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("county_code", String(6), ForeignKey("counties.county_code"), nullable=False),
    Column("parks", JSON, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

recognitions = Table(
    "recognitions",
    metadata,
    Column("zone_code", String(32), ForeignKey("zones.zone_code"), primary_key=True),
    Column("recognized_on", Date, primary_key=True),
    Column("level", String(16), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
)

enterprises = Table(
    "enterprises",
    metadata,
    Column("credit_code", String(18), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("zone_code", String(32), ForeignKey("zones.zone_code"), nullable=False, index=True),
    Column("above_scale", Boolean, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# Every certificate an enterprise was pushed with (they are renewed every three years), so "high-tech on
# date D" is answered for past dates too.
hitech_certificates = Table(
    "hitech_certificates",
    metadata,
    Column("credit_code", String(18), ForeignKey("enterprises.credit_code"), primary_key=True),
    Column("issued_on", Date, primary_key=True),
    Column("number", String(64), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
)

value_batches = Table(
    "value_batches",
    metadata,
    Column("batch_id", String(36), primary_key=True),
    Column("source", String(200), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("created", Integer, nullable=False),
    Column("revised", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
)

# The current value of each (zone, indicator, year). Its time is its batch's received_at: one timestamp per
# batch instead of one per row keeps 100,000-value batches cheap to write.
indicator_values = Table(
    "indicator_values",
    metadata,
    Column("zone_code", String(32), ForeignKey("zones.zone_code"), primary_key=True),
    Column("indicator", String(40), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("value", String(32), nullable=False),
    Column("source", String(200), nullable=False),
    Column("batch_id", String(36), nullable=False),
    Column("version", Integer, nullable=False),  # 1 for the first value; +1 per revision
)

# Values that were replaced, each with the batch that pushed it and the batch that replaced it.
indicator_value_revisions = Table(
    "indicator_value_revisions",
    metadata,
    Column("zone_code", String(32), primary_key=True),
    Column("indicator", String(40), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("value", String(32), nullable=False),
    Column("source", String(200), nullable=False),
    Column("batch_id", String(36), nullable=False),
    Column("superseded_by", String(36), nullable=False),
)

rankings = Table(
    "rankings",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("level", String(16), primary_key=True),
    Column("field_size", Integer, nullable=False),  # as pushed; 0: the largest rank
    Column("published_at", UtcDateTime(), nullable=False),
    Column("revision", Integer, nullable=False),  # 1 when first pushed; +1 per replacement that changed it
)

ranking_entries = Table(
    "ranking_entries",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("level", String(16), primary_key=True),
    Column("zone_code", String(32), ForeignKey("zones.zone_code"), primary_key=True),
    Column("rank", Integer, nullable=False),
    ForeignKeyConstraint(["year", "level"], ["rankings.year", "rankings.level"]),
    UniqueConstraint("year", "level", "rank"),
    Index("ix_ranking_entries_zone_code", "zone_code"),
)
