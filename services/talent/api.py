"""gRPC servicer of the talent service: validate, ask the enterprise register if needed, decide, record.

A decision and its `decision_recorded` event are committed in one transaction (the outbox), by the service's
group-commit writer thread.
Personal values (name, passport number, birth date) live only in the request being served: they become a
pseudonym and an age, and are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

import grpc
from gaoxin.talent.v1 import talent_pb2 as pb
from gaoxin.talent.v1 import talent_pb2_grpc as pb_grpc
from gaoxin.types.v1 import types_pb2
from prometheus_client import Counter
from sqlalchemy import Engine

from services.common.convert import clause_to_pb, date_from_pb, date_to_pb, today_in_china
from services.common.db import BatchWriter, reading
from services.common.errors import FieldViolation, NotFound
from services.common.logs import request_id_var
from services.common.outbox import OutboxRelay
from services.common.policy.clauses import clause
from services.talent import store
from services.talent.directory import EnterpriseDirectory
from services.talent.domain.checks import (
    Assessment,
    check_r_visa,
    check_rd_institution_representative,
    check_work_permit_age,
)
from services.talent.domain.rules import (
    R_VISA,
    RULE_SETS,
    RULES,
    WORK_PERMIT_AGE,
    rule_set_on,
)
from services.talent.domain.validation import (
    check_applicant,
    r_visa_application,
    rd_institution_application,
    work_permit_application,
)
from services.talent.events import decision_recorded_row
from services.talent.pseudonyms import Pseudonymizer

log = logging.getLogger(__name__)

Context = grpc.aio.ServicerContext[object, object]

# The name the dashboard and deploy/k8s/README.md read ("talent checks").
TALENT_CHECKS = Counter(
    "gaoxin_talent_checks_total", "Talent checks decided and recorded, by check and outcome.", ["check", "outcome"]
)
# Share of the caller's remaining deadline the enterprise lookup may use, so that a register that does not
# answer becomes this service's UNAVAILABLE (503) before the caller's own deadline runs out (504).
LOOKUP_SHARE_OF_DEADLINE = 0.8
# While busy, a batch of decisions waits this long for more (BatchWriter): with the audit log doing the same, about
# 5% less CPU for the platform per check under load, measured, for at most 3 ms more per check.
WRITER_GATHER_SECONDS = 0.003


def _date(value: types_pb2.Date, location: tuple[str, ...], violations: list[FieldViolation]) -> date | None:
    try:
        return date_from_pb(value)
    except ValueError:
        violations.append(FieldViolation(location, "is not a valid date (YYYY-MM-DD)"))
        return None


def decision_to_pb(d: Mapping[str, Any]) -> pb.Decision:
    """A stored decision (the column values) as the contract's message."""
    decision = pb.Decision(
        decision_id=d["decision_id"],
        check=d["check_name"],
        eligible=d["eligible"],
        outcome=d["outcome"],
        conditions=[
            pb.Condition(
                name=c["name"],
                met=c["met"],
                detail=c["detail"],
                # Number and label only: the words this condition rests on are in `quote`, the clause's whole
                # text (500 characters, six times a decision) one request away.
                clause=types_pb2.ClauseRef(number=c["clause"], label=clause(c["clause"]).label),
                quote=c["quote"],
            )
            for c in d["conditions"]
        ],
        explanation=d["explanation"],
        rule_set_version=d["rule_set_version"],
        decided_on=date_to_pb(d["decided_on"]),
        subject=d["subject"] or "",
        subject_basis=d["subject_basis"] or "",
        inputs=d["inputs"],
        requested_by=d["requested_by"],
    )
    decision.decided_at.FromDatetime(d["decided_at"])
    result = d["result"]
    if d["check_name"] == WORK_PERMIT_AGE:
        decision.work_permit_age.CopyFrom(pb.WorkPermitAgeResult(**result))
    elif d["check_name"] == R_VISA:
        decision.r_visa.CopyFrom(pb.RVisaResult(**{k: v for k, v in result.items() if v is not None}))
    else:
        decision.rd_institution_representative.CopyFrom(pb.RdInstitutionRights(**result))
    return decision


