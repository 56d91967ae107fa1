"""Where an employer is: the talent service's view of the indicators service's enterprise register."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from services.common.errors import Unavailable
from services.talent.domain.checks import EnterpriseLocation


class EnterpriseDirectory(Protocol):
    async def locate(self, credit_code: str, on: date, deadline: float) -> EnterpriseLocation | None:
        """Where the enterprise with `credit_code` is on `on`; None when no enterprise has this code.

        Raises `Unavailable` when the register cannot answer within `deadline` seconds: a check must then fail
        as a whole, never answer "no" for want of an answer.
        """
        ...


class PendingDirectory:
    """Stands in until the indicators service offers LocateEnterprise: every work-permit check is a 503."""

    async def locate(self, credit_code: str, on: date, deadline: float) -> EnterpriseLocation | None:
        raise Unavailable("the enterprise register (indicators LocateEnterprise) is not available yet")
