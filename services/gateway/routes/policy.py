"""The policy registry: the 26 clauses of 连政发〔2021〕25号, and what implements each."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel

from services.common.policy.clauses import Clause, clause, load_clauses
from services.common.policy.implementations import implementations_of
from services.gateway.deps import Reader
from services.gateway.json_route import StrictJsonRoute
from services.gateway.problems import Problem

router = APIRouter(prefix="/v1/policy", tags=["policy"], route_class=StrictJsonRoute)

DOCUMENT = {
    "number": "连政发〔2021〕25号",
    "title": "市政府关于加快推进高新技术产业开发区高质量发展的实施意见",
    "issued_by": "连云港市人民政府",
    "issued_on": "2021-04-12",
}


class Part(BaseModel):
    number: int
    title: str


class RuleRef(BaseModel):
    rule: str
    service: str
    summary: str
    endpoints: list[str]


class ClauseOut(BaseModel):
    number: int
    label: str
    part: Part
    title: str
    text: str
    responsible_units: list[str]
    rules: list[RuleRef]
    url: str


class ClauseList(BaseModel):
    document: dict[str, str]
    items: list[ClauseOut]


def clause_json(c: Clause) -> dict[str, Any]:
    return {
        "number": c.number,
        "label": c.label,
        "part": {"number": c.part_number, "title": c.part_title},
        "title": c.title,
        "text": c.text,
        "responsible_units": list(c.responsible_units),
        "rules": [
            {"rule": i.rule, "service": i.service, "summary": i.summary, "endpoints": list(i.endpoints)}
            for i in implementations_of(c.number)
        ],
        "url": f"/v1/policy/clauses/{c.number}",
    }


@router.get("/clauses", response_model=ClauseList, summary="Every clause of the policy, with the rules that run it")
async def list_clauses(caller: Reader) -> dict[str, Any]:
    return {"document": DOCUMENT, "items": [clause_json(c) for c in load_clauses()]}


@router.get(
    "/clauses/{number}",
    response_model=ClauseOut,
    summary="One clause (1–26)",
    responses={404: {"description": "no clause of this number: the policy has clauses 1 to 26"}},
)
async def get_clause(
    number: Annotated[int, Path(description="1 to 26", examples=[25])], caller: Reader
) -> dict[str, Any]:
    if not 1 <= number <= len(load_clauses()):
        # Clause 27 is a resource that does not exist (API.md: 404), not invalid content.
        raise Problem(404, f"clause {number} not found: the policy has clauses 1 to {len(load_clauses())}", "not_found")
    return clause_json(clause(number))
