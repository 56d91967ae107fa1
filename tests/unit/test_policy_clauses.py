"""The 26 clauses of 连政发〔2021〕25号 as parsed from the bundled PDF extraction."""

from __future__ import annotations

import dataclasses
import re

import pytest

from services.common.policy.clauses import (
    SOURCE_PATH,
    Clause,
    chinese_numeral,
    clause,
    load_clauses,
    parse_clauses,
)

PART_TITLES = {
    1: "总体要求",
    2: "着力提升自主创新能力",
    3: "全面激发企业创新活力",
    4: "培育壮大现代产业集群",
    5: "全面深化开放协同创新",
    6: "提高创新资源配置效率",
    7: "强化组织管理",
}
# First clause of each part, read off the headings "一、总体要求" … "七、强化组织管理" in the source.
FIRST_CLAUSE_OF_PART = {1: 1, 2: 4, 3: 8, 4: 11, 5: 15, 6: 18, 7: 22}


def test_load_clauses_returns_26_clauses_in_order() -> None:
    clauses = load_clauses()
    assert [c.number for c in clauses] == list(range(1, 27))
    assert all(isinstance(c, Clause) for c in clauses)


def test_chinese_numeral_writes_policy_numbers() -> None:
    assert [chinese_numeral(n) for n in (1, 9, 10, 11, 19, 20, 21, 26)] == [
        "一", "九", "十", "十一", "十九", "二十", "二十一", "二十六",
    ]  # fmt: skip
    with pytest.raises(ValueError):
        chinese_numeral(0)


def test_load_clauses_labels_match_numbers() -> None:
    labels = [c.label for c in load_clauses()]
    assert labels[:3] == ["（一）", "（二）", "（三）"]
    assert labels[9:11] == ["（十）", "（十一）"]
    assert labels[19] == "（二十）"
    assert labels[24:] == ["（二十五）", "（二十六）"]


def test_load_clauses_groups_clauses_in_seven_parts() -> None:
    clauses = load_clauses()
    assert {c.part_number: c.part_title for c in clauses} == PART_TITLES
    firsts = {c.part_number: c.number for c in reversed(clauses)}
    assert firsts == FIRST_CLAUSE_OF_PART
    assert [c.part_number for c in clauses] == sorted(c.part_number for c in clauses)


def test_clause_title_is_first_sentence() -> None:
    assert clause(1).title == "指导思想"
    assert clause(18).title == "深化“放管服”改革"
    assert clause(25).title == "健全争先创优机制"
    assert all(c.text.startswith(c.title + "。") for c in load_clauses())


def test_clause_25_text_is_continuous_and_exact() -> None:
    # Source lines 528-542: breaks at "对新认⏎定" and "给予 100⏎万元", units trailer across two lines.
    assert clause(25).text == (
        "健全争先创优机制。加强高新区动态监测和评价。在全市园区考核评价体系中加大科技创新发展指标权重。"
        "对新认定的省级高新区给予 100 万元奖励；对年度考评排名较历史最好位次实现前进 3 位以上的国家高新区、"
        "省级高新区分别给予 100 万元、50 万元奖励，用于园区服务能力建设支出。对列入国家级和省级创新型试点、"
        "知识产权试点（示范）的县区，分别给予 50 万元、20 万元奖励。"
    )
    assert "新认定的省级高新区" in clause(25).text
    assert "\n" not in clause(25).text
    assert "—" not in clause(25).text


def test_clause_25_lists_its_responsible_units() -> None:
    assert clause(25).responsible_units == (
        "市考核办", "市科技局", "市商务局", "市市场监管局", "市统计局", "各县、区人民政府",
    )  # fmt: skip


def test_clause_5_sets_work_permit_age_65() -> None:
    # "申请⏎工作许可" is broken across lines 161/163 in the source.
    assert "经市级以上科技行政部门批准，申请工作许可的年龄可放宽至 65 岁；" in clause(5).text
    # "市⏎公安局" is broken across lines 168/170.
    assert clause(5).responsible_units == (
        "市人才办", "市科技局", "市教育局", "市财政局", "市公安局", "市人社局", "各县、区人民政府",
    )  # fmt: skip


def test_clause_21_units_joined_across_indented_line() -> None:
    # Line 465 continues "市地方金融监管" with an indented " 局".
    assert clause(21).responsible_units[:3] == (
        "市地方金融监管局",
        "人行连云港市中心支行",
        "连云港银保监分局",
    )
    assert len(clause(21).responsible_units) == 9


def test_load_clauses_units_only_from_clause_4_on() -> None:
    clauses = load_clauses()
    assert [c.number for c in clauses if not c.responsible_units] == [1, 2, 3]
    assert all(c.responsible_units[-1] == "各县、区人民政府" for c in clauses[3:])
    assert not any(u in {"县", "各县", "区人民政府"} for c in clauses for u in c.responsible_units)


def test_load_clauses_text_has_no_artefacts() -> None:
    for c in load_clauses():
        assert "责任单位" not in c.text, c.number
        assert "\n" not in c.text and "  " not in c.text, c.number
        assert not re.search(r"—\s*\d+\s*—", c.text), c.number
        assert c.text.endswith("。"), c.number


def test_clause_3_keeps_dashes_and_restores_spaces() -> None:
    text = clause(3).text
    # "——" bullets are content; the page number "—3—" on line 76 sits before this clause and is gone.
    assert "体制机制创新示范区。——创新能力显著提高。国家高新区 R&D 经费支出占 GDP 比重达到 7%以上" in text
    assert "到 2035 年，建成一批具有地区影响力的高科技园区" in text
    assert "竞争优势。" not in text  # end of clause 2, before the page number
    assert "研发—成果转移转化—中试—产业化" in clause(7).text


def test_clause_26_excludes_signature_and_date() -> None:
    text = clause(26).text
    assert text.endswith("除法律规定的安全生产、环境保护等事项外，其他检查一律合并减少。")
    assert "连云港市人民政府" not in text and "2021 年" not in text and "此件公开发布" not in text
    assert clause(26).responsible_units[0] == "市委组织部"


def test_clause_unknown_number_raises_key_error() -> None:
    for number in (0, 27, -1):
        with pytest.raises(KeyError):
            clause(number)


def test_load_clauses_default_is_cached_and_explicit_path_equal() -> None:
    assert load_clauses() is load_clauses()
    assert load_clauses(SOURCE_PATH) == load_clauses()


def test_parse_clauses_truncated_text_raises() -> None:
    source = SOURCE_PATH.read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="found 25 clauses"):
        parse_clauses(source[: source.index("（二十六）")])


def test_clause_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        clause(1).title = "x"  # type: ignore[misc]
