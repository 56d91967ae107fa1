"""gRPC servicer of the talent service."""

from __future__ import annotations

import grpc
from gaoxin.talent.v1 import talent_pb2 as pb
from gaoxin.talent.v1 import talent_pb2_grpc as pb_grpc
from gaoxin.types.v1 import types_pb2

from services.common.policy.clauses import chinese_numeral, clause
from services.talent.domain.rules import RULE_SET_VERSION, RULES

Context = grpc.aio.ServicerContext[object, object]


class TalentServicer(pb_grpc.TalentServiceServicer):
    async def ListRules(self, request: pb.ListRulesRequest, context: Context) -> pb.ListRulesResponse:
        return pb.ListRulesResponse(
            rules=[
                pb.TalentRule(
                    rule=r.rule,
                    summary=r.summary,
                    clause=types_pb2.ClauseRef(
                        number=r.clause, label=f"（{chinese_numeral(r.clause)}）", text=clause(r.clause).text
                    ),
                )
                for r in RULES
            ],
            rule_set_version=RULE_SET_VERSION,
        )
