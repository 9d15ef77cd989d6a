"""The records between stages: `@record` behaves as a frozen dataclass does."""
from __future__ import annotations

import dataclasses
import pickle

import pytest

from pipeline.records import Dimension, Figure, Qualifier, record


def _figure(**changes: object) -> Figure:
    fields: dict[str, object] = {"start": 3, "end": 9, "value": 39800.0, "unit": "件",
                                 "dimension": Dimension.COUNT, "qualifier": Qualifier.EXACT, "rule": "unit.jian"}
    return Figure(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_record_takes_positional_and_keyword_fields_and_fills_defaults() -> None:
    by_position = Figure(3, 9, 39800.0, "件", Dimension.COUNT, Qualifier.EXACT, "unit.jian")
    assert by_position == _figure()
    assert (by_position.bare, by_position.implied, by_position.listable) == (False, None, True)
    assert _figure(bare=True).bare is True


def test_a_record_is_frozen_and_hashable_by_value() -> None:
    fig = _figure()
    with pytest.raises(dataclasses.FrozenInstanceError):
        fig.start = 4  # type: ignore[misc]
    assert hash(fig) == hash(_figure())
    assert fig != _figure(value=1.0)


def test_replace_repr_and_pickle_are_the_dataclass_ones() -> None:
    fig = _figure()
    assert dataclasses.replace(fig, qualifier=Qualifier.APPROX) == _figure(qualifier=Qualifier.APPROX)
    assert pickle.loads(pickle.dumps(fig)) == fig
    assert repr(fig).startswith("Figure(start=3, end=9, value=39800.0")
    assert [f.name for f in dataclasses.fields(fig)][:3] == ["start", "end", "value"]


def test_a_record_refuses_fields_it_cannot_build() -> None:
    with pytest.raises(TypeError, match="plain defaults only"):
        @record
        class WithFactory:
            items: list[int] = dataclasses.field(default_factory=list)
