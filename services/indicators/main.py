"""Wiring of the indicators service process: `python -m services.indicators.main`."""

from __future__ import annotations

from gaoxin.indicators.v1 import indicators_pb2, indicators_pb2_grpc

from services.common.bus import Bus
from services.common.config import Settings
from services.common.db import make_engine
from services.common.outbox import OutboxRelay
from services.common.runtime import ServiceProcess, keep_files_private, run
from services.indicators import store
from services.indicators.api import IndicatorsServicer

SERVICE_NAME = indicators_pb2.DESCRIPTOR.services_by_name["IndicatorsService"].full_name


def build(settings: Settings) -> ServiceProcess:
    engine = make_engine(settings.database_url("indicators"))
    bus = Bus(settings.resolved_nats_url, "indicators", settings.nats_stream_replicas)
    relay = OutboxRelay(engine, store.outbox, bus, settings.outbox_poll_seconds)
    servicer = IndicatorsServicer(engine, relay)
    return ServiceProcess(
        name="indicators",
        settings=settings,
        engine=engine,
        bus=bus,
        register=[lambda server: indicators_pb2_grpc.add_IndicatorsServiceServicer_to_server(servicer, server)],
        grpc_service_names=[SERVICE_NAME],
        relay=relay,
    )


def main() -> None:
    keep_files_private()
    run(build(Settings()))


if __name__ == "__main__":
    main()
