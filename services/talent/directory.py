"""Where an employer is: the talent service's view of the indicators service's enterprise register."""

from __future__ import annotations

from datetime import date
from typing import Protocol

import grpc
from gaoxin.indicators.v1 import indicators_pb2 as pb
from gaoxin.indicators.v1 import indicators_pb2_grpc as pb_grpc

from services.common.convert import date_to_pb, level_from_pb
from services.common.errors import VIOLATIONS_KEY, FieldViolation, InvalidArgument, Unavailable, decode_violations
from services.common.logs import REQUEST_ID_HEADER, request_id_var
from services.talent.domain.checks import EnterpriseLocation


class EnterpriseDirectory(Protocol):
    async def locate(self, credit_code: str, on: date, deadline: float) -> EnterpriseLocation | None:
        """Where the enterprise with `credit_code` is on `on`; None when no enterprise has this code.

        Raises `Unavailable` when the register cannot answer within `deadline` seconds: a check must then fail
        as a whole, never answer "no" for want of an answer.
        """
        ...


class IndicatorsDirectory:
    """The indicators service's register, asked with LocateEnterprise over gRPC."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._stub: pb_grpc.IndicatorsServiceAsyncStub | None = None

    def _indicators(self) -> pb_grpc.IndicatorsServiceAsyncStub:
        # Created on first use, inside the running event loop (a channel made outside it breaks: grpc#32480).
        if self._stub is None:
            self._stub = pb_grpc.IndicatorsServiceStub(grpc.aio.insecure_channel(self.address))
        return self._stub

    async def locate(self, credit_code: str, on: date, deadline: float) -> EnterpriseLocation | None:
        request = pb.LocateEnterpriseRequest(credit_code=credit_code, on=date_to_pb(on))
        try:
            reply = await self._indicators().LocateEnterprise(
                request, timeout=deadline, metadata=((REQUEST_ID_HEADER, request_id_var.get()),)
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                # The register checks both check characters (GB 32100-2015): a mistyped code is the caller's.
                trailers = dict(exc.trailing_metadata() or ())
                messages = [v.message for v in decode_violations(trailers.get(VIOLATIONS_KEY))]
                raise InvalidArgument(
                    "employer_credit_code is not a valid credit code",
                    [FieldViolation(("employer_credit_code",), m) for m in messages or [exc.details() or "invalid"]],
                ) from exc
            raise Unavailable(f"the enterprise register did not answer ({exc.code().name.lower()})") from exc
        if not reply.found:
            return None
        return EnterpriseLocation(reply.enterprise_name, reply.zone_code, level_from_pb(reply.zone_level))
