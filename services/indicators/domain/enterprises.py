"""Enterprises in zones and their high-tech certificates (高新技术企业证书)."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from services.indicators.domain.dated import Version, in_force

# Validity is dated by the certificate's issue date, so a future change of the rule leaves older certificates
# as they were.
VALIDITY_YEARS: tuple[Version[int], ...] = (
    Version(
        "hitech_certificate.validity_years",
        1,
        date(2000, 1, 1),
        3,
        "高新技术企业认定管理办法（国科发火〔2016〕32号，及 2008 年版）：资格自颁发证书之日起有效期为三年",
    ),
)
EARLIEST_CERTIFICATE = date(2000, 1, 1)  # anything older has long expired, and is most likely a typo
MAX_BATCH = 10_000


@dataclass(frozen=True)
class Certificate:
    number: str
    issued_on: date

    @property
    def valid_until(self) -> date:
        return valid_until(self.issued_on)


@dataclass(frozen=True)
class EnterpriseRecord:
    credit_code: str
    name: str
    zone_code: str
    above_scale: bool
    certificates: tuple[Certificate, ...] = ()  # oldest first; as pushed, one at most

    @property
    def latest_certificate(self) -> Certificate | None:
        return max(self.certificates, key=lambda c: c.issued_on, default=None)


def add_years(start: date, years: int) -> date:
    """The corresponding day `years` later; the last day of the month when there is none (29 February)."""
    year = start.year + years
    return date(year, start.month, min(start.day, calendar.monthrange(year, start.month)[1]))


def valid_until(issued_on: date, versions: Iterable[Version[int]] = VALIDITY_YEARS) -> date:
    """Last day of validity, inclusive (Civil Code arts. 201-202): the issue day is not counted, so a
    three-year period ends on the third anniversary (2022-12-01 → 2025-12-01; 2024-02-29 → 2027-02-28)."""
    version = in_force(versions, issued_on) or min(versions, key=lambda v: v.effective_from)
    return add_years(issued_on, version.value)


def hitech_on(certificates: Iterable[Certificate], on: date) -> bool:
    """High-tech on a date: some certificate issued on or before it is still valid that day."""
    return any(c.issued_on <= on <= c.valid_until for c in certificates)
