"""A stand-in extractor for tests of the run around extraction."""
from __future__ import annotations

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
