"""The 26 numbered clauses of 连政发〔2021〕25号, parsed from the bundled text of the policy."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

SOURCE_PATH = Path(__file__).with_name("lianzhengfa-2021-25.txt")
CLAUSE_COUNT = 26
PART_COUNT = 7

_DIGITS = "一二三四五六七八九"
_NUMERAL = "[一二三四五六七八九十]{1,3}"
# Page numbers ("—3—", "— 3 —") are PDF furniture standing alone on their line; dashes inside a sentence
# ("研发—成果", "——创新能力") are content and are never touched.
_PAGE_NUMBER = re.compile(r"[—–－-]{1,2}\s*\d+\s*[—–－-]{1,2}")
_PART_HEADING = re.compile(rf"(?P<numeral>{_NUMERAL})、(?P<title>[^，。；：、（）]+)")
_LABEL = re.compile(rf"（(?P<numeral>{_NUMERAL})）")
_UNITS_TRAILER = re.compile(r"（责任单位[：:](?P<units>[^（）]+)）\Z")
_UNIT_GROUP_SEPARATORS = re.compile(r"[，,；;]")
# "各县、区人民政府" is one unit (the governments of every county and district): a bare "县" before "、"
# shares the noun that follows, so it is joined to the next name rather than listed on its own.
_SHARED_NOUN_PREFIX = re.compile(r"各?[县市区乡镇]")
# The signature and date after the last clause are right-aligned with a run of spaces in the extraction;
# no line of the clauses is indented by more than one.
_SIGNATURE_INDENT = 4
_DATE_LINE = re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z0-9]")


@dataclass(frozen=True)
class Clause:
    """One numbered clause: where it sits in the policy, what it says, and who answers for it.

    `text` starts with the title sentence (the label is kept apart in `label`) and stops before the
    trailing 责任单位 parenthesis, whose units are in `responsible_units`.
    """

    number: int
    label: str
    part_number: int
    part_title: str
    title: str
    text: str
    responsible_units: tuple[str, ...]


@dataclass
class _Draft:
    number: int
    part_number: int
    part_title: str
    lines: list[str] = field(default_factory=list)


def chinese_numeral(n: int) -> str:
    """Write n (1..99) the way the policy numbers its parts and clauses: 一, 十, 十一, 二十, 二十六."""
    if not 1 <= n <= 99:
        raise ValueError(f"no Chinese numeral for {n}: only 1..99 are written")
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else "十" if tens == 1 else _DIGITS[tens - 1] + "十"
    return head + (_DIGITS[ones - 1] if ones else "")


def load_clauses(path: Path | None = None) -> tuple[Clause, ...]:
    """All clauses in order, from `path` or by default from the copy of the policy beside this module."""
    if path is None:
        return _bundled_clauses()
    return parse_clauses(path.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _bundled_clauses() -> tuple[Clause, ...]:
    return parse_clauses(SOURCE_PATH.read_text(encoding="utf-8"))


def clause(number: int) -> Clause:
    """Clause `number` (1..26) of the bundled policy; KeyError for any other number."""
    clauses = load_clauses()
    if not 1 <= number <= len(clauses):
        raise KeyError(number)
    return clauses[number - 1]


def parse_clauses(source: str) -> tuple[Clause, ...]:
    """Parse the policy text; ValueError unless it holds 26 clauses in 7 parts, each in order."""
    drafts: list[_Draft] = []
    current: _Draft | None = None
    part_number, part_title = 0, ""
    for raw in source.splitlines():
        line = raw.strip()
        if not line or _PAGE_NUMBER.fullmatch(line):
            continue
        if part_number and _starts_tail(raw, line):
            break
        # Headings and labels are only taken when they carry the next number, so a wrapped line that
        # happens to begin like one ("二、三产业…") stays text, and a lost clause shows up in the count.
        heading = _PART_HEADING.fullmatch(line)
        if heading and heading["numeral"] == chinese_numeral(part_number + 1):
            part_number, part_title, current = part_number + 1, heading["title"], None
            continue
        label = _LABEL.match(line)
        if part_number and label and label["numeral"] == chinese_numeral(len(drafts) + 1):
            current = _Draft(len(drafts) + 1, part_number, part_title)
            drafts.append(current)
            line = line[label.end() :].strip()
        elif current is None:
            if part_number:
                raise ValueError(f"text between part heading {part_title!r} and its first clause: {line!r}")
            continue  # title, addressees and preamble come before part 一 and belong to no clause
        if line:
            current.lines.append(line)

    if len(drafts) != CLAUSE_COUNT:
        raise ValueError(f"found {len(drafts)} clauses, expected {CLAUSE_COUNT}")
    if {draft.part_number for draft in drafts} != set(range(1, PART_COUNT + 1)):
        raise ValueError(f"found {part_number} parts, or a part without clauses; expected {PART_COUNT}")
    return tuple(_finish(draft) for draft in drafts)


def _starts_tail(raw: str, line: str) -> bool:
    return len(raw) - len(raw.lstrip()) >= _SIGNATURE_INDENT or _DATE_LINE.fullmatch(line) is not None


def _finish(draft: _Draft) -> Clause:
    label = f"（{chinese_numeral(draft.number)}）"
    text = _join(draft.lines)
    units: tuple[str, ...] = ()
    trailer = _UNITS_TRAILER.search(text)
    if trailer:
        text, units = text[: trailer.start()], _split_units(trailer["units"])
    # A clause ends with a full stop once its units are cut off; anything else means a page footer,
    # the signature or a second parenthesis slipped in, so fail rather than quote a wrong text.
    if "责任单位" in text or not text.endswith("。"):
        raise ValueError(f"clause {label} does not end cleanly: …{text[-30:]!r}")
    return Clause(
        number=draft.number,
        label=label,
        part_number=draft.part_number,
        part_title=draft.part_title,
        title=text.partition("。")[0],
        text=text,
        responsible_units=units,
    )


def _join(lines: list[str]) -> str:
    text = ""
    for line in lines:
        if text and _needs_space(text[-1], line[0]):
            text += " "
        text += line
    return text


def _needs_space(left: str, right: str) -> bool:
    # Within a line the document always sets digits and Latin letters apart from Chinese characters with a
    # space ("到 2025 年", "占 GDP 比重"); a line break on such a boundary swallowed it ("给予 100⏎万元").
    return bool(
        (_LATIN.fullmatch(left) and _HAN.fullmatch(right)) or (_HAN.fullmatch(left) and _LATIN.fullmatch(right))
    )


def _split_units(listing: str) -> tuple[str, ...]:
    units: list[str] = []
    for group in _UNIT_GROUP_SEPARATORS.split(listing):
        shared = ""
        for name in (part.strip() for part in group.split("、")):
            if not name:
                continue
            if _SHARED_NOUN_PREFIX.fullmatch(name):
                shared += name + "、"
                continue
            units.append(shared + name)
            shared = ""
        if shared:
            units.append(shared.rstrip("、"))
    return tuple(units)
