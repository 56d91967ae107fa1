"""The rewards service's gRPC client of the indicators service: zones (talent projects) and rank histories.

grpc.aio throughout (STYLE.md: never sync and aio gRPC in one process), and the channel is created on first
use, inside the running event loop (grpc#32480).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from gaoxin.indicators.v1 import indicators_pb2 as pb
from gaoxin.indicators.v1 import indicators_pb2_grpc as pb_grpc

from services.common.convert import date_from_pb, level_from_pb
from services.common.errors import Unavailable
from services.common.grpc_client import insecure_channel
from services.common.logs import REQUEST_ID_HEADER, request_id_var
from services.rewards.domain.rules import RankFact, RecognitionFact


@dataclass(frozen=True)
class ZoneInfo:
    zone_code: str
    county_code: str
    recognitions: list[RecognitionFact]


class IndicatorsClient:
    def __init__(self, address: str, deadline_seconds: float) -> None:
        self.address = address
        self.deadline = deadline_seconds
        self._channel: grpc.aio.Channel | None = None
        self._stub: pb_grpc.IndicatorsServiceAsyncStub | None = None

    @property
    def stub(self) -> pb_grpc.IndicatorsServiceAsyncStub:
        if self._stub is None:
            self._channel = insecure_channel(self.address)
            self._stub = pb_grpc.IndicatorsServiceStub(self._channel)
        return self._stub

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        return ((REQUEST_ID_HEADER, request_id_var.get()),)

    async def zone(self, zone_code: str) -> ZoneInfo | None:
        """The zone with its recognitions; None when the indicators service does not know it."""
        try:
            reply = await self.stub.GetZone(
                pb.GetZoneRequest(zone_code=zone_code), timeout=self.deadline, metadata=self._metadata()
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise Unavailable(
                f"the indicators service did not answer ({exc.code().name.lower()}); retry later"
            ) from exc
        recognitions = []
        for r in reply.recognitions:
            level, on = level_from_pb(r.level), date_from_pb(r.recognized_on)
            if level is not None and on is not None:
                recognitions.append(RecognitionFact(on, level))
        return ZoneInfo(reply.zone_code, reply.county_code, recognitions)

    async def rank_histories(self, zone_codes: Sequence[str]) -> dict[str, list[RankFact]]:
        """Every official rank of each zone, in one GetRankHistories call (one snapshot, one deadline).

        A zone the indicators service does not know has no ranks; any failure raises Unavailable, so the consumer
        redelivers the event later rather than decide from a part.
        """
        request = pb.GetRankHistoriesRequest(zone_codes=list(zone_codes))
        try:
            reply = await self.stub.GetRankHistories(request, timeout=self.deadline, metadata=self._metadata())
        except grpc.aio.AioRpcError as exc:
            raise Unavailable(f"rank histories of {len(zone_codes)} zones: {exc.code().name.lower()}") from exc
        found: dict[str, list[RankFact]] = {code: [] for code in zone_codes}
        for history in reply.histories:
            facts = found.setdefault(history.zone_code, [])
            for entry in history.entries:
                level = level_from_pb(entry.level)
                if level is not None:
                    facts.append(RankFact(entry.year, level, entry.rank))
        return found

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel, self._stub = None, None
