"""The whole platform, started the way `make run` starts it (subprocesses, embedded nats-server, SQLite)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from services.platform import Platform, isolated_settings


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    running = Platform(isolated_settings(tmp_path_factory.mktemp("platform")))
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
def api(platform: Platform) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {platform.admin_key}"}
    with httpx.Client(base_url=platform.gateway_url, headers=headers, timeout=10) as client:
        yield client


def eventually(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll until `check` returns something truthy; the last value otherwise (the assertion then shows it)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
