"""Every example and negative written in rules/*.yaml, run through the extractor.

Examples live beside the rules they illustrate (as Duckling keeps a corpus
beside each rule); this file only runs them. An item marked `known_failure`
is expected to fail (strict: when it starts passing, remove the mark).
Relative years resolve against a fixed publication date, 2024-04-26.
"""
from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pipeline.facts.extract import extract_text
from pipeline.records import Fact
from pipeline.rules.compiler import RULE_FILES, load_rules
from pipeline.rules.files import example_items

RULES = load_rules(Path(__file__).resolve().parent.parent / "rules")
PUBLISHED = date(2024, 4, 26)
# regions.yaml examples whose `expect` is a place name run on the gazetteer
# (tests/test_gazetteer.py); those expecting a fact run here, as every other file's.
CASES = [(rule, kind, item) for rule in RULES.examples for kind, item in example_items(rule)
         if not rule.file.endswith("regions.yaml") or isinstance(item.get("expect"), dict)]


def _matches(fact: Fact, expect: dict[str, Any]) -> bool:
    for key, want in expect.items():
        got = getattr(fact, key)
        if key == "value":
            if not math.isclose(got, float(want), rel_tol=1e-6):
                return False
        elif key == "period":
            if got != (str(want) if want is not None else None):
                return False
        elif got != want:
            return False
    return True


def test_every_rule_file_has_examples() -> None:
    files = {Path(r.file).name for r, _, _ in CASES}
    assert set(RULE_FILES) <= files


def _param(rule: Any, kind: str, item: dict[str, Any]) -> Any:
    """A case; one marked `known_failure` runs as a strict expected failure, so a fix shows."""
    marks = [pytest.mark.xfail(strict=True, reason=f"{rule.id}: {item['known_failure']}")] \
        if item.get("known_failure") else []
    name = f"{Path(rule.file).name}:{rule.id}:{kind}:{item['text'][:12]}"
    return pytest.param(rule, kind, item, marks=marks, id=name)


@pytest.mark.parametrize("rule,kind,item", [_param(*case) for case in CASES])
def test_rule_example(rule: Any, kind: str, item: dict[str, Any]) -> None:
    facts = extract_text(item["text"], RULES, published=PUBLISHED, title=item.get("title"))
    for fact in facts:
        assert fact.text == item["text"][fact.start:fact.end]
    where = f"{rule.file}:{rule.line} rule {rule.id!r} {kind} {item['text']!r}; facts: " + \
        ", ".join(f"{f.text}={f.value}{f.unit}/{f.qualifier}/{f.type}/{f.period}" for f in facts)
    if "expect" in item:
        assert any(_matches(f, item["expect"]) for f in facts), where
    if "absent" in item:
        assert not any(item["absent"] in f.text or (f.text in item["absent"] and len(f.text) >= len(item["absent"]))
                       for f in facts), where
    if "expect" not in item and "absent" not in item:
        assert facts == [], where
