"""Stopping nats-server while writes continue loses no event: the outbox drains once it is back."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from services.platform import Platform, isolated_settings
from tests.e2e.conftest import eventually
from tests.e2e.helpers import awards_of, create_zone, recognize, unique_zone_code


@pytest.fixture
def own_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with Platform(isolated_settings(tmp_path_factory.mktemp("outage"))) as running:
        yield running


def test_writes_during_nats_outage_are_all_delivered_after_it(own_platform: Platform) -> None:
    headers = {"Authorization": f"Bearer {own_platform.admin_key}"}
    with httpx.Client(base_url=own_platform.gateway_url, headers=headers, timeout=10) as api:
        zones = [unique_zone_code("O") for _ in range(12)]
        for zone in zones:
            create_zone(api, zone)
        assert own_platform.nats is not None

        own_platform.nats.stop()
        for zone in zones:
            assert recognize(api, zone, "provincial", "2022-09-01").status_code == 201
        assert eventually(lambda: api.get("/readyz").status_code == 503)
        assert all(awards_of(api, zone) == [] for zone in zones)

        own_platform.nats.start()

        assert eventually(lambda: all(awards_of(api, z) for z in zones), timeout=30)
        assert sorted(a["beneficiary"]["code"] for z in zones for a in awards_of(api, z)) == sorted(zones)
        assert eventually(lambda: api.get("/readyz").status_code == 200, timeout=15)
