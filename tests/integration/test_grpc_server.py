"""The grpc.aio server builder: health, reflection, error mapping and metrics, on a real port."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
from alembic import command
from gaoxin.indicators.v1 import indicators_pb2 as pb
from gaoxin.indicators.v1 import indicators_pb2_grpc as pb_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from services.common.bus import Bus
from services.common.db import make_engine
from services.common.errors import ERROR_CODE_KEY, VIOLATIONS_KEY, decode_violations
from services.common.grpc_server import build_server, set_serving
from services.common.metrics import GRPC_HANDLED
from services.common.migrate import alembic_config
from services.common.outbox import OutboxRelay
from services.indicators import store
from services.indicators.api import IndicatorsServicer
from services.indicators.main import SERVICE_NAME


def test_server_health_errors_reflection_and_metrics(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'indicators.db'}"
    command.upgrade(alembic_config("indicators", url), "head")
    engine = make_engine(url)
    relay = OutboxRelay(engine, store.outbox, Bus("nats://127.0.0.1:1", "unused"))
    servicer = IndicatorsServicer(engine, relay)
    not_found_before = GRPC_HANDLED.labels(SERVICE_NAME, "GetZone", "NOT_FOUND")._value.get()

    async def scenario() -> None:
        server, health, port = await build_server(
            [lambda s: pb_grpc.add_IndicatorsServiceServicer_to_server(servicer, s)], [SERVICE_NAME], "127.0.0.1:0"
        )
        await server.start()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            health_stub = health_pb2_grpc.HealthStub(channel)
            check = health_pb2.HealthCheckRequest(service=SERVICE_NAME)
            assert (await health_stub.Check(check)).status == health_pb2.HealthCheckResponse.NOT_SERVING
            await set_serving(health, [SERVICE_NAME], serving=True)
            assert (await health_stub.Check(check)).status == health_pb2.HealthCheckResponse.SERVING

            stub = pb_grpc.IndicatorsServiceStub(channel)
            try:
                await stub.GetZone(pb.GetZoneRequest(zone_code="NONE"))
                raise AssertionError("expected NOT_FOUND")
            except grpc.aio.AioRpcError as exc:
                assert exc.code() == grpc.StatusCode.NOT_FOUND
                assert dict(exc.trailing_metadata() or ())[ERROR_CODE_KEY] == "not_found"

            try:
                await stub.UpsertZone(pb.UpsertZoneRequest(zone_code="bad code!", name="", county_code="1"))
                raise AssertionError("expected INVALID_ARGUMENT")
            except grpc.aio.AioRpcError as exc:
                assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
                fields = {v.location for v in decode_violations(dict(exc.trailing_metadata() or ())[VIOLATIONS_KEY])}
                assert fields == {("zone_code",), ("name",), ("county_code",)}

            reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
            replies = reflect.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
            names = {s.name async for r in replies for s in r.list_services_response.service}
            assert SERVICE_NAME in names and "grpc.health.v1.Health" in names
        await server.stop(None)

    asyncio.run(scenario())
    assert GRPC_HANDLED.labels(SERVICE_NAME, "GetZone", "NOT_FOUND")._value.get() == not_found_before + 1
    engine.dispose()


def test_a_second_server_on_a_taken_port_fails_to_start_instead_of_sharing_it() -> None:
    # With gRPC's default SO_REUSEPORT the second bind succeeded silently and the two split the calls.
    async def scenario() -> str:
        first, _, port = await build_server([], [SERVICE_NAME], "127.0.0.1:0")
        await first.start()
        try:
            await build_server([], [SERVICE_NAME], f"127.0.0.1:{port}")
        except RuntimeError as exc:
            return str(exc)
        finally:
            await first.stop(None)
        return "bound"

    assert "127.0.0.1" in asyncio.run(scenario())
