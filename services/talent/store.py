"""Talent service tables: decisions (pseudonymised) arrive with the talent issue; the outbox is here already."""

from __future__ import annotations

from services.common.db import new_metadata
from services.common.outbox import outbox_table

metadata = new_metadata()
outbox = outbox_table(metadata)
