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
from pipeline.rules.load import example_items, load_rules

RULES = load_rules(Path(__file__).resolve().parent.parent / "rules")
PUBLISHED = date(2024, 4, 26)
CASES = [(rule, kind, item) for rule in RULES.examples for kind, item in example_items(rule)
         if not rule.file.endswith("regions.yaml")]


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
    assert {"units.yaml", "scales.yaml", "qualifiers.yaml", "cues.yaml", "ranks.yaml", "periods.yaml",
            "exclusions.yaml", "metrics.yaml"} <= files


@pytest.mark.parametrize("rule,kind,item", CASES,
                         ids=[f"{Path(r.file).name}:{r.id}:{k}:{i['text'][:12]}" for r, k, i in CASES])
def test_rule_example(rule: Any, kind: str, item: dict[str, Any]) -> None:
    if item.get("known_failure"):
        pytest.xfail(f"{rule.id}: {item['known_failure']}")
    facts = extract_text(item["text"], RULES, published=PUBLISHED)
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
