"""Records passed between the stages.

Every record is a frozen dataclass: stages build new records, they never
mutate the ones they were given, so a stage can be rerun or cached safely.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class Document:
    """One report as read from the raw folder, text exactly as decoded."""

    doc_id: str  # stable id derived from the relative path (survives edits)
    file: str  # path relative to the raw folder, POSIX separators (the `doc` column)
    path: Path  # absolute path on disk
    text: str  # decoded text, no normalisation: fact offsets index into it
    sha256: str  # of the raw bytes
    encoding: str  # codec that decoded the bytes (utf-8, utf-8-sig, gb18030)
    title: str | None = None
    published: date | None = None


@dataclass(frozen=True)
class ReadError:
    """A report that could not be read; reported, never fatal to the run."""

    file: str
    reason: str


@dataclass(frozen=True)
class Fact:
    """One figure with its attribution and provenance (see the fact model spec)."""

    doc: str
    doc_id: str
    start: int  # raw character offsets, end exclusive
    end: int
    text: str  # == document.text[start:end]
    value: float
    unit: str
    dimension: str
    qualifier: str
    type: str
    metric: str | None
    metric_id: str | None
    region: str | None
    region_code: str | None
    period: str | None
    sentence: str
    rule: str
    rules_version: str
