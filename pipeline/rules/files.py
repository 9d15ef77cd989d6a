"""Reading one rule file: YAML with line numbers, key checks, duplicate ids.

Every file in `rules/` has the same outer shape::

    rules:
      - id: unit.jian          # unique across all rule files
        ...kind-specific keys...
        examples: [...]        # run by tests/test_rule_examples.py
        negatives: [...]

Errors name the file, the line, the rule id and the reason, because the
people editing these files are analysts, not programmers.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import yaml

from pipeline.records import Fact

COMMON_KEYS = frozenset({"id", "examples", "negatives", "note"})
E = TypeVar("E", bound=StrEnum)


class RuleError(ValueError):
    """A rule file is invalid; the message names file, line, rule id and reason."""

    def __init__(self, file: Path | str, line: int | None, rule_id: str | None, reason: str) -> None:
        self.file, self.line, self.rule_id, self.reason = str(file), line, rule_id, reason
        where = f"{file}:{line}" if line else str(file)
        rule = f" rule {rule_id!r}:" if rule_id else ""
        super().__init__(f"{where}:{rule} {reason}")


@dataclass(frozen=True)
class RawRule:
    """One entry of a rule file, validated for shape but not yet compiled."""

    file: str
    line: int
    id: str
    data: dict[str, Any]

    def error(self, reason: str) -> RuleError:
        return RuleError(self.file, self.line, self.id, reason)


# libyaml's parser when PyYAML was built with it (the wheels are): rule files
# are read at every run and by every worker, and the pure-Python parser took
# about 3 s for them.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FACT_FIELDS = frozenset(f.name for f in fields(Fact))  # what an example may expect of a fact
_ITEM_KEYS = frozenset({"text", "title", "expect", "absent", "scope", "known_failure", "note"})  # of an example


def _line_map(text: str, path: Path) -> tuple[Any, list[int]]:
    """Parse YAML and return the data plus the 1-based line of each entry of `rules`."""
    loader = _LOADER(text)  # one parse gives both the nodes (with lines) and the data
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise RuleError(path, line, None, f"invalid YAML: {getattr(exc, 'problem', exc)}") from None
    finally:
        loader.dispose()
    lines: list[int] = []
    if isinstance(node, yaml.MappingNode):
        _no_key_twice(node, path, None)
        for key, value in node.value:
            if key.value == "rules" and isinstance(value, yaml.SequenceNode):
                lines = [item.start_mark.line + 1 for item in value.value]
    return data, lines


def _no_key_twice(node: yaml.Node, path: Path, rule_id: str | None) -> None:
    """Refuse a mapping that gives a key twice: YAML keeps the last one silently
    (a second `examples:` would drop the first list unseen)."""
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _no_key_twice(item, path, rule_id)
    elif isinstance(node, yaml.MappingNode):
        ids = [v.value for k, v in node.value if k.value == "id" and isinstance(v, yaml.ScalarNode)]
        rule_id = ids[0] if ids else rule_id
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value in seen:
                raise RuleError(path, key.start_mark.line + 1, rule_id,
                                f"key {key.value!r} given twice (the second would replace the first)")
            seen.add(str(key.value))
            _no_key_twice(value, path, rule_id)


def read_rule_file(
    path: Path,
    required: frozenset[str],
    optional: frozenset[str] = frozenset(),
    top_level: frozenset[str] = frozenset(),
) -> tuple[dict[str, Any], list[RawRule]]:
    """Read `path`, check every rule's keys, and return (top-level mapping, rules)."""
    data, lines = _line_map(path.read_text(encoding="utf-8"), path)
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise RuleError(path, 1, None, "expected a mapping with a 'rules:' list")
    unknown_top = set(data) - {"rules"} - top_level
    if unknown_top:
        raise RuleError(path, 1, None, f"unknown top-level key(s): {', '.join(sorted(unknown_top))}")
    allowed = required | optional | COMMON_KEYS
    out: list[RawRule] = []
    for n, entry in enumerate(data["rules"]):
        line = lines[n] if n < len(lines) else 0
        if not isinstance(entry, dict):
            raise RuleError(path, line, None, "each rule must be a mapping with an 'id'")
        rule_id = entry.get("id")
        if not isinstance(rule_id, str) or not rule_id.strip():
            raise RuleError(path, line, None, "rule has no 'id'")
        unknown = set(entry) - allowed
        if unknown:
            raise RuleError(path, line, rule_id, f"unknown key(s): {', '.join(sorted(unknown))}")
        missing = required - set(entry)
        if missing:
            raise RuleError(path, line, rule_id, f"missing key(s): {', '.join(sorted(missing))}")
        for key in ("examples", "negatives"):
            if key in entry and not isinstance(entry[key], list):
                raise RuleError(path, line, rule_id, f"'{key}' must be a list")
            for item in entry.get(key) or ():
                extra = sorted(map(str, set(item) - _ITEM_KEYS)) if isinstance(item, dict) else []
                if extra:
                    raise RuleError(path, line, rule_id, f"an example has no such key: {', '.join(extra)}"
                                    " (an unquoted value with a comma splits in two: quote it)")
                expect = item.get("expect") if isinstance(item, dict) else None
                odd = sorted(set(expect) - _FACT_FIELDS) if isinstance(expect, dict) else []
                if odd:
                    raise RuleError(path, line, rule_id, f"an example expects no such field: {', '.join(map(str, odd))}"
                                    " (an unquoted value with a comma splits in two: quote it)")
        out.append(RawRule(str(path), line, rule_id, entry))
    return data, out


