"""Liveness and readiness are different health names: a pod whose NATS is away is not ready, but alive."""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.grpc_server import LIVENESS_SERVICE, build_server, set_serving

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def test_report_liveness_serving_while_readiness_not_serving() -> None:
    async def scenario() -> tuple[int, int, int, int]:
        server, health, port = await build_server([], ["gaoxin.test.v1.Test"], "127.0.0.1:0")
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = health_pb2_grpc.HealthStub(channel)

                async def status(name: str) -> int:
                    reply = await stub.Check(health_pb2.HealthCheckRequest(service=name))
                    return int(reply.status)

                at_start = (await status(""), await status(LIVENESS_SERVICE))
                # What ServiceProcess does on SIGTERM: readiness goes, liveness stays until the process ends.
                await set_serving(health, ["gaoxin.test.v1.Test"], serving=True)
                await set_serving(health, ["gaoxin.test.v1.Test"], serving=False)
                stopping = (await status(""), await status(LIVENESS_SERVICE))
                return (*at_start, *stopping)
        finally:
            await server.stop(None)

    ready_at_start, alive_at_start, ready_stopping, alive_stopping = asyncio.run(scenario())
    assert ready_at_start == NOT_SERVING
    assert alive_at_start == SERVING
    assert ready_stopping == NOT_SERVING
    assert alive_stopping == SERVING
