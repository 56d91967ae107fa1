"""Indicators service storage: `tables` (every table) and queries by subject (`registry`, `enterprises`,
`values`, `rankings`). The registry names used across the service are re-exported here; the subject modules
are imported by name (`from services.indicators.store import values as value_store`)."""

from services.indicators.store.registry import (
    ZoneRow,
    add_designation,
    add_recognition,
    county_designations,
    get_county,
    get_zone,
    list_zones,
    lock_zones,
    recognition_on,
    upsert_county,
    upsert_zone,
    zone_recognitions,
    zones_recognitions,
)
from services.indicators.store.tables import counties, inbox, metadata, outbox, recognitions, zones

__all__ = [
    "ZoneRow",
    "add_designation",
    "add_recognition",
    "counties",
    "county_designations",
    "get_county",
    "get_zone",
    "inbox",
    "list_zones",
    "lock_zones",
    "metadata",
    "outbox",
    "recognition_on",
    "recognitions",
    "upsert_county",
    "upsert_zone",
    "zone_recognitions",
    "zones",
    "zones_recognitions",
]
