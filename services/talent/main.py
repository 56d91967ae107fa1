"""Wiring of the talent service process: `python -m services.talent.main`."""

from __future__ import annotations

import logging

from gaoxin.talent.v1 import talent_pb2, talent_pb2_grpc

from services.common.bus import Bus
from services.common.config import Settings
from services.common.db import make_engine
from services.common.outbox import OutboxRelay
from services.common.runtime import ServiceProcess, keep_files_private, run
from services.talent import store
from services.talent.api import TalentServicer
from services.talent.directory import IndicatorsDirectory
from services.talent.pseudonyms import Pseudonymizer

log = logging.getLogger(__name__)

SERVICE_NAME = talent_pb2.DESCRIPTOR.services_by_name["TalentService"].full_name


def build(settings: Settings) -> ServiceProcess:
    pseudonyms = Pseudonymizer(settings.pseudonym_key())  # first: production refuses to start without its own key
    if settings.talent_pseudonym_key is None:
        log.warning(
            "GAOXIN_TALENT_PSEUDONYM_KEY is unset: pseudonyms use the development key in the code, the same in every "
            "installation, so a guessed passport number can be confirmed from a decision's subject; `gaoxin up` "
            "generates a key per data dir, and production needs its own"
        )
    engine = make_engine(settings.database_url("talent"))
    bus = Bus(settings.resolved_nats_url, "talent", settings.nats_stream_replicas)
    relay = OutboxRelay(engine, store.outbox, bus, settings.outbox_poll_seconds)
    servicer = TalentServicer(
        engine,
        relay,
        IndicatorsDirectory(settings.grpc_addr("indicators")),
        pseudonyms,
        # Half the gateway's deadline: a register that does not answer is a 503 well before the gateway's 504.
        lookup_deadline=settings.grpc_deadline_seconds / 2,
    )
    return ServiceProcess(
        name="talent",
        settings=settings,
        engine=engine,
        bus=bus,
        register=[lambda server: talent_pb2_grpc.add_TalentServiceServicer_to_server(servicer, server)],
        grpc_service_names=[SERVICE_NAME],
        relay=relay,
    )


def main() -> None:
    keep_files_private()
    run(build(Settings()))


if __name__ == "__main__":
    main()
