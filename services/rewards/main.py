"""Wiring of the rewards service process: `python -m services.rewards.main`."""

from __future__ import annotations

from gaoxin.rewards.v1 import rewards_pb2, rewards_pb2_grpc

from services.common.bus import Bus
from services.common.config import Settings
from services.common.db import make_engine
from services.common.inbox import EventConsumer
from services.common.outbox import OutboxRelay
from services.common.runtime import ServiceProcess, keep_files_private, run
from services.rewards import metrics, store
from services.rewards.api import RewardsServicer
from services.rewards.events import on_county_designated, on_ranking_published, on_zone_recognized
from services.rewards.indicators_client import IndicatorsClient

SERVICE_NAME = rewards_pb2.DESCRIPTOR.services_by_name["RewardsService"].full_name


def build(settings: Settings) -> ServiceProcess:
    engine = make_engine(settings.database_url("rewards"))
    metrics.count_on_commit(engine)
    bus = Bus(settings.resolved_nats_url, "rewards", settings.nats_stream_replicas)
    relay = OutboxRelay(engine, store.outbox, bus, settings.outbox_poll_seconds)
    indicators = IndicatorsClient(settings.grpc_addr("indicators"), settings.grpc_deadline_seconds)
    servicer = RewardsServicer(engine, relay, indicators)
    consumers = [
        EventConsumer(engine, store.inbox, bus, subscription, after_commit=relay.notify)
        for subscription in (on_zone_recognized(), on_county_designated(), on_ranking_published(indicators, engine))
    ]
    return ServiceProcess(
        name="rewards",
        settings=settings,
        engine=engine,
        bus=bus,
        register=[lambda server: rewards_pb2_grpc.add_RewardsServiceServicer_to_server(servicer, server)],
        grpc_service_names=[SERVICE_NAME],
        relay=relay,
        consumers=consumers,
    )


def main() -> None:
    keep_files_private()
    run(build(Settings()))


if __name__ == "__main__":
    main()
