"""Request and response bodies of the public REST contract (../shared/API.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
)

from services.common.text import name_problem


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


def _printable_name(value: str) -> str:
    if problem := name_problem(value):
        raise ValueError(problem)
    return value


# Kept exactly as given, surrounding spaces included (API.md: Chinese names round-trip unchanged); only a name
# with nothing but whitespace, or with a control character, is refused.
# An empty name says so in the same words as a blank one (name_problem), not in pydantic's; the schema still
# declares minLength 1.
Name = Annotated[
    str, StringConstraints(max_length=200), AfterValidator(_printable_name), Field(json_schema_extra={"minLength": 1})
]
# `page_size` of every list (API.md: default 50, at most 1000; more is reduced to 1000, not refused).
PageSize = Annotated[int, Query(ge=1, description="default 50; larger values are reduced to 1000")]


PARAMETER_VALUE = (
    "typed by the parameter's kind: integer yuan for amounts, an integer for places, true/false for flags, "
    'text for the rate (its exact decimal, e.g. "0.05"), dates, choices and labels'
)
BASIS = (
    "the facts the rule used: integers for yuan amounts, years and ranks (investment_yuan, year, rank, "
    "historical_best, advance), text for codes, levels and ISO dates"
)


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
    parks: list[Name] | None = Field(
        None, max_length=100, description="left out: the zone keeps its parks (none for a new zone); [] clears them"
    )


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
    value: StrictBool | int | str = Field(description=PARAMETER_VALUE)
    version: int
    effective_from: date


class AwardStatusChange(BaseModel):
    status: Literal["granted", "revoked"] = Field(description="the status the award took")
    at: datetime
    reason: str | None = Field(
        description=(
            "null for the first grant; a revocation's reason; a reinstatement's (`<what changed>: its basis holds "
            "again`)"
        )
    )


class Award(BaseModel):
    award_id: str
    rule: str
    beneficiary: Beneficiary
    year: int
    amount_yuan: int
    status: Literal["granted", "revoked"]
    basis: dict[str, StrictBool | int | str] = Field(description=BASIS)
    clause: ClauseRef
    parameters: list[ParameterUse]
    earmark: str | None
    explanation: str
    granted_at: datetime = Field(description="when it was first granted (a reinstatement is in `history`)")
    revoked_at: datetime | None = Field(description="of its current revocation; null while it is granted")
    revocation_reason: str | None = Field(description="of its current revocation; null while it is granted")
    basis_key: str = Field(description="with rule and beneficiary, the key that admits one granted award")
    history: list[AwardStatusChange] = Field(
        description=(
            "every change of its status, oldest first: granted, then revoked when its basis no longer held, granted "
            "again (reinstated, with the same id, amount and parameters) when the same basis held again, ..."
        )
    )


class AwardPage(BaseModel):
    items: list[Award]
    next_page_token: str | None


# --- counties: designations (clause 二十五) --------------------------------------------------------------------

Programme = Literal["innovation_pilot", "ip_pilot", "ip_demonstration"]


class DesignationIn(Strict):
    programme: Programme = Field(description="创新型试点 | 知识产权试点 | 知识产权示范", examples=["ip_pilot"])
    level: Level
    listed_on: IsoDate


class DesignationOut(BaseModel):
    programme: Programme
    level: Level
    listed_on: date


class CountyDetail(BaseModel):
    county_code: str
    name: str
    designations: list[DesignationOut] = Field(description="oldest first")


class DesignationRecorded(DesignationOut):
    county_code: str
    created: bool = Field(description="false when this very listing had been recorded before (no new event)")
    county: CountyDetail


# --- enterprises --------------------------------------------------------------------------------------------


class CertificateIn(Strict):
    number: Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
    issued_on: IsoDate


class EnterpriseIn(Strict):
    credit_code: str = Field(
        max_length=64,
        description="18-character unified social credit code; both check characters are verified",
        examples=["913207063F0WTCDK3T"],
    )
    # Checked here as well as by the register: a row refused for another field still has its name judged.
    name: Name
    zone_code: str = Field(max_length=64)
    above_scale: StrictBool = Field(description="规模以上 (above designated size)")
    hitech_certificate: CertificateIn | None = None


@dataclass(frozen=True)
class DocumentedBody:
    """A JSON body a route takes unvalidated (its parameter is `Any`) and checks itself, envelope and rows apart
    (services/gateway/batch_rows.py): openapi.install adds `model` to the components, its list `rows_field`
    documented as non-empty `row_model` rows (the model declares it `list[Any]`), and `row_model` beside it."""

    model: type[BaseModel]
    rows_field: str
    row_model: type[BaseModel]


DOCUMENTED_BODIES: list[DocumentedBody] = []


def documented_body(
    model: type[BaseModel], rows_field: str, row_model: type[BaseModel], description: str
) -> dict[str, Any]:
    """The `openapi_extra` of a route taking `model` as its body without FastAPI validating it."""
    DOCUMENTED_BODIES.append(DocumentedBody(model, rows_field, row_model))
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    content = {"application/json": {"schema": schema}}
    return {"requestBody": {"required": True, "description": description, "content": content}}


MAX_BATCH_ENTERPRISES = 10_000


class EnterpriseBatchIn(Strict):
    # Each row is validated by the route (as an EnterpriseIn), not here: a malformed row must not hide the problems
    # of the others, which only the register can find (unknown zone, duplicate, check characters). The schema
    # still documents the rows.
    enterprises: list[Any] = Field(min_length=1, max_length=MAX_BATCH_ENTERPRISES)


class EnterpriseBatchResult(BaseModel):
    created: int
    updated: int
    unchanged: int = Field(description="pushed exactly as held (fields and certificates): left untouched")


class CertificateOut(BaseModel):
    number: str
    issued_on: date
    valid_until: date = Field(description="last valid day, inclusive: the third anniversary of issued_on")


class Enterprise(BaseModel):
    credit_code: str
    name: str
    zone_code: str
    above_scale: bool
    hitech: bool = Field(description="a high-tech certificate is valid today (China)")
    hitech_certificate: CertificateOut | None = Field(description="the latest certificate pushed")


# --- indicators ---------------------------------------------------------------------------------------------

DecimalText = Annotated[str, Field(description="exact decimal as a string", examples=["0.07"])]


class Names(BaseModel):
    zh: str
    en: str


class Target(BaseModel):
    level: Level
    op: Literal[">=", ">"] = Field(description="'>=' for 以上 (the number included), '>' for 超过 (excluded)")
    threshold: DecimalText
    year: int = Field(description="the target year", examples=[2025])
    clause: ClauseRef
    version: int
    effective_from: date


class Indicator(BaseModel):
    code: str
    name: Names
    unit: Literal["万元", "count", "fraction"]
    kind: Literal["raw", "derived"]
    formula: str | None = Field(description="derived only, e.g. 'rd_expenditure / gdp'")
    numerator: str | None
    denominator: str | None
    targets: list[Target]
    clause: ClauseRef


class IndicatorList(BaseModel):
    items: list[Indicator]
    next_page_token: str | None


class ValueBatchResult(BaseModel):
    accepted: int = Field(description="values in the batch, all stored")
    created: int = Field(description="values for a (zone, indicator, year) that had none")
    revised: int = Field(description="values that replaced a different one, which is kept as a revision")
    unchanged: int = Field(description="values equal to the one held: no revision")
    batch_id: str


class RawValue(BaseModel):
    indicator: str
    unit: str
    value: DecimalText | None = Field(description="null when the zone reported none for the year")
    source: str | None
    recorded_at: datetime | None
    revisions: int = Field(description="earlier values this one replaced")
    batch_id: str | None


class DerivedValue(BaseModel):
    indicator: str
    value: DecimalText | None = Field(
        description="the ratio, rounded half-even to 10 places; with more places (up to 30) when the 10-place "
        "value would compare with the target's threshold otherwise than the exact ratio (e.g. 0.069999999999, "
        "not 0.07, against >= 0.07), so it never contradicts `status`; null when not computable"
    )
    target: Target | None = Field(description="null when the zone has no level at the end of the year")
    status: Literal["met", "not_met", "not_computable"] = Field(
        description="decided on the exact ratio against `target`; `not_computable` when the denominator is missing "
        "or zero, or when the zone has no level at the end of the year (no target: `value` is still shown)"
    )
    explanation: str


class ZoneIndicators(BaseModel):
    zone_code: str
    year: int
    level: Level | None = Field(description="the zone's level on 31 December of `year`")
    raw: list[RawValue]
    derived: list[DerivedValue]


class ValueVersion(BaseModel):
    version: int
    value: DecimalText
    source: str
    batch_id: str
    recorded_at: datetime
    superseded_at: datetime | None = Field(description="null for the current value")


class ValueRevisions(BaseModel):
    zone_code: str
    indicator: str
    year: int
    versions: list[ValueVersion] = Field(description="oldest first; the last is current")


# --- evaluations (clauses 二十五, 二十六) -------------------------------------------------------------------------


# The gateway bounds these only so they fit the int32 of the gRPC contract, and the indicators service checks the
# rest, so that one 422 names every bad row (a rank of 0 and an unknown zone together); the document declares
# what the service accepts (`json_schema_extra`), not the looser int32 range.
class RankIn(Strict):
    zone_code: str = Field(max_length=64)
    rank: StrictInt = Field(
        ge=-(2**31), le=2**31 - 1, json_schema_extra={"minimum": 1}, description="positive; unique in the ranking"
    )


MAX_RANKS = 5_000


class RankingIn(Strict):
    # Rows validated by the route (as RankIn), as for EnterpriseBatchIn: every bad row in one answer.
    ranks: list[Any] = Field(max_length=MAX_RANKS, json_schema_extra={"minItems": 1})
    field_size: StrictInt | None = Field(
        None,
        ge=-(2**31),
        le=2**31 - 1,
        json_schema_extra={"anyOf": [{"type": "integer", "minimum": 0, "maximum": 2**31 - 1}, {"type": "null"}]},
        description="how many zones the official ranking ranks in all (e.g. 178 national zones), at least the "
        "largest rank; absent, null or 0: the largest rank. Clause 二十六's shares are taken of it.",
    )


class RankOut(BaseModel):
    zone_code: str
    rank: int
    historical_best: int | None = Field(description="best official rank at this level in the years before; or null")
    advance: int | None = Field(description="historical_best - rank (positive: places gained); null without one")
    composite_score: DecimalText | None = Field(description="0-100; null when any of the three ratios is missing")


class CompositeMethod(BaseModel):
    weight_set_version: str
    weights: dict[str, DecimalText]
    normalisation: str


class Ranking(BaseModel):
    year: int
    level: Level
    field_size: int
    published_at: datetime
    composite: CompositeMethod
    ranks: list[RankOut] = Field(description="by rank")
    clause: ClauseRef = Field(
        description="clause 二十五 (健全争先创优机制: dynamic monitoring and evaluation, the annual ranking) the "
        "ranking, historical best and advance rest on"
    )


class RankingPublished(Ranking):
    replaced: bool = Field(description="an earlier ranking of this year and level was replaced")
    changed: bool = Field(description="false when the identical ranking was pushed again (no event)")
    dropped_zone_codes: list[str]


ConsequenceOutcome = Literal["support", "none", "restrict"]
Measure = Literal["land_quota_restricted", "notice_and_interview", "rectification"]


class ZoneConsequence(BaseModel):
    zone_code: str
    rank: int
    outcome: ConsequenceOutcome
    measures: list[Measure]


class Consequences(BaseModel):
    year: int
    level: Level
    field_size: int = Field(description="how many zones the official ranking ranks in all: the shares are of it")
    support_count: int = Field(
        description="how many rank positions from the top earn 'support' (the top share of field_size, rounded up, "
        "at least 1): positions, not zones of this platform; those of its zones are in `zones`"
    )
    restrict_count: int = Field(
        description="how many rank positions from the bottom earn 'restrict', as support_count from the top"
    )
    parameter_version: str | None
    explanation: str
    clause: ClauseRef
    zones: list[ZoneConsequence]


class PastRank(BaseModel):
    year: int
    level: Level
    rank: int


class RankHistory(BaseModel):
    zone_code: str
    items: list[PastRank] = Field(description="the zone's official ranks, oldest first")
    next_page_token: str | None


# --- Talent (clause 五) -----------------------------------------------------------------------------------------

AuthorityLevel = Literal["none", "county", "city", "provincial", "national"]
IssuerLevel = Literal["county", "city", "provincial", "national"]
Nationality = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z]{2}$"),
    Field(description="ISO 3166-1 alpha-2 code; CN, HK, MO and TW are Chinese nationality", examples=["DE"]),
]
# Checked by the talent service and the enterprise register (shape, then both check characters), whose answers
# say what is wrong ("did you mean …" for lower case) where a pattern here would only quote itself.
CreditCode = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    Field(
        description="18-character unified social credit code (GB 32100-2015): digits and capitals but I, O, S, V, Z;"
        " both check characters are verified",
        examples=["91320706MA1X7Y8D7E"],
    ),
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
        description="optional; 5 to 20 letters and digits once spaces and dashes are removed (case does not"
        " matter); only links decisions about one person (as a keyed pseudonym); never stored",
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
    rule_set_version: str = Field(examples=["2021-04-12.2"])
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
    outcome: Literal["eligible", "not_eligible"]  # only the work permit knows "once approved"
    max_validity_years: int | None = Field(description="10 when eligible, else null")
    max_stay_days: int | None = Field(description="180 when eligible, else null")
    apply_at: Literal["visa_office_abroad"] | None = Field(description="我国驻外签证机关, when eligible")


class RdInstitutionRepresentativeDecision(TalentDecisionBase):
    check: Literal["rd_institution_representative"]
    outcome: Literal["eligible", "not_eligible"]
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


# ------------------------------------------------------------------------------------- rewards: the rest

ProjectCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
# ¥100 trillion: above it a figure is a typo (and every sum stays inside int64).
MAX_INVESTMENT_YUAN = 100_000_000_000_000


class Total(BaseModel):
    count: int
    amount_yuan: int


class RuleTotal(BaseModel):
    rule: str
    granted: Total
    revoked: Total


class EarmarkTotal(BaseModel):
    earmark: str | None = Field(description="null for awards without an earmark")
    granted: Total
    revoked: Total


class YearSummary(BaseModel):
    year: int
    granted: Total = Field(description="awards granted and still granted")
    revoked: Total = Field(description="awards granted, then revoked")
    rules: list[RuleTotal]
    earmarks: list[EarmarkTotal]


class AwardSummary(BaseModel):
    items: list[YearSummary]


class TalentProjectIn(Strict):
    project_code: ProjectCode = Field(examples=["TP-2023-001"])
    name: Name = Field(examples=["高性能纳米材料创业项目"])
    zone_code: ZoneCode = Field(examples=["LYG-HTZ"])
    talent_level: Level = Field(description="a national- or provincial-level talent start-up project")
    investment_yuan: StrictInt = Field(gt=0, le=MAX_INVESTMENT_YUAN, description="investment in integer yuan")
    recruited_on: IsoDate


class TalentProject(BaseModel):
    project_code: str
    name: str
    zone_code: str
    talent_level: Level
    investment_yuan: int
    recruited_on: date


class Refusal(BaseModel):
    """A rule that looked at a fact and granted nothing, and why."""

    rule: str
    beneficiary: Beneficiary
    basis_key: str | None
    reason: str
    clause: ClauseRef
    parameters: list[ParameterUse]


class TalentProjectDetail(TalentProject):
    awards: list[Award] = Field(description="every award of the project, granted or revoked")
    refusals: list[Refusal] = Field(description="why the project has no granted award now, if it has none")
    recorded_at: datetime
    updated_at: datetime


class TalentProjectRecorded(TalentProjectDetail):
    created: bool
    changed: bool = Field(description="false when the same facts were recorded before: nothing happened")


class RecognitionFactIn(Strict):
    zone_code: ZoneCode
    level: Level
    recognized_on: IsoDate


class DesignationFactIn(Strict):
    county_code: CountyCode
    programme: Programme
    level: Level
    listed_on: IsoDate


class SimulatedRankIn(Strict):
    zone_code: ZoneCode
    rank: StrictInt = Field(ge=1, le=2**31 - 1, description="positive, as in a pushed ranking")


class RankingFactIn(Strict):
    year: StrictInt = Field(ge=1988, le=2100)
    level: Level
    ranks: list[SimulatedRankIn] = Field(max_length=5_000)


class SimulatedTalentProjectIn(Strict):
    project_code: ProjectCode
    name: Name
    zone_code: ZoneCode
    talent_level: Level
    investment_yuan: StrictInt = Field(gt=0, le=MAX_INVESTMENT_YUAN)
    recruited_on: IsoDate


def _scalar(value: object) -> object:
    # One error at `value` for null, a list or an object, not one per member of the union below (`value.bool`,
    # `value.int`…, locations the request does not have).
    if not isinstance(value, bool | int | float | str):
        raise ValueError("must be a number, a string or true/false (see GET /v1/reward-rules for each parameter's)")
    return value


ParameterValueIn = Annotated[
    StrictBool | StrictInt | StrictFloat | str,
    BeforeValidator(_scalar),
    Field(description='integer yuan for amounts, a decimal fraction ("0.05") for the rate, true/false for flags'),
]


class ParameterIn(Strict):
    name: str = Field(max_length=64, examples=["talent_project.rate"])
    value: ParameterValueIn = Field(examples=["0.05"])
    effective_from: IsoDate


class SimulationIn(Strict):
    """Hypothetical facts, as the push endpoints take them, and optionally hypothetical parameter versions."""

    recognitions: list[RecognitionFactIn] = Field(default_factory=list, max_length=10_000)
    designations: list[DesignationFactIn] = Field(default_factory=list, max_length=10_000)
    rankings: list[RankingFactIn] = Field(
        default_factory=list,
        max_length=200,
        description=(
            "each replaces the recorded ranking of its year and level, as PUT /v1/evaluations/{year}/rankings/{level} "
            "does: a zone ranked there before and absent here is dropped from it"
        ),
    )
    talent_projects: list[SimulatedTalentProjectIn] = Field(
        default_factory=list, max_length=10_000, description="each replaces a recorded project of the same code"
    )
    parameters: list[ParameterIn] = Field(default_factory=list, max_length=100)
    recorded_facts: Literal["include", "ignore"] = Field(
        default="include",
        description=(
            "`include`: the facts the platform has recorded for the zones, counties and projects these facts "
            "concern, with these applied on top as pushing them would apply them, judged against the award ledger: "
            "each award says whether the ledger already holds it, and `revocations` lists the ledger's awards the "
            "push would revoke. `ignore`: these facts alone, as if nothing were recorded; the ledger is not read"
        ),
    )


class SimulatedDecision(BaseModel):
    """What a simulated award and a simulated revocation both say: who, how much, why."""

    rule: str
    beneficiary: Beneficiary
    basis_key: str
    year: int
    amount_yuan: int
    basis: dict[str, StrictBool | int | str] = Field(description=BASIS)
    clause: ClauseRef
    parameters: list[ParameterUse]
    earmark: str | None
    explanation: str


class SimulatedAward(SimulatedDecision):
    already_granted: bool = Field(
        description=(
            "the ledger holds this award (same rule, beneficiary, basis key and basis) as granted: pushing the facts "
            "would leave it as it is. Always false with `recorded_facts: ignore`"
        )
    )
    reinstated: bool = Field(
        description=(
            "the ledger holds this award (same rule, beneficiary, basis key and basis) as revoked, and pushing the "
            "facts would grant it again as it was: its `award_id`, amount and parameter versions (those shown). "
            "Always false with `recorded_facts: ignore`"
        )
    )
    award_id: str | None = Field(description="the ledger's award when `already_granted` or `reinstated`, else null")


class SimulatedRevocation(SimulatedDecision):
    """A granted award of the ledger that the simulated facts would revoke."""

    award_id: str
    granted_at: datetime
    reason: str = Field(description="the revocation reason the ledger would record")


class SimulationOut(BaseModel):
    awards: list[SimulatedAward] = Field(
        description=(
            "every award the rules give the zones, counties and projects concerned; those with `already_granted` "
            "false are what the push would earn (`reinstated`: a revoked award of the ledger granted again)"
        )
    )
    refusals: list[Refusal]
    revocations: list[SimulatedRevocation] = Field(
        description="granted awards of the ledger the facts would no longer support (always empty with `ignore`)"
    )


class ParameterVersionOut(BaseModel):
    name: str
    value: StrictBool | int | str = Field(description=PARAMETER_VALUE)
    version: int
    effective_from: date
    source: Literal["policy", "admin"]
    recorded_at: datetime | None


class ParameterAdded(ParameterVersionOut):
    awards_granted: int = Field(description="facts that had no award and have one under the new version")


class ParameterOut(BaseModel):
    name: str
    kind: Literal["amount_yuan", "places", "rate", "date", "flag", "choice", "label"]
    description: str
    clause: ClauseRef
    choices: list[str]
    open_point: str | None = Field(description="the open point of POLICY.md this parameter settles")
    versions: list[ParameterVersionOut]
    in_force: ParameterVersionOut | None


class RewardRule(BaseModel):
    rule: str
    title: str
    beneficiary_kind: Literal["zone", "county", "project"]
    clause: ClauseRef
    condition: str
    basis_key: str
    fact_date: str
    active: bool = Field(description="every parameter the rule needs has a value in force on `as_of`")
    inactive_reasons: list[str]
    triggers: list[str]
    parameters: list[ParameterOut]


class RewardRules(BaseModel):
    as_of: date
    items: list[RewardRule]
