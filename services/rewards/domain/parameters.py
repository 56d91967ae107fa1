"""Reward parameters as versioned, effective-dated data (clause 二十五 and 五).

Every amount, threshold and interpretation choice a rule uses lives here, with the clause it comes from and,
for the choices POLICY.md leaves open, the open point it settles. A rule asks for the version in force on the
date of the fact it judges, and the award records the versions it used. The platform's defaults are version 1
(code, below); an admin adds later versions (stored in the rewards database) effective from a date.

Money is integer yuan and the talent-project rate a Decimal: never a float.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

POLICY_EFFECTIVE_FROM = date(2021, 4, 12)  # 连政发〔2021〕25号 issued and in force

ParamValue = int | str | bool | Decimal | date
T = TypeVar("T")

# An amount above this is a typo, and it keeps every sum far inside a signed 64-bit integer.
MAX_AMOUNT_YUAN = 1_000_000_000_000


class Kind(StrEnum):
    AMOUNT_YUAN = "amount_yuan"  # integer yuan, 0 or more
    PLACES = "places"  # integer, 1 or more
    RATE = "rate"  # exact decimal fraction within 0..1
    DATE = "date"  # ISO-8601 date
    FLAG = "flag"  # true | false
    CHOICE = "choice"  # one of the spec's choices
    LABEL = "label"  # a short identifier, e.g. an earmark


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    kind: Kind
    clause: int
    description: str
    open_point: str = ""  # the POLICY.md open point this parameter settles, "" for a figure of the text
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ParameterVersion:
    name: str
    value: ParamValue
    version: int
    effective_from: date
    clause: int
    description: str
    source: str = "policy"  # "policy": the platform's default; "admin": added through the API

    def integer(self) -> int:
        """The value of an amount or a count (their kinds only ever hold ints)."""
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise TypeError(f"{self.name} holds {self.value!r}, not an integer")
        return self.value

    def decimal(self) -> Decimal:
        if not isinstance(self.value, Decimal):
            raise TypeError(f"{self.name} holds {self.value!r}, not a decimal")
        return self.value


SPECS: dict[str, ParameterSpec] = {
    s.name: s
    for s in (
        ParameterSpec(
            "policy.effective_from",
            Kind.DATE,
            25,
            "the policy took effect on the day it was issued; facts dated before it earn no reward",
        ),
        ParameterSpec("new_provincial_zone.amount_yuan", Kind.AMOUNT_YUAN, 25, "对新认定的省级高新区给予 100 万元奖励"),
        ParameterSpec(
            "rank_advance.min_places",
            Kind.PLACES,
            25,
            "前进 3 位以上: 3 or more places better than the historical best (以上 includes the number)",
        ),
        ParameterSpec(
            "rank_advance.without_history",
            Kind.CHOICE,
            25,
            "what a zone with no earlier official rank at the same level gets",
            open_point="a zone with no earlier official rank has no historical best: no rank-advance reward",
            choices=("no_award",),
        ),
        ParameterSpec("rank_advance_national.amount_yuan", Kind.AMOUNT_YUAN, 25, "国家高新区 100 万元"),
        ParameterSpec("rank_advance_provincial.amount_yuan", Kind.AMOUNT_YUAN, 25, "省级高新区 50 万元"),
        ParameterSpec(
            "pilot_county_national.amount_yuan",
            Kind.AMOUNT_YUAN,
            25,
            "列入国家级创新型试点、知识产权试点（示范）的县区 50 万元",
        ),
        ParameterSpec(
            "pilot_county_provincial.amount_yuan",
            Kind.AMOUNT_YUAN,
            25,
            "列入省级创新型试点、知识产权试点（示范）的县区 20 万元",
        ),
        ParameterSpec(
            "pilot_county.one_award_per_listing",
            Kind.FLAG,
            25,
            "true: one award per listing (programme and level); false: one per county per year per level",
            open_point="a county listed in two programmes in one year gets two rewards, one per listing",
        ),
        ParameterSpec(
            "zone_reward.earmark",
            Kind.LABEL,
            25,
            "用于园区服务能力建设支出: recorded on every zone award",
            open_point="the zone reward money is earmarked for service-capacity building; the award records it",
        ),
        ParameterSpec(
            "talent_project.rate",
            Kind.RATE,
            5,
            "按照招商项目投资额度的一定比例: the proportion of the investment paid; the text gives none",
            open_point="the policy names no proportion: no value until an admin sets one",
        ),
        ParameterSpec(
            "talent_project.zone_must_be_recognised",
            Kind.FLAG,
            5,
            "true: a project earns only if its zone is a recognised high-tech zone on the recruitment date",
            open_point="clause 五 rewards projects recruited into a 高新区; a zone only approved to prepare (筹建) "
            "is not one yet",
        ),
    )
}


def _default(name: str, value: ParamValue) -> ParameterVersion:
    spec = SPECS[name]
    return ParameterVersion(name, value, 1, POLICY_EFFECTIVE_FROM, spec.clause, spec.description)


# Version 1 of every parameter the text (or our reading of its open points) settles. talent_project.rate has
# none: the policy names no proportion, so that rule grants nothing until an admin adds a version.
DEFAULT_PARAMETERS: tuple[ParameterVersion, ...] = (
    _default("policy.effective_from", POLICY_EFFECTIVE_FROM),
    _default("new_provincial_zone.amount_yuan", 1_000_000),
    _default("rank_advance.min_places", 3),
    _default("rank_advance.without_history", "no_award"),
    _default("rank_advance_national.amount_yuan", 1_000_000),
    _default("rank_advance_provincial.amount_yuan", 500_000),
    _default("pilot_county_national.amount_yuan", 500_000),
    _default("pilot_county_provincial.amount_yuan", 200_000),
    _default("pilot_county.one_award_per_listing", True),
    _default("zone_reward.earmark", "service_capacity_building"),
    _default("talent_project.zone_must_be_recognised", True),
)


def render_value(value: ParamValue) -> str:
    """The canonical text of a value: what awards record and the API shows ("true", "1000000", "0.05")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if isinstance(value, date) else str(value)