def check_unique(rules: list[RawRule]) -> None:
    """Refuse duplicate ids across every rule file."""
    seen: dict[str, RawRule] = {}
    for rule in rules:
        first = seen.get(rule.id)
        if first is not None:
            raise rule.error(f"duplicate id (first defined at {first.file}:{first.line})")
        seen[rule.id] = rule


def str_list(rule: RawRule, key: str, default: list[str] | None = None) -> tuple[str, ...]:
    """A key holding one string or a list of non-empty strings."""
    value = rule.data.get(key, default)
    if value is None:
        raise rule.error(f"missing '{key}'")
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise rule.error(f"'{key}' must be a string or a list of non-empty strings")
    return tuple(value)


def choice(rule: RawRule, key: str, allowed: frozenset[str], default: str | None = None) -> str:
    """A key whose value must be one of `allowed`."""
    value = rule.data.get(key, default)
    if value not in allowed:
        raise rule.error(f"'{key}' is {value!r}; expected one of {', '.join(sorted(allowed))}")
    return str(value)


def member(rule: RawRule, key: str, enum: type[E], default: E | None = None) -> E:
    """A key whose value must be a member of a closed set (dimension, qualifier, type)."""
    value = rule.data.get(key, default)
    try:
        return enum(str(value))
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise rule.error(f"'{key}' is {value!r}; expected one of {allowed}") from None


def number(rule: RawRule, key: str, default: float) -> float:
    """A key holding a number (not a boolean)."""
    value = rule.data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise rule.error(f"'{key}' must be a number")
    return float(value)


def flag(rule: RawRule, key: str, default: bool) -> bool:
    """A key holding true or false."""
    value = rule.data.get(key, default)
    if not isinstance(value, bool):
        raise rule.error(f"'{key}' must be true or false")
    return value


def text(rule: RawRule, key: str) -> str:
    """A key holding one non-empty string."""
    value = rule.data.get(key)
    if not isinstance(value, str) or not value:
        raise rule.error(f"'{key}' must be a non-empty string")
    return value


def example_items(rule: RawRule) -> list[tuple[str, dict[str, Any]]]:
    """(list name, item) for every example and negative of a rule, items normalised to mappings."""
    out = []
    for key in ("examples", "negatives"):
        for item in rule.data.get(key) or []:
            out.append((key, {"text": item} if isinstance(item, str) else dict(item)))
    return out
