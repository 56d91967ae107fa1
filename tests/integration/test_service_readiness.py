"""A domain service is ready only against a database migrated to its schema: a pod started beside its migration
Job (the dev overlay applies both at once) must not take calls before the Job has run."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.config import Settings
from services.common.grpc_server import LIVENESS_SERVICE
from services.common.migrate import upgrade
from services.platform import NatsServer, free_ports

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def health(port: int, name: str) -> int | None:
    async def check() -> int | None:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            try:
                reply = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=name), timeout=1
                )
            except grpc.aio.AioRpcError:
                return None
            return int(reply.status)

    return asyncio.run(check())


def wait_for(check: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_rewards_is_not_ready_until_its_database_is_migrated_then_is(
    database_url: str, nats_server: NatsServer, tmp_path: Path
) -> None:
    grpc_port, metrics_port = free_ports(2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAOXIN_")}
    env |= {
        "GAOXIN_DATA_DIR": str(tmp_path / "data"),
        "GAOXIN_REWARDS_DATABASE_URL": database_url,
        "GAOXIN_NATS_URL": nats_server.url,
        "GAOXIN_REWARDS_GRPC_PORT": str(grpc_port),
        "GAOXIN_REWARDS_METRICS_PORT": str(metrics_port),
    }
    log = (tmp_path / "rewards.log").open("wb")
    service = subprocess.Popen([sys.executable, "-m", "services.rewards.main"], env=env, stdout=log, stderr=log)
    try:
        assert wait_for(lambda: health(grpc_port, LIVENESS_SERVICE) == SERVING, timeout=30)
        # Alive, NATS reachable, the database answering: only its schema is missing. Long enough for a readiness
        # loop (every 0.5 s) to have turned it SERVING several times over.
        time.sleep(2.5)
        assert health(grpc_port, "") == NOT_SERVING

        upgrade(Settings(rewards_database_url=database_url), ("rewards",))  # type: ignore[call-arg]

        assert wait_for(lambda: health(grpc_port, "") == SERVING, timeout=10)
    finally:
        service.terminate()
        service.wait(15)
        log.close()
    lines = (tmp_path / "rewards.log").read_text().splitlines()
    warned = [line for line in lines if '"health"' in line and '"serving": false' in line]
    assert warned and "run `gaoxin migrate --service rewards`" in warned[0] and '"WARNING"' in warned[0], lines
