"""Talent checks through the REST gateway (API.md: Talent), down to the talent database and the event bus."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx
import nats
import pytest
from gaoxin.events.v1 import events_pb2
from pydantic import TypeAdapter

from services.gateway.schemas import (
    RdInstitutionRepresentativeDecision,
    RVisaDecision,
    TalentDecision,
    WorkPermitAgeDecision,
)
from services.indicators.domain.credit_code import make_credit_code
from services.platform import Platform
from tests.e2e.conftest import eventually, issue_key
from tests.e2e.talent.conftest import (
    IN_NATIONAL_ZONE,
    IN_UNRECOGNISED_ZONE,
    NATIONAL_ZONE,
    UNRECOGNISED_ZONE,
    UNREGISTERED,
    decision_count,
)

PROBLEM = "application/problem+json"
WORK_PERMIT = "/v1/talent/work-permit-age:check"
R_VISA = "/v1/talent/r-visa:check"
RD_INSTITUTION = "/v1/talent/rd-institution-representative:check"


def work_permit(**changes: Any) -> dict[str, Any]:
    return {
        "nationality": "DE",
        "birth_date": "1960-03-10",  # 66th birthday: 2026-03-10
        "application_date": "2026-03-09",
        "talent_category": "A",
        "employer_credit_code": IN_NATIONAL_ZONE,
        "approval_authority_level": "city",
    } | changes


def r_visa(issuer_level: str | None = "provincial", **changes: Any) -> dict[str, Any]:
    letter = {"issuer_level": issuer_level, "issued_on": "2025-11-03", "number": "JS-R-2025-0042"}
    return {
        "nationality": "GB",
        "talent_type": "urgently_needed",
        "confirmation_letter": letter if issuer_level else None,
    } | changes


def unmet(answer: dict[str, Any]) -> list[str]:
    return [c["name"] for c in answer["conditions"] if not c["met"]]


@pytest.mark.parametrize(
    ("applied", "eligible", "age"),
    [("2026-03-09", True, 65), ("2026-03-10", False, 66), ("2026-03-11", False, 66)],
    ids=["day-before-66th-birthday", "66th-birthday", "day-after"],
)
def test_check_work_permit_around_66th_birthday(
    talent_api: httpx.Client, applied: str, eligible: bool, age: int
) -> None:
    reply = talent_api.post(WORK_PERMIT, json=work_permit(application_date=applied))

    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert (answer["eligible"], answer["age"], answer["max_age"]) == (eligible, age, 65)
    assert answer["outcome"] == ("eligible" if eligible else "not_eligible")
    assert unmet(answer) == ([] if eligible else ["age_within_limit"])


def test_check_work_permit_all_met_explains_every_condition_with_clause_5(talent_api: httpx.Client) -> None:
    reply = talent_api.post(WORK_PERMIT, json=work_permit())

    assert reply.status_code == 200
    answer = reply.json()
    assert answer["check"] == "work_permit_age" and answer["rule_set_version"] == "2021-04-12.2"
    assert [c["name"] for c in answer["conditions"]] == [
        "foreign_national",
        "policy_in_force",
        "overseas_high_end_talent",
        "employer_in_hitech_zone",
        "approved_by_st_administration",
        "age_within_limit",
    ]
    for condition in answer["conditions"]:
        assert condition["clause"]["id"] == 5 and condition["clause"]["label"] == "（五）"
        assert condition["clause"]["url"] == "/v1/policy/clauses/5"
        assert condition["clause"]["quote"] and condition["detail"]
    employer = answer["conditions"][3]
    assert f"is in zone {NATIONAL_ZONE}, a national high-tech zone on 2026-03-09" in employer["detail"]
    assert answer["inputs"]["age"] == "65" and "birth_date" not in answer["inputs"]
    # In one order whatever the process (the protobuf map's own order changes with each start).
    assert list(answer["inputs"]) == sorted(answer["inputs"])


def test_check_work_permit_without_approval_is_eligible_if_approved(talent_api: httpx.Client) -> None:
    reply = talent_api.post(WORK_PERMIT, json=work_permit(approval_authority_level="county"))

    assert reply.status_code == 200
    answer = reply.json()
    assert (answer["eligible"], answer["outcome"], answer["max_age"]) == (False, "eligible_if_approved", 60)
    assert unmet(answer) == ["approved_by_st_administration", "age_within_limit"]
    assert answer["explanation"].startswith("Eligible once approved: approved at county level only")


@pytest.mark.parametrize(
    ("employer", "detail"),
    [
        (UNREGISTERED, f"no enterprise with the credit code {UNREGISTERED} is registered"),
        (IN_UNRECOGNISED_ZONE, f"is in zone {UNRECOGNISED_ZONE}, not a recognised high-tech zone on 2026-03-09"),
    ],
    ids=["unregistered", "zone-not-recognised"],
)
def test_check_work_permit_employer_outside_recognised_zone_is_clear_no(
    talent_api: httpx.Client, employer: str, detail: str
) -> None:
    reply = talent_api.post(WORK_PERMIT, json=work_permit(employer_credit_code=employer))

    assert reply.status_code == 200
    answer = reply.json()
    assert (answer["eligible"], answer["outcome"], answer["max_age"]) == (False, "not_eligible", 60)
    assert unmet(answer) == ["employer_in_hitech_zone", "age_within_limit"]
    assert detail in answer["conditions"][3]["detail"]


def test_check_work_permit_employer_zone_level_is_the_one_on_the_application_date(talent_api: httpx.Client) -> None:
    provincial = talent_api.post(WORK_PERMIT, json=work_permit(application_date="2015-02-15", birth_date="1950-03-10"))
    before_any = talent_api.post(WORK_PERMIT, json=work_permit(application_date="1997-05-31", birth_date="1935-03-10"))

    assert (provincial.status_code, before_any.status_code) == (200, 200)
    assert "a provincial high-tech zone on 2015-02-15" in provincial.json()["conditions"][3]["detail"]
    assert before_any.json()["conditions"][3]["met"] is False


def test_check_sees_an_employer_move_made_just_before_it(talent_api: httpx.Client) -> None:
    # The talent service gathers register lookups into shared calls: none may be answered by a call sent before
    # its check arrived, so every check after a move's 200 must see the move. Back and forth, no pause between.
    mover = make_credit_code("320706", "TL000009")

    def move_to(zone: str) -> None:
        body = {
            "enterprises": [
                {"credit_code": mover, "name": "搬迁某公司（测试）", "zone_code": zone, "above_scale": True}
            ]
        }
        assert talent_api.post("/v1/enterprises:batch", json=body).status_code == 200

    seen = []
    for zone in [NATIONAL_ZONE, UNRECOGNISED_ZONE] * 5:
        move_to(zone)
        reply = talent_api.post(WORK_PERMIT, json=work_permit(employer_credit_code=mover))
        assert reply.status_code == 200
        seen.append((zone, reply.json()["conditions"][3]["met"]))

    assert seen == [(NATIONAL_ZONE, True), (UNRECOGNISED_ZONE, False)] * 5


def test_check_work_permit_mistyped_credit_code_is_422_at_the_field(
    talent_api: httpx.Client, talent_platform: Platform
) -> None:
    mistyped = IN_NATIONAL_ZONE[:-1] + ("0" if IN_NATIONAL_ZONE[-1] != "0" else "1")  # check character wrong
    before = decision_count(talent_platform)

    reply = talent_api.post(WORK_PERMIT, json=work_permit(employer_credit_code=mistyped))

    assert reply.status_code == 422
    assert [e["location"] for e in reply.json()["errors"]] == [["body", "employer_credit_code"]]
    assert "check character" in reply.json()["errors"][0]["message"]
    assert decision_count(talent_platform) == before


def test_check_work_permit_credit_code_in_lower_case_is_422_suggesting_the_capitals(
    talent_api: httpx.Client, talent_platform: Platform
) -> None:
    before = decision_count(talent_platform)

    reply = talent_api.post(WORK_PERMIT, json=work_permit(employer_credit_code=IN_NATIONAL_ZONE.lower()))

    assert reply.status_code == 422
    assert reply.json()["errors"] == [
        {
            "location": ["body", "employer_credit_code"],
            "message": f"letters must be upper case: did you mean '{IN_NATIONAL_ZONE}'?",
        }
    ]
    assert decision_count(talent_platform) == before


@pytest.mark.parametrize(("issuer", "eligible"), [("city", False), ("provincial", True), ("national", False)], ids=str)
def test_check_r_visa_letter_issuer_must_be_provincial(talent_api: httpx.Client, issuer: str, eligible: bool) -> None:
    reply = talent_api.post(R_VISA, json=r_visa(issuer))

    assert reply.status_code == 200
    answer = reply.json()
    assert answer["eligible"] is eligible
    expected = (10, 180, "visa_office_abroad") if eligible else (None, None, None)
    assert (answer["max_validity_years"], answer["max_stay_days"], answer["apply_at"]) == expected
    assert unmet(answer) == ([] if eligible else ["letter_issuer_level"])


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (r_visa(None), ["confirmation_letter", "letter_issuer_level"]),
        (r_visa(nationality="CN"), ["foreign_national"]),
        (r_visa(talent_type="other"), ["high_level_or_urgently_needed"]),
    ],
    ids=["no-letter", "chinese-national", "other-talent"],
)
def test_check_r_visa_each_no_is_distinct_and_explained(
    talent_api: httpx.Client, body: dict[str, Any], reason: list[str]
) -> None:
    reply = talent_api.post(R_VISA, json=body)

    assert reply.status_code == 200
    answer = reply.json()
    assert (answer["eligible"], answer["outcome"], unmet(answer)) == (False, "not_eligible", reason)
    assert answer["explanation"].startswith("Not eligible: ")


@pytest.mark.parametrize(
    ("nationality", "card", "granted"), [("US", True, True), ("US", False, False), ("CN", True, False)]
)
def test_check_permanent_resident_gives_three_rights_of_one_clause(
    talent_api: httpx.Client, nationality: str, card: bool, granted: bool
) -> None:
    reply = talent_api.post(RD_INSTITUTION, json={"nationality": nationality, "permanent_residence_card": card})

    assert reply.status_code == 200
    answer = reply.json()
    rights = ("may_be_legal_representative", "may_lead_government_research_projects", "may_receive_related_funding")
    assert [answer[r] for r in rights] == [granted] * 3
    assert answer["eligible"] is granted
    assert {c["clause"]["id"] for c in answer["conditions"]} == {5}


def test_get_decision_returns_what_the_check_answered(talent_api: httpx.Client) -> None:
    answer = talent_api.post(R_VISA, json=r_visa(passport_number="GB5550123"))

    again = talent_api.get(answer.headers["content-location"])

    assert again.status_code == 200
    assert answer.headers["content-location"] == f"/v1/talent/decisions/{answer.json()['decision_id']}"
    assert again.json() == answer.json()
    assert again.json()["inputs"]["letter_number_ref"].startswith("ref_")
    assert again.json()["requested_by"].startswith("boot-")


def test_answers_match_the_documented_models(talent_api: httpx.Client) -> None:
    answers = [
        (WorkPermitAgeDecision, talent_api.post(WORK_PERMIT, json=work_permit(approval_authority_level="none"))),
        (RVisaDecision, talent_api.post(R_VISA, json=r_visa("city", name="Jo Doe"))),
        (RVisaDecision, talent_api.post(R_VISA, json=r_visa())),
        (
            RdInstitutionRepresentativeDecision,
            talent_api.post(RD_INSTITUTION, json={"nationality": "KR", "permanent_residence_card": False}),
        ),
    ]

    for model, reply in answers:
        assert reply.status_code == 200
        documented = model.model_validate(reply.json())
        assert set(documented.model_fields_set) == set(reply.json())  # nothing the document does not name
        read_back = talent_api.get(reply.headers["content-location"]).json()
        assert TypeAdapter(TalentDecision).validate_python(read_back) == documented


def test_get_decision_unknown_is_404(talent_api: httpx.Client) -> None:
    reply = talent_api.get("/v1/talent/decisions/00000000-0000-4000-8000-000000000000")

    assert reply.status_code == 404
    assert reply.headers["content-type"] == PROBLEM


def test_same_passport_links_decisions_and_name_alone_links_weakly(talent_api: httpx.Client) -> None:
    passport = f"P{secrets.token_hex(4).upper()}"

    first = talent_api.post(WORK_PERMIT, json=work_permit(passport_number=passport, name="Lena Vogt")).json()
    second = talent_api.post(
        RD_INSTITUTION, json={"nationality": "DE", "permanent_residence_card": True, "passport_number": passport}
    ).json()
    other = talent_api.post(R_VISA, json=r_visa(passport_number=passport + "9")).json()
    by_name = talent_api.post(R_VISA, json=r_visa(name="Lena Vogt", nationality="DE")).json()
    anonymous = talent_api.post(R_VISA, json=r_visa()).json()

    assert first["subject"] == second["subject"] != other["subject"]
    assert first["subject_basis"] == "passport_number" and by_name["subject_basis"] == "name"
    assert by_name["subject"] not in (first["subject"], None)
    assert (anonymous["subject"], anonymous["subject_basis"]) == (None, None)


def test_checks_need_talent_check_scope_decisions_and_rules_either_scope(
    talent_platform: Platform, talent_api: httpx.Client
) -> None:
    decision = talent_api.post(R_VISA, json=r_visa()).json()["decision_id"]
    url = talent_platform.gateway_url

    def call(key: str, method: str, path: str, body: Any = None) -> httpx.Response:
        return httpx.request(method, url + path, json=body, headers={"Authorization": f"Bearer {key}"})

    reader, checker = issue_key(talent_platform, "read"), issue_key(talent_platform, "talent:check")
    writer = issue_key(talent_platform, "data:write")

    assert call(reader, "POST", R_VISA, r_visa()).status_code == 403
    # API.md: `read` is "everything readable"; a decision holds no personal value in clear.
    assert call(reader, "GET", f"/v1/talent/decisions/{decision}").json()["decision_id"] == decision
    assert call(reader, "GET", "/v1/talent/rules").status_code == 200
    assert call(checker, "POST", R_VISA, r_visa()).status_code == 200
    assert call(checker, "GET", f"/v1/talent/decisions/{decision}").json()["decision_id"] == decision
    assert call(checker, "GET", "/v1/talent/rules").json()["rules"]
    assert call(checker, "GET", "/v1/zones").status_code == 403
    refused = call(writer, "GET", "/v1/talent/rules")
    assert refused.status_code == 403
    assert "none of the scopes `read`, `talent:check`" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("path", "body", "location"),
    [
        (WORK_PERMIT, work_permit(birth_date="1960-02-30"), ["body", "birth_date"]),
        (WORK_PERMIT, work_permit(birth_date="10.03.1960"), ["body", "birth_date"]),
        (WORK_PERMIT, work_permit(application_date=20260309), ["body", "application_date"]),
        (WORK_PERMIT, work_permit(birth_date="2026-03-10"), ["body", "birth_date"]),  # after the application
        (WORK_PERMIT, work_permit(birth_date="2008-03-10"), ["body", "birth_date"]),  # 18 only the next day
        (WORK_PERMIT, work_permit(talent_category="D"), ["body", "talent_category"]),
        (WORK_PERMIT, work_permit(approval_authority_level="town"), ["body", "approval_authority_level"]),
        (WORK_PERMIT, work_permit(employer_credit_code="9132070"), ["body", "employer_credit_code"]),
        (WORK_PERMIT, work_permit(nationality="XX"), ["body", "nationality"]),
        (WORK_PERMIT, work_permit(passport_number="#!"), ["body", "passport_number"]),
        (WORK_PERMIT, work_permit(extra="field"), ["body", "extra"]),
        (R_VISA, r_visa(talent_type="famous"), ["body", "talent_type"]),
        (R_VISA, r_visa("none"), ["body", "confirmation_letter", "issuer_level"]),
        (
            R_VISA,
            r_visa(confirmation_letter={"issuer_level": "provincial", "issued_on": "2999-01-01"}),
            ["body", "confirmation_letter", "issued_on"],
        ),
        (
            RD_INSTITUTION,
            {"nationality": "US", "permanent_residence_card": "yes"},
            ["body", "permanent_residence_card"],
        ),
    ],
)
def test_check_with_bad_input_is_422_naming_the_field_and_records_nothing(
    talent_api: httpx.Client, talent_platform: Platform, path: str, body: dict[str, Any], location: list[Any]
) -> None:
    before = decision_count(talent_platform)

    reply = talent_api.post(path, json=body)

    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"] == PROBLEM
    assert [e["location"] for e in reply.json()["errors"]] == [location]
    # One code whether the gateway's schema or the talent service's rules found it.
    assert reply.json()["code"] == "validation_failed"
    assert decision_count(talent_platform) == before


def test_check_with_idempotency_key_replays_the_first_decision(
    talent_api: httpx.Client, talent_platform: Platform
) -> None:
    key = {"Idempotency-Key": f"wp-{secrets.token_hex(6)}"}
    body = work_permit(passport_number="IDEMP0TENT1")

    first = talent_api.post(WORK_PERMIT, json=body, headers=key)
    count = decision_count(talent_platform)
    replay = talent_api.post(WORK_PERMIT, json=body, headers=key)
    other = talent_api.post(WORK_PERMIT, json=body | {"talent_category": "B"}, headers=key)

    assert first.status_code == replay.status_code == 200
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["decision_id"] == first.json()["decision_id"]
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_mismatch"
    assert decision_count(talent_platform) == count


def test_idempotent_replay_keeps_the_headers_of_the_first_answer(talent_api: httpx.Client) -> None:
    key = {"Idempotency-Key": f"rd-{secrets.token_hex(6)}", "X-Request-ID": "replay-1"}
    body = {"nationality": "FR", "permanent_residence_card": True}

    first = talent_api.post(RD_INSTITUTION, json=body, headers=key)
    replay = talent_api.post(RD_INSTITUTION, json=body, headers=key | {"X-Request-ID": "replay-2"})

    assert replay.headers["idempotent-replayed"] == "true"
    assert (replay.status_code, replay.content) == (first.status_code, first.content)
    location = f"/v1/talent/decisions/{first.json()['decision_id']}"
    assert first.headers["content-location"] == replay.headers["content-location"] == location
    assert first.headers["content-type"] == replay.headers["content-type"] == "application/json"
    # Per-request headers are the replay's own, not copies of the first answer's.
    assert replay.headers["x-request-id"] == "replay-2"
    assert replay.headers.get_list("x-request-id") == ["replay-2"]
    assert replay.headers.get_list("ratelimit") == [replay.headers["ratelimit"]]


def test_check_publishes_decision_recorded_event_and_counts_it(
    talent_api: httpx.Client, talent_platform: Platform
) -> None:
    answer = talent_api.post(RD_INSTITUTION, json={"nationality": "FR", "permanent_residence_card": True}).json()

    async def find() -> events_pb2.TalentDecisionRecorded | None:
        nc = await nats.connect(talent_platform.settings.resolved_nats_url)
        try:
            sub = await nc.jetstream().subscribe("gaoxin.talent.decision_recorded.v1", ordered_consumer=True)
            while True:
                msg = await sub.next_msg(timeout=5)
                event = events_pb2.TalentDecisionRecorded.FromString(msg.data)
                if event.decision_id == answer["decision_id"]:
                    assert msg.headers is not None and msg.headers["Nats-Msg-Id"] == event.meta.event_id
                    return event
        finally:
            await nc.close()

    event = eventually(lambda: asyncio.run(find()))

    assert (event.check, event.eligible, event.outcome, event.rule_set_version) == (
        "rd_institution_representative",
        True,
        "eligible",
        "2021-04-12.2",
    )
    assert event.meta.producer == "talent"
    metrics = httpx.get(f"http://127.0.0.1:{talent_platform.settings.metrics_port('talent')}/metrics").text
    assert 'gaoxin_talent_checks_total{check="rd_institution_representative",outcome="eligible"}' in metrics


def test_talent_rules_list_parameters_and_openapi_documents_the_checks(talent_api: httpx.Client) -> None:
    rules = talent_api.get("/v1/talent/rules")
    spec = talent_api.get("/openapi.json").json()

    assert rules.status_code == 200
    assert [r["rule"] for r in rules.json()["rules"]] == ["work_permit_age", "r_visa", "rd_institution_representative"]
    parameters = rules.json()["rule_sets"][0]["parameters"]
    assert (parameters["relaxed_max_age"], parameters["min_approval_level"]) == ("65", "city")
    # 2021-04-12.2 corrects the counting of 周岁 for every date; .1 stays listed for the decisions made under it.
    versions = {s["version"]: (s["effective_from"], s["parameters"]["age_counting"]) for s in rules.json()["rule_sets"]}
    assert versions == {
        "2021-04-12.1": ("2021-04-12", "day_after_birthday"),
        "2021-04-12.2": ("2021-04-12", "on_birthday"),
    }
    assert rules.json()["rule_set_version"] == "2021-04-12.2"
    assert {WORK_PERMIT, R_VISA, RD_INSTITUTION, "/v1/talent/decisions/{decision_id}"} <= set(spec["paths"])
