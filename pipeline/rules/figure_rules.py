"""The rules that say what a figure is: units, scales, forms, qualifiers, ranks, exclusions.

Each function reads one rule file (its header in `rules/` gives the syntax),
checks every entry and returns typed records; `pipeline.rules.compile`
hands them to the figure finder.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import regex

from pipeline.records import Dimension, FactType, Qualifier
from pipeline.rules.files import RawRule, choice, flag, member, number, read_rule_file, str_list, text
from pipeline.rules.patterns import UserPattern, alternation, compile_pattern


class Position(StrEnum):
    """Where a qualifier word stands: before the number, after the unit, or between the two."""

    BEFORE = "before"
    AFTER = "after"
    INNER = "inner"


class RankContext(StrEnum):
    """What must stand before a rank form for it to count (see ranks.yaml)."""

    NONE = "none"
    NEAR = "near"
    STRICT = "strict"


@dataclass(frozen=True)
class UnitRule:
    id: str
    written: tuple[str, ...]
    unit: str | None  # None: the written form is the unit
    dimension: Dimension
    factor: float
    scalable: bool
    chinese: bool
    not_before: tuple[str, ...]
    after_words: tuple[str, ...]
    links: tuple[str, ...]  # words that may stand between after_words and the number (为, 达)
    implied: FactType | None
    listable: bool


@dataclass(frozen=True)
class ScaleRule:
    id: str
    written: tuple[str, ...]
    factor: float
    bare: bool


@dataclass(frozen=True)
class FormRule:
    id: str
    patterns: tuple[str, ...]  # with {N} / {CN} not yet substituted
    value: float | None
    bare: str | None
    unit: str
    dimension: Dimension
    implied: FactType | None
    listable: bool


@dataclass(frozen=True)
class QualifierRule:
    id: str
    words: tuple[str, ...]
    qualifier: Qualifier
    position: Position
    bare_only: bool


@dataclass(frozen=True)
class RankForm:
    id: str
    pattern: str  # with {N} not yet substituted
    value: float | None
    qualifier: Qualifier
    context: RankContext


@dataclass(frozen=True)
class Ranks:
    cues: tuple[str, ...]
    scopes: tuple[str, ...]
    forms: tuple[RankForm, ...]


@dataclass(frozen=True)
class Exclusion:
    id: str
    pattern: UserPattern
    reason: str


def read_units(path: Path) -> tuple[list[RawRule], tuple[UnitRule, ...]]:
    _, raw = read_rule_file(path, frozenset({"written", "dimension"}),
                            frozenset({"unit", "factor", "scalable", "chinese", "not_before", "after_words",
                                       "links", "type", "listable"}))
    out = []
    for r in raw:
        written = tuple(r.data["written"] or ())
        after = str_list(r, "after_words", []) if "after_words" in r.data else ()
        if not written and not after:
            raise r.error("'written' is empty and there are no 'after_words'")
        if not all(isinstance(w, str) and w for w in written):
            raise r.error("'written' must list non-empty strings")
        unit = r.data.get("unit")
        if unit is not None and not isinstance(unit, str):
            raise r.error("'unit' must be a string")
        out.append(UnitRule(r.id, written, unit, member(r, "dimension", Dimension), number(r, "factor", 1.0),
                            flag(r, "scalable", True), flag(r, "chinese", True), str_list(r, "not_before", []),
                            after, str_list(r, "links", []), _implied(r), flag(r, "listable", True)))
    return raw, tuple(out)


def _implied(rule: RawRule) -> FactType | None:
    return member(rule, "type", FactType) if "type" in rule.data else None


def read_scales(path: Path) -> tuple[list[RawRule], tuple[ScaleRule, ...]]:
    _, raw = read_rule_file(path, frozenset({"written", "factor"}), frozenset({"bare"}))
    return raw, tuple(ScaleRule(r.id, str_list(r, "written"), number(r, "factor", 1), flag(r, "bare", False))
                      for r in raw)


NUMERAL_SLOTS = {"{N}": "1", "{CN}": "\u4e09", "{AR}": "1"}  # what a slot holds when a pattern is probed


def read_forms(path: Path) -> tuple[list[RawRule], tuple[FormRule, ...]]:
    _, raw = read_rule_file(path, frozenset({"patterns", "unit", "dimension"}),
                            frozenset({"value", "bare", "type", "listable"}))
    out = []
    for r in raw:
        patterns = str_list(r, "patterns")
        for pattern in patterns:
            probe = pattern
            for slot, sample in NUMERAL_SLOTS.items():
                probe = probe.replace(slot, sample)
            groups = set(compile_pattern(r, probe).groupindex)
            if "value" not in r.data and not ({"num"} <= groups or {"nom", "den"} <= groups):
                raise r.error("a form needs a fixed 'value' or named groups 'num' (or 'nom' and 'den')")
        bare = r.data.get("bare")
        if bare is not None and not isinstance(bare, str):
            raise r.error("'bare' must be a string")
        out.append(FormRule(r.id, patterns, number(r, "value", 0) if "value" in r.data else None, bare,
                            text(r, "unit"), member(r, "dimension", Dimension), _implied(r),
                            flag(r, "listable", True)))
    return raw, tuple(out)


def read_qualifiers(path: Path) -> tuple[list[RawRule], tuple[QualifierRule, ...]]:
    _, raw = read_rule_file(path, frozenset({"words", "qualifier", "position"}), frozenset({"bare_only"}))
    return raw, tuple(QualifierRule(r.id, str_list(r, "words"), member(r, "qualifier", Qualifier),
                                    member(r, "position", Position), flag(r, "bare_only", False)) for r in raw)


def read_ranks(path: Path) -> tuple[list[RawRule], Ranks]:
    _, raw = read_rule_file(path, frozenset({"kind"}), frozenset({"words", "pattern", "value", "qualifier", "context"}))
    cues: list[str] = []
    scopes: list[str] = []
    forms: list[RankForm] = []
    for r in raw:
        kind = choice(r, "kind", frozenset({"cue", "scope", "form"}))
        if kind == "cue":
            cues.extend(str_list(r, "words"))
        elif kind == "scope":
            scopes.extend(str_list(r, "words"))
        else:
            pattern = r.data.get("pattern")
            if not isinstance(pattern, str):
                raise r.error("a rank form needs a 'pattern'")
            compile_pattern(r, pattern.replace("{N}", "1"))
            value = number(r, "value", 0) if "value" in r.data else None
            if value is None and "{N}" not in pattern:
                raise r.error("a pattern without {N} needs a fixed 'value'")
            forms.append(RankForm(r.id, pattern, value, member(r, "qualifier", Qualifier, Qualifier.EXACT),
                                  member(r, "context", RankContext, RankContext.NONE)))
    return raw, Ranks(tuple(cues), tuple(scopes), tuple(forms))


def read_exclusions(path: Path) -> tuple[list[RawRule], tuple[Exclusion, ...]]:
    _, raw = read_rule_file(path, frozenset({"reason"}), frozenset({"pattern", "words"}))
    out = []
    for r in raw:
        if ("words" in r.data) == ("pattern" in r.data):
            raise r.error("give exactly one of 'words' or 'pattern'")
        if "pattern" in r.data:
            pattern = compile_pattern(r, text(r, "pattern"))
        else:
            pattern = regex.compile(alternation(str_list(r, "words")))
        out.append(Exclusion(r.id, UserPattern(r.id, pattern), str(r.data["reason"])))
    return raw, tuple(out)
