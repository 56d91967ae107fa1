"""With the indicators service down, a work-permit check is a 503 (retry later), never a wrong "no"."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from services.platform import STOP_TIMEOUT_SECONDS, Platform, isolated_settings
from tests.e2e.talent.conftest import UNREGISTERED, decision_count


@pytest.fixture
def platform_without_indicators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with Platform(isolated_settings(tmp_path_factory.mktemp("register-outage"))) as running:
        indicators = running.processes["indicators"]
        indicators.terminate()
        indicators.wait(STOP_TIMEOUT_SECONDS)
        yield running


def test_check_work_permit_with_indicators_down_is_503_and_records_nothing(
    platform_without_indicators: Platform,
) -> None:
    platform = platform_without_indicators
    work_permit = {
        "nationality": "DE",
        "birth_date": "1961-05-01",
        "application_date": "2026-03-01",
        "talent_category": "A",
        "employer_credit_code": UNREGISTERED,  # would be a clear "no" if the register could be asked
        "approval_authority_level": "city",
    }
    r_visa = {"nationality": "DE", "talent_type": "high_level", "confirmation_letter": None}
    headers = {"Authorization": f"Bearer {platform.admin_key}"}

    with httpx.Client(base_url=platform.gateway_url, headers=headers, timeout=10) as api:
        down = api.post("/v1/talent/work-permit-age:check", json=work_permit)
        unaffected = api.post("/v1/talent/r-visa:check", json=r_visa)

    assert down.status_code == 503
    assert down.headers["content-type"] == "application/problem+json" and down.headers["retry-after"]
    assert unaffected.status_code == 200  # the checks that need no employer go on
    assert decision_count(platform) == 1
