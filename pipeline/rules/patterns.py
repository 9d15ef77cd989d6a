"""Regular expressions built from rule files: word alternations, and the patterns analysts write.

Word lists become one alternation, longest word first, so `不超过` is tried
before `超` wherever the two start at the same place (`alternation`).

A pattern an analyst writes can backtrack catastrophically (`(a+)+b`), so
each is probed on hostile texts when the rules load (`compile_pattern`
refuses one that is slow there) and time-limited whenever it runs
(`UserPattern`): a pattern that still runs away on a real report stops that
report with a `RuleTimeout` naming the rule, never the run.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import regex

from pipeline.rules.files import RawRule
from pipeline.text.words import Memo

# Texts that make a backtracking-prone pattern show itself at load time:
# long runs of one character, of digits, of CJK numerals and of brackets.
PROBES = ("a" * 3000 + "!", "1" * 3000 + "年!", "第" * 1500 + "x", "“" + "十" * 3000, "《" * 1000 + "2023")
PROBE_SECONDS = 0.5
RULE_SECONDS = 2.0  # time limit for one user-written pattern on one text...
RULE_SECONDS_PER_MB = 4.0  # ...plus this much per MB of that text
MEMO_CHARS = 64  # longer texts are not memoised (cut_head)


class RuleTimeout(RuntimeError):
    """A rule's pattern ran past its time limit on a report (catastrophic backtracking)."""

    def __init__(self, rule_id: str, seconds: float) -> None:
        super().__init__(f"rule {rule_id!r} took over {seconds:.1f} s on this report "
                         "(catastrophic backtracking?); fix its pattern")
        self.rule_id = rule_id


def alternation(words: Iterable[str]) -> str:
    """One regex alternative per distinct word, escaped, longest first."""
    return "|".join(regex.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))


def compile_pattern(rule: RawRule, pattern: str) -> regex.Pattern[str]:
    """Compile a pattern written in `rule`; refuse one that does not compile or backtracks badly."""
    try:
        compiled = regex.compile(pattern)
    except regex.error as exc:
        raise rule.error(f"pattern does not compile: {exc}") from None
    for probe in PROBES:
        try:
            for _ in compiled.finditer(probe, timeout=PROBE_SECONDS):
                pass
        except TimeoutError:
            raise rule.error(f"pattern is too slow (over {PROBE_SECONDS} s on a {len(probe)}-character probe): "
                             "look for nested repetition such as (a+)+") from None
    return compiled


def whole_span(m: regex.Match[str]) -> tuple[int, int]:
    """A match's span with its groups, those in a lookbehind included.

    A pattern led by a fixed word is found by a fast scan, one led by a
    character class (a digit) tries every position: `(?<=(?P<lead>\\d{1,2}\\s*))月…`
    finds what `\\d{1,2}\\s*月…` finds, tens of times faster, and this gives it the
    same span.
    """
    start = m.start()
    for g in range(1, m.re.groups + 1):
        if 0 <= (at := m.start(g)) < start:
            start = at
    return start, m.end()


def time_limit(length: int) -> float:
    """Seconds a user pattern may take on a text of `length` characters."""
    return RULE_SECONDS + RULE_SECONDS_PER_MB * length / 1e6


@dataclass(frozen=True)
class UserPattern:
    """A pattern from a rule file, run under a time limit that names its rule when exceeded."""

    rule_id: str
    pattern: regex.Pattern[str]

    def finditer(self, text: str, pos: int = 0, endpos: int | None = None) -> Iterator[regex.Match[str]]:
        limit = time_limit(len(text) if endpos is None else endpos - pos)
        try:
            yield from self.pattern.finditer(text, pos, len(text) if endpos is None else endpos, timeout=limit)
        except TimeoutError:
            raise RuleTimeout(self.rule_id, limit) from None

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> regex.Match[str] | None:
        limit = time_limit(len(text) if endpos is None else endpos - pos)
        try:
            return self.pattern.search(text, pos, len(text) if endpos is None else endpos, timeout=limit)
        except TimeoutError:
            raise RuleTimeout(self.rule_id, limit) from None


@dataclass(frozen=True)
class CombinedPattern:
    """Several rules' patterns joined into one regex (for speed), time-limited as a whole.

    When the whole runs away, each part is tried alone on the same text to
    name the rule to blame; if none runs away alone, all are named.
    """

    pattern: regex.Pattern[str]
    parts: tuple[UserPattern, ...]
    # cut_head's answers: a pure function of its text, and metric heads recur all through a corpus
    _heads: Memo = field(default_factory=Memo, compare=False, repr=False)

    def _blame(self, text: str, limit: float) -> RuleTimeout:
        for part in self.parts:
            try:
                part.pattern.search(text, timeout=limit)
            except TimeoutError:
                return RuleTimeout(part.rule_id, limit)
        return RuleTimeout(" or ".join(p.rule_id for p in self.parts), limit)

    def cut_head(self, text: str) -> str:
        """`text` without what the pattern matches at its start (a `^`-anchored pattern's
        `sub("", text)`, without trying the rest of the text)."""
        if len(text) > MEMO_CHARS:  # (long keys would make the memo big)
            return self._cut_head(text)
        head: str = self._heads.get(text, self._cut_head)
        return head

    def _cut_head(self, text: str) -> str:
        limit = time_limit(len(text))
        try:
            m = self.pattern.match(text, timeout=limit)
        except TimeoutError:
            raise self._blame(text, limit) from None
        return text[m.end():] if m else text

    def search(self, text: str) -> regex.Match[str] | None:
        limit = time_limit(len(text))
        try:
            return self.pattern.search(text, timeout=limit)
        except TimeoutError:
            raise self._blame(text, limit) from None
