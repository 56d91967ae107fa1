"""A service that was down a while is called again as soon as it is back (services/common/grpc_client.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from services.common.grpc_client import insecure_channel
from services.platform import free_port

# Long enough for gRPC's default back-off (1 s × 1.6 per failed attempt) to have grown past 10 s: with it, the
# first attempt after this outage comes ~10 s after the server is back.
OUTAGE_SECONDS = 16.0


async def _seconds_until_answered_after_outage(open_channel: Callable[[str], grpc.aio.Channel]) -> float:
    address = f"127.0.0.1:{free_port()}"
    channel = open_channel(address)
    stub = health_pb2_grpc.HealthStub(channel)
    request = health_pb2.HealthCheckRequest(service="")
    failures = 0
    outage_ends = time.monotonic() + OUTAGE_SECONDS
    while time.monotonic() < outage_ends:  # callers keep calling while the service is down, as the gateway does
        try:
            await stub.Check(request, timeout=0.5)
        except grpc.aio.AioRpcError as exc:
            assert exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
            failures += 1
        await asyncio.sleep(0.2)
    assert failures > 10

    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    server.add_insecure_port(address)
    await server.start()
    back = time.monotonic()
    try:
        while True:
            try:
                reply = await stub.Check(request, timeout=0.5)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING
                return time.monotonic() - back
            except grpc.aio.AioRpcError:
                if time.monotonic() - back > 30:
                    raise
                await asyncio.sleep(0.05)
    finally:
        await channel.close()
        await server.stop(None)


def test_a_channel_reaches_a_service_back_from_a_long_outage_within_its_2_s_back_off() -> None:
    waited = asyncio.run(_seconds_until_answered_after_outage(insecure_channel))
    # 2 s at most between attempts (plus gRPC's 20% jitter), not the default's ~10 s at this point.
    assert waited < 3.5, f"answered {waited:.1f} s after the service was back"
