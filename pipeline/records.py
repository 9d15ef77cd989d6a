"""Records passed between the stages, and the closed sets their fields take values from.

Every record is a frozen dataclass (`@record` for those made once per figure
or mention, with a faster constructor): stages build new records, they never
mutate the ones they were given, so a stage can be rerun or cached safely.
The closed sets (dimension, qualifier, type) are `StrEnum`s: a value outside
them is refused where it enters (a rule file, a table header), and each
member is also its own string, so Parquet and pandas see plain text.
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TypeVar, dataclass_transform

T = TypeVar("T")


@dataclass_transform(frozen_default=True)
def record(cls: type[T]) -> type[T]:
    """`dataclass(frozen=True)` for the records made by the ten thousand per
    megabyte of text (figures, region mentions, facts).

    A frozen dataclass's `__init__` calls `object.__setattr__` once per field;
    this one writes the instance's `__dict__` directly, about three times
    faster, as the dataclass's generated code would if it could. Everything
    else is the frozen dataclass's own: assignment after construction raises,
    and eq, hash, repr, `replace()` and pickling are unchanged. Only fields
    with plain defaults are supported (no factories, no `__post_init__`).
    """
    cls = dataclass(frozen=True)(cls)
    own = fields(cls)  # type: ignore[arg-type]  # (a dataclass now)
    if hasattr(cls, "__post_init__") or any(f.default_factory is not MISSING or not f.init for f in own):
        raise TypeError(f"{cls.__name__}: @record supports plain fields with plain defaults only")
    params = ", ".join(f.name if f.default is MISSING else f"{f.name}=_default_{f.name}" for f in own)
    body = "".join(f"\n    d[{f.name!r}] = {f.name}" for f in own)
    namespace = {f"_default_{f.name}": f.default for f in own if f.default is not MISSING}
    exec(f"def __init__(self, {params}):\n    d = self.__dict__{body}", namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(cls, "__init__", init)  # noqa: B010 - mypy refuses assigning to a method
    return cls


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


@record
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


@record
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
