"""A stand-in extractor for tests of the run around extraction."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import pipeline.facts.extract
from pipeline.records import Document, Fact


def use_extractor(monkeypatch: pytest.MonkeyPatch, extract: Callable[[Document, Any], list[Fact]]) -> None:
    """Make `extract(doc, rules)` what a chunk runs on each report, as the report's one window."""
    def windows(doc: Document, rules: Any) -> Iterator[list[Fact]]:
        yield extract(doc, rules)

    monkeypatch.setattr(pipeline.facts.extract, "extract_document_windows", windows)


def count_facts(doc: Document, rules: Any) -> list[Fact]:
    """A stand-in extractor: every N件 is a fact."""
    return [
        Fact(doc=doc.file, doc_id=doc.doc_id, start=m.start(), end=m.end(), text=m.group(), value=float(m.group(1)),
             unit="件", dimension="count", qualifier="exact", type="level", metric=None, metric_id=None,
             region=None, region_code=None, period=None, sentence=doc.text, rule="test", rules_version=rules.version)
        for m in re.finditer(r"(\d+)件", doc.text)
    ]
