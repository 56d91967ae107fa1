"""Age in completed years (周岁) on a date, the way Chinese law counts it."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from services.talent.domain.rules import AgeCounting


def anniversary(born: date, years: int) -> date:
    """The day `years` after `born`; with no such day (29 Feb in a common year), the last day of that month,
    as Civil Code art. 202 ends a period that has no corresponding day (so 28 Feb)."""
    year = born.year + years
    return date(year, born.month, min(born.day, calendar.monthrange(year, born.month)[1]))


def reaches(born: date, years: int, counting: AgeCounting) -> date:
    """The first day on which someone born on `born` is `years` 周岁."""
    day = anniversary(born, years)
    return day + timedelta(days=1) if counting is AgeCounting.DAY_AFTER_BIRTHDAY else day


def completed_years(born: date, on: date, counting: AgeCounting) -> int:
    """周岁 on `on` (65 years and 364 days is still 65); `on` must not be before `born`."""
    years = on.year - born.year
    while years > 0 and on < reaches(born, years, counting):
        years -= 1
    return years
