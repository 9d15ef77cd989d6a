"""Records passed between the stages, and the closed sets their fields take values from.

Every record is a frozen dataclass: stages build new records, they never
mutate the ones they were given, so a stage can be rerun or cached safely.
The closed sets (dimension, qualifier, type) are `StrEnum`s: a value outside
them is refused where it enters (a rule file, a table header), and each
member is also its own string, so Parquet and pandas see plain text.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path


class Dimension(StrEnum):
    """What kind of quantity a figure is."""

    COUNT = "count"
    MONEY = "money"
    PERCENT = "percent"
    PERCENTAGE_POINT = "percentage_point"
    MULTIPLE = "multiple"
    RANK = "rank"
    DURATION = "duration"
    MASS = "mass"
    SCORE = "score"
    OTHER = "other"


class Qualifier(StrEnum):
    """Whether a figure is exact, approximate or a bound."""

    EXACT = "exact"
    APPROX = "approx"
    LOWER_BOUND = "lower_bound"
    UPPER_BOUND = "upper_bound"


class FactType(StrEnum):
    """What a figure says: an amount, a change against a baseline, a part of a whole, a position, a goal."""

    LEVEL = "level"
    CHANGE = "change"
    SHARE = "share"
    RANK = "rank"
    TARGET = "target"


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
class Figure:
    """A figure found in the normalised text (offsets into it, not the raw file).

    `implied` is the type the figure's form says by itself (a fraction or
    `成` is a share), `listable` whether it may pair into a range or a list
    sharing one unit; both come from the rule that matched (`rule`).
    """

    start: int
    end: int
    value: float
    unit: str
    dimension: Dimension
    qualifier: Qualifier
    rule: str
    bare: bool = False  # a bare scale word (亿元) or 半: needs a qualifier before it
    implied: FactType | None = None
    listable: bool = True


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
    dimension: Dimension
    qualifier: Qualifier
    type: FactType
    metric: str | None
    metric_id: str | None
    region: str | None
    region_code: str | None
    period: str | None
    sentence: str
    rule: str
    rules_version: str
