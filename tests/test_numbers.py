"""The number reader: Arabic, Chinese, mixed and traditional numerals."""
from __future__ import annotations

import cn2an
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.figures.numbers import read_number
from pipeline.text.normalise import fold_chars


@pytest.mark.parametrize("text,value", [
    ("3.98", 3.98), ("4,063", 4063), ("1,234,567.5", 1234567.5), ("0.5", 0.5),
    ("三千五百", 3500), ("两", 2), ("十二", 12), ("二十", 20), ("一百零五", 105), ("十", 10),
    ("两万", 20000), ("一亿三千万", 130_000_000), ("五百万", 5_000_000), ("三千", 3000),
    ("9万7,411", 97411), ("1亿2000万", 120_000_000), ("二〇二三", 2023),
])
def test_reads(text: str, value: float) -> None:
    assert read_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "一一", "百", "4,06", "1,2345", "abc", "三四五六x", "十百"])
def test_rejects_malformed(text: str) -> None:
    assert read_number(text) is None


def test_traditional_and_full_width_fold_before_reading() -> None:
    assert read_number(fold_chars("兩萬")) == 20000
    assert read_number(fold_chars("９萬７,４１１")) == 97411
    assert read_number(fold_chars("一億")) == 100_000_000


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=999_999_999))
def test_chinese_numerals_round_trip(n: int) -> None:
    """cn2an writes the numeral, our reader must read it back."""
    assert read_number(cn2an.an2cn(n)) == n


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=10**12))
def test_thousands_separators_round_trip(n: int) -> None:
    assert read_number(f"{n:,}") == n
    assert read_number(str(n)) == n


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False))
def test_decimals_round_trip(d: object) -> None:
    assert read_number(str(d)) == pytest.approx(float(str(d)))
