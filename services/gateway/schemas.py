"""Request and response bodies of the public REST contract (../shared/API.md)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StringConstraints, WithJsonSchema


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


# --- Talent (clause 五) -----------------------------------------------------------------------------------------

AuthorityLevel = Literal["none", "county", "city", "provincial", "national"]
IssuerLevel = Literal["county", "city", "provincial", "national"]
Nationality = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z]{2}$"),
    Field(description="ISO 3166-1 alpha-2 code; CN, HK, MO and TW are Chinese nationality", examples=["DE"]),
]
CreditCode = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9A-HJ-NP-RTUWXY]{18}$"),
    Field(description="18-character unified social credit code (GB 32100-2015)", examples=["91320706MA1X7Y8D7E"]),
]


class ApplicantIdentifiers(Strict):
    name: str | None = Field(
        None,
        max_length=200,
        description="optional; only links decisions about one person (as a keyed pseudonym); never stored",
    )
    passport_number: str | None = Field(
        None,
        max_length=32,
        description="optional; only links decisions about one person (as a keyed pseudonym); never stored",
    )


class WorkPermitAgeCheckIn(ApplicantIdentifiers):
    nationality: Nationality
    birth_date: IsoDate = Field(description="used for the age on application_date, then discarded")
    application_date: IsoDate = Field(description="the age is counted in completed years (周岁) on this day")
    talent_category: Literal["A", "B", "C"] = Field(description="A: high-end (外国高端人才); B: professional; C: other")
    employer_credit_code: CreditCode
    approval_authority_level: AuthorityLevel = Field(
        description="the highest S&T administration that approved the relaxation; `none` when not yet approved"
    )


class ConfirmationLetterIn(Strict):
    issuer_level: IssuerLevel
    issued_on: IsoDate
    number: str | None = Field(None, max_length=64, description="optional; kept only as a keyed pseudonym")


class RVisaCheckIn(ApplicantIdentifiers):
    nationality: Nationality
    talent_type: Literal["high_level", "urgently_needed", "other"]
    confirmation_letter: ConfirmationLetterIn | None = Field(
        None, description="the 确认函; null or absent when there is none"
    )


class RdInstitutionRepresentativeCheckIn(ApplicantIdentifiers):
    nationality: Nationality
    permanent_residence_card: StrictBool = Field(description="holds a 外国人永久居留身份证")


class ConditionClause(BaseModel):
    id: int = Field(examples=[5])
    label: str = Field(examples=["（五）"])
    quote: str = Field(description="the words of the clause this condition rests on (its full text is at `url`)")
    url: str = Field(examples=["/v1/policy/clauses/5"])


class TalentCondition(BaseModel):
    name: str = Field(examples=["approved_by_st_administration"])
    met: bool
    detail: str = Field(description="what was judged, on which input")
    clause: ConditionClause


class TalentDecisionBase(BaseModel):
    decision_id: str
    eligible: bool
    outcome: Literal["eligible", "eligible_if_approved", "not_eligible"]
    conditions: list[TalentCondition]
    explanation: str
    rule_set_version: str = Field(examples=["2021-04-12.1"])
    decided_on: date = Field(description="the date the rules were applied on")
    decided_at: datetime
    subject: str | None = Field(description="pseudonym of the applicant (keyed HMAC), when identifiers were given")
    subject_basis: Literal["passport_number", "name"] | None
    inputs: dict[str, str] = Field(description="what the decision kept of the inputs: reduced and pseudonymised")
    requested_by: str = Field(description="id of the API key that asked")


class WorkPermitAgeDecision(TalentDecisionBase):
    check: Literal["work_permit_age"]
    age: int = Field(description="completed years (周岁) on the application date")
    max_age: int = Field(description="65 when the clause 五 relaxation applies, else 60")


class RVisaDecision(TalentDecisionBase):
    check: Literal["r_visa"]
    max_validity_years: int | None = Field(description="10 when eligible, else null")
    max_stay_days: int | None = Field(description="180 when eligible, else null")
    apply_at: Literal["visa_office_abroad"] | None = Field(description="我国驻外签证机关, when eligible")


class RdInstitutionRepresentativeDecision(TalentDecisionBase):
    check: Literal["rd_institution_representative"]
    may_be_legal_representative: bool = Field(description="of a new R&D institution (新型研发机构)")
    may_lead_government_research_projects: bool
    may_receive_related_funding: bool


TalentDecision = Annotated[
    WorkPermitAgeDecision | RVisaDecision | RdInstitutionRepresentativeDecision, Field(discriminator="check")
]


class TalentRuleOut(BaseModel):
    rule: str
    summary: str
    quote: str
    clause: ClauseRef


class TalentRuleSet(BaseModel):
    version: str
    effective_from: date
    parameters: dict[str, str]


class TalentRules(BaseModel):
    rules: list[TalentRuleOut]
    rule_set_version: str = Field(description="the version in force today")
    rule_sets: list[TalentRuleSet]
