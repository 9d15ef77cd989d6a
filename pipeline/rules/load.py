"""Loading every rule file into one validated, compiled `Rules` object.

Each rule file's header says its syntax; this module checks it, refuses
duplicate ids and regexes that do not compile, and compiles what the
stages need once. `Rules.version` is a hash of every rule file's bytes:
it goes into each fact so a reader knows which rules made it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import regex

from pipeline.attribute.gazetteer import Gazetteer, load_gazetteer, read_region_rules
from pipeline.rules.files import RawRule, RuleError, check_unique, choice, read_rule_file, str_list

__all__ = [
    "CueRule",
    "MetricRule",
    "QualifierRule",
    "RankForm",
    "RuleError",
    "Rules",
    "ScaleRule",
    "UnitRule",
    "load_rules",
]

DIMENSIONS = frozenset({"count", "money", "percent", "percentage_point", "multiple", "rank",
                        "duration", "mass", "score", "other"})
QUALIFIERS = frozenset({"exact", "approx", "lower_bound", "upper_bound"})
EXAMPLE_KEYS = frozenset({"examples", "negatives"})


@dataclass(frozen=True)
class UnitRule:
    id: str
    written: tuple[str, ...]
    unit: str | None  # None: the written form is the unit
    dimension: str
    factor: float
    scalable: bool
    chinese: bool
    not_before: tuple[str, ...]
    after_words: tuple[str, ...]


@dataclass(frozen=True)
class ScaleRule:
    id: str
    written: tuple[str, ...]
    factor: float
    bare: bool


@dataclass(frozen=True)
class QualifierRule:
    id: str
    words: tuple[str, ...]
    qualifier: str
    position: str
    bare_only: bool


@dataclass(frozen=True)
class CueRule:
    id: str
    kind: str
    words: tuple[str, ...]
    pattern: regex.Pattern[str] | None
    reach: str
    sign: int


@dataclass(frozen=True)
class RankForm:
    id: str
    pattern: str  # with {N} not yet substituted
    value: float | None
    qualifier: str
    context: str


@dataclass(frozen=True)
class PeriodRule:
    id: str
    kind: str
    words: tuple[str, ...]
    offset: int
    year: int | None


@dataclass(frozen=True)
class MetricRule:
    id: str
    name: str
    written: tuple[str, ...]


@dataclass(frozen=True)
class Exclusion:
    id: str
    pattern: regex.Pattern[str]
    reason: str


@dataclass(frozen=True, eq=False)
class Rules:
    """All rules, validated and compiled; build with `load_rules`."""

    directory: Path
    version: str
    units: tuple[UnitRule, ...]
    scales: tuple[ScaleRule, ...]
    qualifiers: tuple[QualifierRule, ...]
    cues: tuple[CueRule, ...]
    rank_cues: tuple[str, ...]
    rank_scopes: tuple[str, ...]
    rank_forms: tuple[RankForm, ...]
    periods: tuple[PeriodRule, ...]
    exclusions: tuple[Exclusion, ...]
    examples: tuple[RawRule, ...] = field(repr=False)  # every rule, for the example runner
    gazetteer: Gazetteer | None = field(default=None, repr=False)  # regions.yaml over the official divisions
    metrics: tuple[MetricRule, ...] = ()
    terms: tuple[str, ...] = ()  # jieba's user dictionary for metric phrases

    def cue_words(self, kind: str) -> tuple[str, ...]:
        return tuple(w for c in self.cues if c.kind == kind for w in c.words)


# Texts that make a backtracking-prone pattern show itself at load time.
_PROBES = ("a" * 3000 + "!", "1" * 3000 + "年!", "第" * 1500 + "x", "“" + "十" * 3000, "《" * 1000 + "2023")
PROBE_SECONDS = 0.5


def _compile(rule: RawRule, pattern: str) -> regex.Pattern[str]:
    """Compile a user-written pattern and refuse one that backtracks catastrophically."""
    try:
        compiled = regex.compile(pattern)
    except regex.error as exc:
        raise rule.error(f"pattern does not compile: {exc}") from None
    for probe in _PROBES:
        try:
            for _ in compiled.finditer(probe, timeout=PROBE_SECONDS):
                pass
        except TimeoutError:
            raise rule.error(f"pattern is too slow (over {PROBE_SECONDS} s on a {len(probe)}-character probe): "
                             "look for nested repetition such as (a+)+") from None
    return compiled


def _number(rule: RawRule, key: str, default: float) -> float:
    value = rule.data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise rule.error(f"'{key}' must be a number")
    return float(value)


def _flag(rule: RawRule, key: str, default: bool) -> bool:
    value = rule.data.get(key, default)
    if not isinstance(value, bool):
        raise rule.error(f"'{key}' must be true or false")
    return value


def _units(path: Path) -> tuple[list[RawRule], tuple[UnitRule, ...]]:
    _, raw = read_rule_file(path, frozenset({"written", "dimension"}),
                            frozenset({"unit", "factor", "scalable", "chinese", "not_before", "after_words"}))
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
        out.append(UnitRule(r.id, written, unit, choice(r, "dimension", DIMENSIONS), _number(r, "factor", 1.0),
                            _flag(r, "scalable", True), _flag(r, "chinese", True),
                            str_list(r, "not_before", []), after))
    return raw, tuple(out)


def _scales(path: Path) -> tuple[list[RawRule], tuple[ScaleRule, ...]]:
    _, raw = read_rule_file(path, frozenset({"written", "factor"}), frozenset({"bare"}))
    return raw, tuple(ScaleRule(r.id, str_list(r, "written"), _number(r, "factor", 1), _flag(r, "bare", False))
                      for r in raw)


def _qualifiers(path: Path) -> tuple[list[RawRule], tuple[QualifierRule, ...]]:
    _, raw = read_rule_file(path, frozenset({"words", "qualifier", "position"}), frozenset({"bare_only"}))
    return raw, tuple(QualifierRule(r.id, str_list(r, "words"), choice(r, "qualifier", QUALIFIERS),
                                    choice(r, "position", frozenset({"before", "after", "inner"})),
                                    _flag(r, "bare_only", False)) for r in raw)


def _cues(path: Path) -> tuple[list[RawRule], tuple[CueRule, ...]]:
    _, raw = read_rule_file(path, frozenset({"kind"}), frozenset({"words", "pattern", "reach", "sign"}))
    out = []
    for r in raw:
        kind = choice(r, "kind", frozenset({"change", "share", "target", "transparent", "joiner", "entity"}))
        if ("words" in r.data) == ("pattern" in r.data):
            raise r.error("give exactly one of 'words' or 'pattern'")
        pattern = _compile(r, r.data["pattern"]) if "pattern" in r.data else None
        sign = int(_number(r, "sign", 1))
        if sign not in (1, -1):
            raise r.error("'sign' must be 1 or -1")
        out.append(CueRule(r.id, kind, str_list(r, "words") if "words" in r.data else (), pattern,
                           choice(r, "reach", frozenset({"adjacent", "clause", "sentence"}), "adjacent"), sign))
    return raw, tuple(out)


def _ranks(path: Path) -> tuple[list[RawRule], tuple[str, ...], tuple[str, ...], tuple[RankForm, ...]]:
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
            _compile(r, pattern.replace("{N}", "1"))
            value = _number(r, "value", 0) if "value" in r.data else None
            if value is None and "{N}" not in pattern:
                raise r.error("a pattern without {N} needs a fixed 'value'")
            forms.append(RankForm(r.id, pattern, value, choice(r, "qualifier", QUALIFIERS, "exact"),
                                  choice(r, "context", frozenset({"none", "near", "strict"}), "none")))
    return raw, tuple(cues), tuple(scopes), tuple(forms)


def _periods(path: Path) -> tuple[list[RawRule], tuple[PeriodRule, ...]]:
    _, raw = read_rule_file(path, frozenset({"kind", "words"}), frozenset({"offset", "year"}))
    out = []
    for r in raw:
        kind = choice(r, "kind", frozenset({"relative", "present", "since", "running", "open", "streak", "plan"}))
        if kind == "relative" and "offset" not in r.data:
            raise r.error("a relative period needs an 'offset'")
        if kind == "plan" and "year" not in r.data:
            raise r.error("a plan period needs its end 'year'")
        year = int(_number(r, "year", 0)) if "year" in r.data else None
        out.append(PeriodRule(r.id, kind, str_list(r, "words"), int(_number(r, "offset", 0)), year))
    return raw, tuple(out)


def _metrics(path: Path) -> tuple[list[RawRule], tuple[MetricRule, ...], tuple[str, ...]]:
    _, raw = read_rule_file(path, frozenset({"kind"}), frozenset({"name", "written", "words"}))
    metrics, terms = [], []
    for r in raw:
        kind = choice(r, "kind", frozenset({"metric", "term"}))
        if kind == "metric":
            if not isinstance(r.data.get("name"), str):
                raise r.error("a metric needs a 'name'")
            metrics.append(MetricRule(r.id, r.data["name"], str_list(r, "written")))
        else:
            terms.extend(str_list(r, "words"))
    seen: dict[str, str] = {}
    for m in metrics:
        for w in m.written:
            if w in seen and seen[w] != m.id:
                rule = next(x for x in raw if x.id == m.id)
                raise rule.error(f"written form {w!r} already belongs to {seen[w]!r}")
            seen[w] = m.id
    return raw, tuple(metrics), tuple(terms)


def _exclusions(path: Path) -> tuple[list[RawRule], tuple[Exclusion, ...]]:
    _, raw = read_rule_file(path, frozenset({"reason"}), frozenset({"pattern", "words"}))
    out = []
    for r in raw:
        if ("words" in r.data) == ("pattern" in r.data):
            raise r.error("give exactly one of 'words' or 'pattern'")
        if "pattern" in r.data:
            if not isinstance(r.data["pattern"], str):
                raise r.error("'pattern' must be a string")
            pattern = _compile(r, r.data["pattern"])
        else:
            words = sorted(str_list(r, "words"), key=len, reverse=True)
            pattern = regex.compile("|".join(regex.escape(w) for w in words))
        out.append(Exclusion(r.id, pattern, str(r.data["reason"])))
    return raw, tuple(out)


# Files this module compiles; other rule files (regions, metrics) are read by
# their own stage but still count towards the version and the id check.
COMPILED_FILES = ("units.yaml", "scales.yaml", "qualifiers.yaml", "cues.yaml", "ranks.yaml",
                  "periods.yaml", "exclusions.yaml", "metrics.yaml")


def rules_version(rules_dir: Path) -> str:
    """Hash of every rule file's name and bytes: changes whenever a rule does."""
    digest = hashlib.sha256()
    for path in sorted(rules_dir.glob("*.yaml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def load_rules(rules_dir: Path) -> Rules:
    """Load and validate every rule file in `rules_dir`; raise RuleError if any is bad."""
    rules_dir = Path(rules_dir)
    for name in COMPILED_FILES:
        if not (rules_dir / name).is_file():
            raise RuleError(rules_dir / name, None, None, "rule file is missing")
    raw_units, units = _units(rules_dir / "units.yaml")
    raw_scales, scales = _scales(rules_dir / "scales.yaml")
    raw_quals, quals = _qualifiers(rules_dir / "qualifiers.yaml")
    raw_cues, cues = _cues(rules_dir / "cues.yaml")
    raw_ranks, rank_cues, rank_scopes, rank_forms = _ranks(rules_dir / "ranks.yaml")
    raw_periods, periods = _periods(rules_dir / "periods.yaml")
    raw_excl, exclusions = _exclusions(rules_dir / "exclusions.yaml")
    raw_metrics, metrics, terms = _metrics(rules_dir / "metrics.yaml")
    every = raw_units + raw_scales + raw_quals + raw_cues + raw_ranks + raw_periods + raw_excl + raw_metrics
    regions_file = rules_dir / "regions.yaml"
    check_unique(every + (read_region_rules(regions_file) if regions_file.is_file() else []))
    gazetteer = load_gazetteer(rules_dir) if regions_file.is_file() else None
    return Rules(rules_dir, rules_version(rules_dir), units, scales, quals, cues, rank_cues, rank_scopes,
                 rank_forms, periods, exclusions, tuple(every), gazetteer, metrics, terms)


def example_items(rule: RawRule) -> list[tuple[str, dict[str, Any]]]:
    """(list name, item) for every example and negative of a rule, items normalised to mappings."""
    out = []
    for key in ("examples", "negatives"):
        for item in rule.data.get(key) or []:
            out.append((key, {"text": item} if isinstance(item, str) else dict(item)))
    return out
