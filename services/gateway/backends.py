"""gRPC clients of the domain services, and the one place gRPC status becomes HTTP status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import grpc
from gaoxin.indicators.v1 import indicators_pb2_grpc
from gaoxin.rewards.v1 import rewards_pb2_grpc
from gaoxin.talent.v1 import talent_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.config import DOMAIN_SERVICES, Settings
from services.common.errors import ERROR_CODE_KEY, VIOLATIONS_KEY, decode_violations
from services.common.grpc_client import insecure_channel
from services.common.logs import REQUEST_ID_HEADER, request_id_var
from services.gateway.problems import Problem

Resp = TypeVar("Resp")

HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 422,
    grpc.StatusCode.OUT_OF_RANGE: 422,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


# A refused 100,000-row batch lists up to 1,000 violations in trailing metadata (~100 KB), past gRPC's 16 KB
# default; batches themselves are up to tens of MB.
CHANNEL_OPTIONS = [
    ("grpc.max_metadata_size", 4 * 1024 * 1024),
    ("grpc.absolute_max_metadata_size", 4 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
]
# A 200,000-value batch takes seconds on PostgreSQL: the default deadline would answer 504 while it commits. The
# longest deadline of any call the gateway makes (unless GAOXIN_GRPC_DEADLINE_SECONDS is longer).
INGEST_DEADLINE_SECONDS = 120.0
# Error codes of requests that could not be parsed at all: 400, where other INVALID_ARGUMENTs are 422.
MALFORMED_CODES = {"malformed_body"}


def query_fields(*names: str) -> dict[str, tuple[str, ...]]:
    """Request fields that came from the query string, as `Backends.call`'s `path_fields` maps them: a violation
    on one is reported at ["query", name], not in a body the request does not have."""
    return {name: ("query", name) for name in names}


# The paging parameters of every list endpoint (API.md: `page_size`, `page_token`).
PAGING_QUERY = query_fields("page_size", "page_token")


class Backends:
    """One channel per domain service, created inside the running event loop (grpc#32480)."""

    def __init__(self, settings: Settings) -> None:
        self.deadline = settings.grpc_deadline_seconds
        self.channels = {name: insecure_channel(settings.grpc_addr(name), CHANNEL_OPTIONS) for name in DOMAIN_SERVICES}
        self.indicators = indicators_pb2_grpc.IndicatorsServiceStub(self.channels["indicators"])
        self.rewards = rewards_pb2_grpc.RewardsServiceStub(self.channels["rewards"])
        self.talent = talent_pb2_grpc.TalentServiceStub(self.channels["talent"])

    async def call(
        self,
        method: Callable[..., Awaitable[Resp]],
        request: Any,
        path_fields: Mapping[str, tuple[str, ...]] | None = None,
        deadline_seconds: float | None = None,
    ) -> Resp:
        """Call with the request id and a deadline (the configured one, or `deadline_seconds` when longer); a
        gRPC error becomes a Problem.

        `path_fields` maps request fields that came from the URL to their location, so a violation on
        `zone_code` is reported at ["path", "zone_code"] rather than in the body (`query_fields` and
        `PAGING_QUERY` for the query string).
        """
        deadline = max(deadline_seconds or 0.0, self.deadline)
        try:
            return await method(request, timeout=deadline, metadata=((REQUEST_ID_HEADER, request_id_var.get()),))
        except grpc.aio.AioRpcError as exc:
            raise problem_from_rpc_error(exc, path_fields or {}) from exc

    async def ready(self) -> dict[str, bool]:
        """Each backend's health: SERVING means its database and NATS are reachable."""
        result: dict[str, bool] = {}
        for name, channel in self.channels.items():
            stub = health_pb2_grpc.HealthStub(channel)
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0)
                result[name] = reply.status == health_pb2.HealthCheckResponse.SERVING
            except grpc.aio.AioRpcError:
                result[name] = False
        return result

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close()


def problem_from_rpc_error(exc: grpc.aio.AioRpcError, path_fields: Mapping[str, tuple[str, ...]]) -> Problem:
    code = exc.code()
    trailers = dict(exc.trailing_metadata() or ())
    status = 400 if trailers.get(ERROR_CODE_KEY) in MALFORMED_CODES else HTTP_STATUS.get(code, 500)
    errors = [
        {
            "location": list(path_fields.get(str(v.location[0]), ("body",)))
            + ([] if str(v.location[0]) in path_fields else list(v.location)),
            "message": v.message,
        }
        for v in decode_violations(trailers.get(VIOLATIONS_KEY))
    ]
    if status == 503:
        detail = "a backing service is unavailable; retry later"
    elif status == 504:
        detail = "a backing service did not answer in time; retry later"
    elif status == 500:
        detail = "internal error"
    else:
        detail = exc.details() or code.name.lower()
    error_code = str(trailers.get(ERROR_CODE_KEY) or code.name.lower())
    headers = {"Retry-After": "1"} if status in (503, 429) else None
    return Problem(status, detail, error_code, errors, headers)