class TalentServicer(pb_grpc.TalentServiceServicer):
    def __init__(
        self,
        engine: Engine,
        relay: OutboxRelay,
        directory: EnterpriseDirectory,
        pseudonyms: Pseudonymizer,
        lookup_deadline: float,
    ) -> None:
        self.engine = engine
        self.relay = relay
        self.directory = directory
        self.pseudonyms = pseudonyms
        self.lookup_deadline = lookup_deadline
        # Every check writes a decision and its event: the checks of a moment are committed together by one
        # thread, two INSERTs a batch (see BatchWriter for why).
        self.writer: BatchWriter[tuple[dict[str, Any], dict[str, Any]], None] = BatchWriter(
            engine, store.add_decisions, "talent-writer", WRITER_GATHER_SECONDS
        )

    async def ListRules(self, request: pb.ListRulesRequest, context: Context) -> pb.ListRulesResponse:
        return pb.ListRulesResponse(
            rules=[
                pb.TalentRule(rule=r.rule, summary=r.summary, clause=clause_to_pb(r.clause), quote=r.quote)
                for r in RULES
            ],
            rule_set_version=rule_set_on(today_in_china()).version,
            rule_sets=[
                pb.RuleSet(version=s.version, effective_from=date_to_pb(s.effective_from), parameters=s.parameters())
                for s in RULE_SETS
            ],
        )

    async def CheckWorkPermitAge(self, request: pb.CheckWorkPermitAgeRequest, context: Context) -> pb.Decision:
        violations = check_applicant(request.applicant.name, request.applicant.passport_number)
        application = work_permit_application(
            nationality=request.nationality,
            birth_date=_date(request.birth_date, ("birth_date",), violations),
            application_date=_date(request.application_date, ("application_date",), violations),
            talent_category=request.talent_category,
            employer_credit_code=request.employer_credit_code,
            approval_authority_level=request.approval_authority_level,
            today=today_in_china(),
            violations=violations,
        )
        remaining = context.time_remaining()
        deadline = self.lookup_deadline
        if remaining is not None:
            deadline = min(deadline, remaining * LOOKUP_SHARE_OF_DEADLINE)
        employer = await self.directory.locate(application.employer_credit_code, application.application_date, deadline)
        assessment = check_work_permit_age(application, employer, rule_set_on(application.application_date))
        return await self._record(assessment, request.applicant, request.requested_by)

    async def CheckRVisa(self, request: pb.CheckRVisaRequest, context: Context) -> pb.Decision:
        violations = check_applicant(request.applicant.name, request.applicant.passport_number)
        letter = None
        if request.HasField("confirmation_letter"):
            given = request.confirmation_letter
            issued_on = _date(given.issued_on, ("confirmation_letter", "issued_on"), violations)
            letter = (given.issuer_level, issued_on, given.number)
        today = today_in_china()
        application = r_visa_application(
            nationality=request.nationality,
            talent_type=request.talent_type,
            letter=letter,
            today=today,
            violations=violations,
        )
        assessment = check_r_visa(application, rule_set_on(today), today)
        extra = {}
        if letter is not None and letter[2]:
            extra["letter_number_ref"] = self.pseudonyms.reference("confirmation_letter", letter[2])
        return await self._record(assessment, request.applicant, request.requested_by, extra)

    async def CheckRdInstitutionRepresentative(
        self, request: pb.CheckRdInstitutionRepresentativeRequest, context: Context
    ) -> pb.Decision:
        violations = check_applicant(request.applicant.name, request.applicant.passport_number)
        application = rd_institution_application(
            nationality=request.nationality,
            permanent_residence_card=request.permanent_residence_card,
            violations=violations,
        )
        today = today_in_china()
        assessment = check_rd_institution_representative(application, rule_set_on(today), today)
        return await self._record(assessment, request.applicant, request.requested_by)

    async def GetDecision(self, request: pb.GetDecisionRequest, context: Context) -> pb.Decision:
        def work() -> dict[str, Any] | None:
            with reading(self.engine) as conn:
                return store.get_decision(conn, request.decision_id)

        found = await asyncio.to_thread(work)
        if found is None:
            raise NotFound(f"decision {request.decision_id} not found")
        return decision_to_pb(found)

    async def _record(
        self,
        assessment: Assessment,
        applicant: pb.Applicant,
        requested_by: str,
        extra_inputs: dict[str, str] | None = None,
    ) -> pb.Decision:
        subject = self.pseudonyms.subject(assessment.inputs["nationality"], applicant.name, applicant.passport_number)
        decision_id = str(uuid.uuid4())

        values = store.decision_values(
            decision_id,
            assessment,
            inputs=assessment.inputs | (extra_inputs or {}),
            subject=subject.pseudonym if subject else None,
            subject_basis=subject.basis if subject else None,
            requested_by=requested_by,
            request_id=request_id_var.get(),
        )
        await self.writer.write((values, decision_recorded_row(decision_id, assessment)))
        self.relay.notify()
        TALENT_CHECKS.labels(assessment.check, assessment.outcome.value).inc()
        log.info(
            "decision recorded",
            extra={
                "fields": {
                    "decision_id": decision_id,
                    "check": assessment.check,
                    "outcome": assessment.outcome.value,
                    "rule_set_version": assessment.rule_set.version,
                }
            },
        )
        return decision_to_pb(values)