def parse_value(name: str, text: str) -> ParamValue:
    """A value of parameter `name` from its text; ValueError saying what is expected otherwise."""
    spec = SPECS.get(name)
    if spec is None:
        raise ValueError(f"unknown parameter {name!r}; known: {', '.join(sorted(SPECS))}")
    text = text.strip()
    if spec.kind in (Kind.AMOUNT_YUAN, Kind.PLACES):
        low = 0 if spec.kind is Kind.AMOUNT_YUAN else 1
        if not text.isascii() or not text.isdigit() or not low <= int(text) <= MAX_AMOUNT_YUAN:
            unit = "an integer number of yuan" if spec.kind is Kind.AMOUNT_YUAN else "an integer"
            raise ValueError(f"must be {unit} from {low} to {MAX_AMOUNT_YUAN}")
        return int(text)
    if spec.kind is Kind.RATE:
        try:
            rate = Decimal(text)
        except InvalidOperation:
            rate = Decimal("NaN")
        if not rate.is_finite() or not 0 <= rate <= 1 or rate.as_tuple().exponent < -6:  # type: ignore[operator]
            raise ValueError('must be a decimal fraction from 0 to 1 with at most 6 decimals, e.g. "0.05"')
        return rate.normalize() if rate != 0 else Decimal(0)
    if spec.kind is Kind.DATE:
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError("must be a date YYYY-MM-DD") from None
    if spec.kind is Kind.FLAG:
        if text not in ("true", "false"):
            raise ValueError("must be true or false")
        return text == "true"
    if spec.kind is Kind.CHOICE:
        if text not in spec.choices:
            raise ValueError(f"must be one of: {', '.join(spec.choices)}")
        return text
    if not text or len(text) > 64 or not text.replace("_", "").isascii() or not text.replace("_", "").isalnum():
        raise ValueError("must be 1-64 letters, digits or '_'")
    return text


def stored_version(name: str, value_text: str, version: int, effective_from: date) -> ParameterVersion:
    """A version read back from the database or from an award's record of the versions it used."""
    spec = SPECS[name]
    return ParameterVersion(name, parse_value(name, value_text), version, effective_from, spec.clause, spec.description)


class ParameterTable:
    """Versions by name; `in_force` picks the latest version effective on or before a date.

    Of two versions effective from the same day, the higher version number wins.
    """

    def __init__(self, versions: Iterable[ParameterVersion] = DEFAULT_PARAMETERS) -> None:
        self._by_name: dict[str, list[ParameterVersion]] = {}
        for v in versions:
            self._by_name.setdefault(v.name, []).append(v)
        for history in self._by_name.values():
            history.sort(key=lambda v: (v.effective_from, v.version))
        # Rules ask for the same (name, date) many times over a ranking history; versions are few.
        self._cache: dict[tuple[str, date], ParameterVersion | None] = {}
        self._memo: dict[Hashable, Any] = {}

    def in_force(self, name: str, on: date) -> ParameterVersion | None:
        key = (name, on)
        try:
            return self._cache[key]
        except KeyError:
            pass
        current = None
        for version in self._by_name.get(name, ()):
            if version.effective_from > on:
                break
            current = version
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[key] = current
        return current

    def memo(self, key: Hashable, make: Callable[[], T]) -> T:
        """A value rules derive from this table, made once: a table never changes once built."""
        try:
            value: T = self._memo[key]
        except KeyError:
            value = self._memo[key] = make()
        return value

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def history(self, name: str) -> list[ParameterVersion]:
        return list(self._by_name.get(name, []))

    def versions(self) -> list[ParameterVersion]:
        return [v for name in self.names() for v in self._by_name[name]]

    def next_version(self, name: str) -> int:
        return max((v.version for v in self._by_name.get(name, ())), default=0) + 1

    def with_versions(self, extra: Iterable[ParameterVersion]) -> ParameterTable:
        """This table with more versions (hypothetical ones in a simulation, or one just added)."""
        return ParameterTable([*self.versions(), *extra])

    def pinned(self, used: Iterable[ParameterVersion]) -> ParameterTable:
        """This table with each parameter in `used` reduced to that one version.

        Re-evaluating an award's facts against the versions it was decided with tells whether the facts still
        justify it, whatever versions were added since ("earlier decisions keep the version they used").
        """
        pins: Mapping[str, ParameterVersion] = {v.name: v for v in used}
        kept = [v for v in self.versions() if v.name not in pins]
        return ParameterTable([*kept, *pins.values()])
