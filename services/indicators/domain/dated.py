"""Dated data: every threshold, weight and share the indicators service applies is a version with an effective
date and the legal text it rests on, and a decision names the version it used (STYLE.md, habit 10)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

T = TypeVar("T")

POLICY_EFFECTIVE_FROM = date(2021, 4, 12)  # 连政发〔2021〕25号 issued and in force


@dataclass(frozen=True)
class Version(Generic[T]):
    name: str
    version: int
    effective_from: date
    value: T
    basis: str  # where the value comes from, in the source's own words where there are some

    @property
    def label(self) -> str:
        return f"{self.name}@v{self.version}"


def in_force(versions: Iterable[Version[T]], on: date) -> Version[T] | None:
    """The latest version effective on or before `on`; None before the first one."""
    current: Version[T] | None = None
    for v in sorted(versions, key=lambda v: (v.effective_from, v.version)):
        if v.effective_from <= on:
            current = v
    return current


def end_of_year(year: int) -> date:
    """Annual facts (a year's values, a year's ranking) are judged as they stand on 31 December."""
    return date(year, 12, 31)
