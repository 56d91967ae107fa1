"""Reward parameters as versioned, effective-dated data (clause 二十五 and 五).

Every amount, threshold and interpretation choice a rule uses lives in this table, with the clause it comes
from; a rule asks for the version in force on the date of the fact it judges, and the award records it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

POLICY_EFFECTIVE_FROM = date(2021, 4, 12)  # 连政发〔2021〕25号 issued and in force


@dataclass(frozen=True)
class ParameterVersion:
    name: str
    value: int | str | bool
    version: int
    effective_from: date
    clause: int
    description: str


DEFAULT_PARAMETERS: tuple[ParameterVersion, ...] = (
    ParameterVersion(
        "policy.effective_from",
        POLICY_EFFECTIVE_FROM.isoformat(),
        1,
        POLICY_EFFECTIVE_FROM,
        25,
        "facts dated before this day earn no reward",
    ),
    ParameterVersion(
        "new_provincial_zone.amount_yuan",
        1_000_000,
        1,
        POLICY_EFFECTIVE_FROM,
        25,
        "对新认定的省级高新区给予 100 万元奖励",
    ),
    ParameterVersion(
        "rank_advance.min_places",
        3,
        1,
        POLICY_EFFECTIVE_FROM,
        25,
        "前进 3 位以上: 3 or more places",
    ),
    ParameterVersion(
        "rank_advance_national.amount_yuan",
        1_000_000,
        1,
        POLICY_EFFECTIVE_FROM,
        25,
        "国家高新区 100 万元",
    ),
    ParameterVersion(
        "rank_advance_provincial.amount_yuan",
        500_000,
        1,
        POLICY_EFFECTIVE_FROM,
        25,
        "省级高新区 50 万元",
    ),
    ParameterVersion(
        "pilot_county_national.amount_yuan",
        500_000,
        1,
        POLICY_EFFECTIVE_FROM,
        25,
        "列入国家级创新型试点、知识产权试点（示范）的县区 50 万元",
    ),
    ParameterVersion(
        "pilot_county_provincial.amount_yuan",
        200_000,
        1,
        POLICY_EFFECTIVE_FROM,
        25,
        "列入省级创新型试点、知识产权试点（示范）的县区 20 万元",
    ),
    ParameterVersion(
        "zone_reward.earmark",
        "service_capacity_building",
        1,
        POLICY_EFFECTIVE_FROM,
        25,
        "用于园区服务能力建设支出: recorded on every zone award",
    ),
)


class ParameterTable:
    """Versions by name; `in_force` picks the latest version effective on or before a date."""

    def __init__(self, versions: Iterable[ParameterVersion] = DEFAULT_PARAMETERS) -> None:
        self._by_name: dict[str, list[ParameterVersion]] = {}
        for v in versions:
            self._by_name.setdefault(v.name, []).append(v)
        for history in self._by_name.values():
            history.sort(key=lambda v: (v.effective_from, v.version))

    def in_force(self, name: str, on: date) -> ParameterVersion | None:
        current = None
        for version in self._by_name.get(name, []):
            if version.effective_from <= on:
                current = version
        return current

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def history(self, name: str) -> list[ParameterVersion]:
        return list(self._by_name.get(name, []))
