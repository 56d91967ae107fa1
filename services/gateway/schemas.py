"""Request and response bodies of the public REST contract (../shared/API.md)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema


def _iso_date_only(value: object) -> object:
    # Pydantic would also read 0 or "1700000000" as dates (Unix time); the contract says YYYY-MM-DD.
    if isinstance(value, str) and not ISO_DATE.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    if isinstance(value, int | float):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
IsoDate = Annotated[date, BeforeValidator(_iso_date_only), WithJsonSchema({"type": "string", "format": "date"})]

Level = Literal["provincial", "national"]
ZoneCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]
CountyCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CountyIn(Strict):
    name: Name = Field(examples=["海州区"])


class County(BaseModel):
    county_code: str = Field(examples=["320706"])
    name: str


class ZoneIn(Strict):
    name: Name = Field(examples=["连云港高新技术产业开发区"])
    county_code: CountyCode = Field(examples=["320706"])
    parks: list[Name] = Field(default_factory=list, max_length=100)


class RecognitionOut(BaseModel):
    level: Level
    recognized_on: date


class Zone(BaseModel):
    zone_code: str
    name: str
    county_code: str
    parks: list[str]
    level: Level | None = Field(description="level on `as_of` (default: today in China); null if not recognised")
    recognitions: list[RecognitionOut]


class ZonePage(BaseModel):
    items: list[Zone]
    next_page_token: str | None


class RecognitionIn(Strict):
    level: Level
    recognized_on: IsoDate


class RecognitionRecorded(BaseModel):
    zone_code: str
    level: Level
    recognized_on: date
    created: bool = Field(description="false when this very recognition had been recorded before")
    zone: Zone


class Beneficiary(BaseModel):
    kind: Literal["zone", "county", "project"]
    code: str


class ClauseRef(BaseModel):
    id: int = Field(description="clause number, 1..26", examples=[25])
    label: str = Field(examples=["（二十五）"])
    text: str
    url: str


class ParameterUse(BaseModel):
    name: str
    value: int | str
    version: int
    effective_from: date


class Award(BaseModel):
    award_id: str
    rule: str
    beneficiary: Beneficiary
    year: int
    amount_yuan: int
    status: Literal["granted", "revoked"]
    basis: dict[str, str]
    clause: ClauseRef
    parameters: list[ParameterUse]
    earmark: str | None
    explanation: str
    granted_at: datetime
    revoked_at: datetime | None
    revocation_reason: str | None


class AwardPage(BaseModel):
    items: list[Award]
    next_page_token: str | None
