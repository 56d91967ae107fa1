"""The indicator catalogue of clause 三: six raw values a zone reports, three ratios derived from them, and the
2025 targets per zone level as dated data."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from services.common.convert import ZoneLevel
from services.indicators.domain.dated import POLICY_EFFECTIVE_FROM, Version, in_force

CLAUSE_TARGETS = 3
MONEY = "万元"
COUNT = "count"
FRACTION = "fraction"


@dataclass(frozen=True)
class Indicator:
    code: str
    name_zh: str
    name_en: str
    unit: str
    kind: Literal["raw", "derived"]
    numerator: str = ""
    denominator: str = ""

    @property
    def integral(self) -> bool:
        return self.unit == COUNT

    @property
    def formula(self) -> str:
        return f"{self.numerator} / {self.denominator}" if self.kind == "derived" else ""


RAW: tuple[Indicator, ...] = (
    Indicator("rd_expenditure", "R&D经费支出", "R&D expenditure", MONEY, "raw"),
    Indicator("gdp", "地区生产总值（GDP）", "gross domestic product of the zone", MONEY, "raw"),
    Indicator("hitech_industry_output", "高新技术产业产值", "output of high-tech industries", MONEY, "raw"),
    Indicator(
        "above_scale_industrial_output", "规上工业产值", "output of above-designated-size industry", MONEY, "raw"
    ),
    Indicator(
        "hitech_enterprises",
        "规上企业中的高新技术企业数",
        "high-tech enterprises among the above-designated-size enterprises",
        COUNT,
        "raw",
    ),
    Indicator("above_scale_enterprises", "规上企业数", "above-designated-size enterprises", COUNT, "raw"),
)

DERIVED: tuple[Indicator, ...] = (
    Indicator("rd_intensity", "R&D经费支出占GDP比重", "R&D intensity", FRACTION, "derived", "rd_expenditure", "gdp"),
    Indicator(
        "hitech_output_share",
        "高新技术产业产值占规上工业产值比重",
        "high-tech output share",
        FRACTION,
        "derived",
        "hitech_industry_output",
        "above_scale_industrial_output",
    ),
    Indicator(
        "hitech_enterprise_share",
        "规上企业中的高新技术企业数占比",
        "high-tech enterprise share",
        FRACTION,
        "derived",
        "hitech_enterprises",
        "above_scale_enterprises",
    ),
)

CATALOGUE: dict[str, Indicator] = {i.code: i for i in (*RAW, *DERIVED)}
RAW_CODES: frozenset[str] = frozenset(i.code for i in RAW)


@dataclass(frozen=True)
class TargetRule:
    """“国家高新区 R&D 经费支出占 GDP 比重达到 7%以上”: indicator, level, comparison, threshold, target year.

    以上 includes the number (Civil Code art. 1259) → `>=`; 超过 excludes it → `>`.
    """

    indicator: str
    level: ZoneLevel
    op: Literal[">=", ">"]
    threshold: Decimal
    year: int
    clause: int


def _target(
    indicator: str, level: ZoneLevel, op: Literal[">=", ">"], threshold: str, words: str
) -> Version[TargetRule]:
    rule = TargetRule(indicator, level, op, Decimal(threshold), 2025, CLAUSE_TARGETS)
    return Version(f"target.{indicator}.{level.value}", 1, POLICY_EFFECTIVE_FROM, rule, words)


TARGETS: tuple[Version[TargetRule], ...] = (
    _target("rd_intensity", ZoneLevel.NATIONAL, ">=", "0.07", "国家高新区 R&D 经费支出占 GDP 比重达到 7%以上"),
    _target("rd_intensity", ZoneLevel.PROVINCIAL, ">=", "0.05", "省级高新区 R&D 经费支出占 GDP 比重达到 5%以上"),
    _target(
        "hitech_output_share",
        ZoneLevel.NATIONAL,
        ">",
        "0.80",
        "国家高新区高新技术产业产值占规上工业产值比重超过 80%",
    ),
    _target(
        "hitech_output_share",
        ZoneLevel.PROVINCIAL,
        ">",
        "0.70",
        "省级高新区高新技术产业产值占规上工业产值比重超过 70%",
    ),
    _target("hitech_enterprise_share", ZoneLevel.NATIONAL, ">", "0.45", "高新区规上企业中的高新技术企业数占比超过 45%"),
    _target(
        "hitech_enterprise_share", ZoneLevel.PROVINCIAL, ">", "0.45", "高新区规上企业中的高新技术企业数占比超过 45%"
    ),
)


def target_for(
    indicator: str, level: ZoneLevel, on: date, targets: Iterable[Version[TargetRule]] = TARGETS
) -> Version[TargetRule] | None:
    """The target version in force on `on`; for a date before the first version, the first version.

    The targets are 2025 goals: judging an earlier year against them shows the distance still to go, so a
    year before the policy is measured against the policy's first targets rather than against nothing.
    """
    versions = [t for t in targets if t.value.indicator == indicator and t.value.level is level]
    if not versions:
        return None
    return in_force(versions, on) or min(versions, key=lambda v: (v.effective_from, v.version))
