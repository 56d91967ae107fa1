"""Which rules of the platform implement which clause of 连政发〔2021〕25号, and where to see them at work.

One table, so the policy registry (GET /v1/policy/clauses) can say of every clause what runs it; tests check
that every rule the services define appears here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Implementation:
    clause: int
    rule: str
    service: str
    summary: str
    endpoints: tuple[str, ...]


IMPLEMENTATIONS: tuple[Implementation, ...] = (
    Implementation(
        3,
        "target.rd_intensity",
        "indicators",
        "R&D expenditure / GDP ≥ 7% (national), ≥ 5% (provincial)",
        ("GET /v1/zones/{zone_code}/indicators", "GET /v1/indicators"),
    ),
    Implementation(
        3,
        "target.hitech_output_share",
        "indicators",
        "high-tech industry output / above-scale industrial output > 80% (national), > 70% (provincial)",
        ("GET /v1/zones/{zone_code}/indicators", "GET /v1/indicators"),
    ),
    Implementation(
        3,
        "target.hitech_enterprise_share",
        "indicators",
        "high-tech enterprises / above-scale enterprises > 45%",
        ("GET /v1/zones/{zone_code}/indicators", "GET /v1/indicators"),
    ),
    Implementation(
        5,
        "talent.work_permit_age",
        "talent",
        "category A overseas talent in a zone enterprise: work permit up to 65 with city-level approval",
        ("POST /v1/talent/work-permit-age:check",),
    ),
    Implementation(
        5,
        "talent.r_visa",
        "talent",
        "high-level / urgently needed talent with a provincial letter: R visa up to 10 years, 180-day stays",
        ("POST /v1/talent/r-visa:check",),
    ),
    Implementation(
        5,
        "talent.rd_institution_representative",
        "talent",
        "permanent residents may represent new R&D institutions and lead government research projects",
        ("POST /v1/talent/rd-institution-representative:check",),
    ),
    Implementation(
        5,
        "reward.talent_project",
        "rewards",
        "talent start-up projects: investment × a rate the policy leaves open (a parameter)",
        ("POST /v1/talent-projects", "GET /v1/awards"),
    ),
    Implementation(
        17, "registry.zone_parks", "indicators", "one zone, several parks (一区多园)", ("PUT /v1/zones/{zone_code}",)
    ),
    Implementation(
        23,
        "registry.zone_recognition",
        "indicators",
        "a zone's level is that of its latest recognition on a date",
        ("POST /v1/zones/{zone_code}/recognitions", "GET /v1/zones/{zone_code}"),
    ),
    Implementation(
        25,
        "reward.new_provincial_zone",
        "rewards",
        "a newly recognised provincial zone: ¥1,000,000",
        ("GET /v1/awards", "GET /v1/reward-rules"),
    ),
    Implementation(
        25,
        "reward.rank_advance",
        "rewards",
        "3 or more places above the historical best: ¥1,000,000 (national), ¥500,000 (provincial)",
        ("GET /v1/awards", "GET /v1/reward-rules"),
    ),
    Implementation(
        25,
        "reward.pilot_county",
        "rewards",
        "a county listed in an innovation / IP pilot: ¥500,000 (national), ¥200,000 (provincial)",
        ("GET /v1/awards", "GET /v1/reward-rules"),
    ),
    Implementation(
        25,
        "evaluation.ranking",
        "indicators",
        "annual official rankings, historical best and the platform's own composite score",
        ("PUT /v1/evaluations/{year}/rankings/{level}", "GET /v1/evaluations/{year}/rankings/{level}"),
    ),
    Implementation(
        26,
        "evaluation.consequences",
        "indicators",
        "good results: support; poor results: land quota restricted, notice and interview, rectification",
        ("GET /v1/evaluations/{year}/consequences/{level}",),
    ),
)


def implementations_of(clause: int) -> list[Implementation]:
    return [i for i in IMPLEMENTATIONS if i.clause == clause]
