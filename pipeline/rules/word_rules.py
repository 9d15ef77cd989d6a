"""The rules that attribute a figure: cue words, period words, metric words, table header words.

Each `read_*` function reads one rule file (its header in `rules/` gives the
syntax) and returns typed records. Many kinds are plain word lists (the
words that end a metric phrase, the header words of a target column); they
come back as `WordLists`, looked up by kind.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pipeline.rules.files import RawRule, choice, flag, member, number, read_rule_file, str_list, text
from pipeline.rules.patterns import UserPattern, compile_pattern


@dataclass(frozen=True)
class WordLists:
    """Words by kind, in file order: the plain word-list entries of one rule file."""

    lists: tuple[tuple[str, tuple[str, ...]], ...]

    def __getitem__(self, kind: str) -> tuple[str, ...]:
        return tuple(w for k, words in self.lists if k == kind for w in words)

    @classmethod
    def of(cls, rules: Iterable[RawRule], kinds: frozenset[str]) -> WordLists:
        return cls(tuple((str(r.data["kind"]), str_list(r, "words")) for r in rules if r.data["kind"] in kinds))


class CueKind(StrEnum):
    CHANGE = "change"
    SHARE = "share"
    TARGET = "target"
    TRANSPARENT = "transparent"
    JOINER = "joiner"
    ENTITY = "entity"
    RANGE_JOINER = "range_joiner"
    NEW_ITEMS = "new_items"
    RESPECTIVELY = "respectively"


class Reach(StrEnum):
    ADJACENT = "adjacent"
    CLAUSE = "clause"
    SENTENCE = "sentence"


@dataclass(frozen=True)
class CueRule:
    id: str
    kind: CueKind
    words: tuple[str, ...]
    pattern: UserPattern | None
    reach: Reach
    sign: int


@dataclass(frozen=True)
class Cues:
    rules: tuple[CueRule, ...]

    def words(self, kind: CueKind) -> tuple[str, ...]:
        return tuple(w for c in self.rules if c.kind == kind for w in c.words)


def read_cues(path: Path) -> tuple[list[RawRule], Cues]:
    _, raw = read_rule_file(path, frozenset({"kind"}), frozenset({"words", "pattern", "reach", "sign"}))
    out = []
    for r in raw:
        kind = member(r, "kind", CueKind)
        if ("words" in r.data) == ("pattern" in r.data):
            raise r.error("give exactly one of 'words' or 'pattern'")
        pattern = UserPattern(r.id, compile_pattern(r, text(r, "pattern"))) if "pattern" in r.data else None
        sign = int(number(r, "sign", 1))
        if sign not in (1, -1):
            raise r.error("'sign' must be 1 or -1")
        out.append(CueRule(r.id, kind, str_list(r, "words") if "words" in r.data else (), pattern,
                           member(r, "reach", Reach, Reach.ADJACENT), sign))
    return raw, Cues(tuple(out))


class PeriodKind(StrEnum):
    RELATIVE = "relative"
    PRESENT = "present"
    SINCE = "since"
    RUNNING = "running"
    OPEN = "open"
    STREAK = "streak"
    PLAN = "plan"


PERIOD_WORD_KINDS = frozenset({"baseline", "from", "to", "plan_title"})


@dataclass(frozen=True)
class Era:
    """A calendar counted from its own year 1 in some regions (ROC: 106年 is 2017 in Taiwan)."""

    rule: RawRule
    offset: int
    regions: tuple[str, ...]  # full names or codes


@dataclass(frozen=True)
class PeriodRule:
    id: str
    kind: PeriodKind
    words: tuple[str, ...]
    offset: int
    year: int | None


@dataclass(frozen=True)
class Periods:
    rules: tuple[PeriodRule, ...]
    words: WordLists  # baseline, from, to, plan_title
    eras: tuple[Era, ...] = ()


def read_periods(path: Path) -> tuple[list[RawRule], Periods]:
    _, raw = read_rule_file(path, frozenset({"kind"}), frozenset({"words", "offset", "year", "regions"}))
    out = []
    eras = []
    for r in raw:
        kind = choice(r, "kind", frozenset(PeriodKind) | PERIOD_WORD_KINDS | {"era"})
        if kind == "era":
            eras.append(Era(r, int(number(r, "offset", 0)), str_list(r, "regions")))
            continue
        if kind in PERIOD_WORD_KINDS:
            str_list(r, "words")
            continue
        if kind == PeriodKind.RELATIVE and "offset" not in r.data:
            raise r.error("a relative period needs an 'offset'")
        if kind == PeriodKind.PLAN and "year" not in r.data:
            raise r.error("a plan period needs its end 'year'")
        year = int(number(r, "year", 0)) if "year" in r.data else None
        out.append(PeriodRule(r.id, PeriodKind(kind), str_list(r, "words"), int(number(r, "offset", 0)), year))
    return raw, Periods(tuple(out), WordLists.of(raw, PERIOD_WORD_KINDS), tuple(eras))


@dataclass(frozen=True)
class MetricRule:
    id: str
    name: str
    written: tuple[str, ...]


@dataclass(frozen=True)
class TailCut:
    """A word where a metric phrase ends, unless one of `unless` follows it (增长, but not 增长率)."""

    word: str
    unless: tuple[str, ...]
    opens: bool = False  # at a phrase's start it names the change of what follows (增加果农收益): skipped

METRIC_WORD_KINDS = frozenset({"term", "head_prefix", "suffix", "of", "predicate_lead", "list_end", "tail_word",
                               "share_lead", "subject_end", "act", "rank_topic", "anaphora", "place_class",
                               "measure_end", "count_of", "stage", "thing", "inner_word", "threshold", "negation",
                               "topic_open", "topic_close"})


@dataclass(frozen=True)
class Metrics:
    lexicon: tuple[MetricRule, ...]
    head_markers: tuple[UserPattern, ...]  # list markers and ordinals before a metric phrase
    head_patterns: tuple[UserPattern, ...]  # time expressions trimmed from its head
    head_words: tuple[str, ...]  # scope, time and filler words trimmed from its head
    tail_cuts: tuple[TailCut, ...]
    words: WordLists  # the plain word-list kinds (METRIC_WORD_KINDS)
    head_unless: tuple[tuple[str, tuple[str, ...]], ...] = ()  # a head word not cut before these (共|享)


def read_metrics(path: Path) -> tuple[list[RawRule], Metrics]:
    _, raw = read_rule_file(path, frozenset({"kind"}), frozenset({"name", "written", "words", "pattern", "unless",
                                                                                 "opens"}))
    lexicon: list[MetricRule] = []
    markers: list[UserPattern] = []
    patterns: list[UserPattern] = []
    head_words: list[str] = []
    guards: list[tuple[str, tuple[str, ...]]] = []
    cuts: list[TailCut] = []
    kinds = frozenset({"metric", "head_marker", "head_word", "tail_cut"}) | METRIC_WORD_KINDS
    for r in raw:
        kind = choice(r, "kind", kinds)
        if kind == "metric":
            lexicon.append(MetricRule(r.id, text(r, "name"), str_list(r, "written")))
        elif kind == "head_marker":
            markers.append(UserPattern(r.id, compile_pattern(r, text(r, "pattern"))))
        elif kind == "head_word":
            if ("words" in r.data) == ("pattern" in r.data):
                raise r.error("give exactly one of 'words' or 'pattern'")
            if "pattern" in r.data:
                patterns.append(UserPattern(r.id, compile_pattern(r, text(r, "pattern"))))
            else:
                head_words.extend(str_list(r, "words"))
                guards.extend((w, str_list(r, "unless", [])) for w in str_list(r, "words") if "unless" in r.data)
        elif kind == "tail_cut":
            unless = str_list(r, "unless", [])
            cuts.extend(TailCut(w, unless, flag(r, "opens", False)) for w in str_list(r, "words"))
        else:
            str_list(r, "words")
    seen: dict[str, str] = {}
    for m in lexicon:
        for w in m.written:
            if w in seen and seen[w] != m.id:
                rule = next(x for x in raw if x.id == m.id)
                raise rule.error(f"written form {w!r} already belongs to {seen[w]!r}")
            seen[w] = m.id
    return raw, Metrics(tuple(lexicon), tuple(markers), tuple(patterns), tuple(head_words), tuple(cuts),
                        WordLists.of(raw, METRIC_WORD_KINDS), tuple(guards))


TABLE_WORD_KINDS = frozenset({"target_column", "level_column", "rank_column", "change_column", "share_column",
                              "row_number", "total_row", "residual_row", "per_prefix", "unit_label",
                              "caption_label", "caption_end"})


@dataclass(frozen=True)
class Tables:
    cell_rule: str  # the id every table-cell fact carries
    words: WordLists


def read_tables(path: Path) -> tuple[list[RawRule], Tables]:
    _, raw = read_rule_file(path, frozenset({"kind"}), frozenset({"words"}))
    cells = []
    for r in raw:
        if choice(r, "kind", TABLE_WORD_KINDS | {"cell"}) == "cell":
            cells.append(r.id)
        else:
            str_list(r, "words")
    if len(cells) != 1:
        raise (raw[0].error if raw else RawRule(str(path), 1, "-", {}).error)(
            f"tables.yaml needs exactly one entry of kind 'cell' (found {len(cells)})")
    return raw, Tables(cells[0], WordLists.of(raw, TABLE_WORD_KINDS))
