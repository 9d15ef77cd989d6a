"""Property-based tests of the whole extractor (hypothesis).

Numbers written every way a report writes them must come out of
`extract_text` with the right value, and no text at all may make it raise or
return a fact whose offsets do not slice the input to the fact's text.
`tests/test_numbers.py` covers the number reader alone; these go through
normalisation, the figure finder and attribution.
"""
from __future__ import annotations

import functools
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import cn2an
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.facts.extract import extract_text
from pipeline.records import Fact
from pipeline.rules.compiler import Rules, load_rules
from pipeline.text.normalise import _FULL_WIDTH_GROUPING, _char_table, fold_chars, normalise
from pipeline.text.segment import CLAUSE_MARKS, ClauseStarts, clause_start
from pipeline.text.windows import cuts

RULES: Rules = load_rules(Path(__file__).resolve().parent.parent / "rules")  # once per module
FULL_WIDTH = str.maketrans("0123456789,.", "０１２３４５６７８９，．")
SENTENCE = "全市专利授权量达到{}。"

# PROPERTY_EXAMPLES=20000 pytest tests/test_properties.py hunts longer than the suite's default.
HUNT = int(os.environ.get("PROPERTY_EXAMPLES", "0"))
NUMBERS = settings(max_examples=HUNT or 150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXTS = settings(max_examples=HUNT or 400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_fact(text: str, mention: str) -> Fact:
    facts = extract_text(text, RULES)
    assert [f.text for f in facts] == [mention], facts
    return facts[0]


# --- the number reader, through the full extractor ---------------------------------------

@NUMBERS
@given(st.integers(min_value=1, max_value=10**9))
def test_arabic_with_wan(n: int) -> None:
    fact = _only_fact(SENTENCE.format(f"{n}万件"), f"{n}万件")
    assert (fact.value, fact.unit, fact.dimension) == (n * 10_000, "件", "count")


@NUMBERS
@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**5), places=2))
def test_decimal_with_yi_yuan(d: Decimal) -> None:
    text = f"企业获得知识产权质押贷款{d}亿元。"
    fact = _only_fact(text, f"{d}亿元")
    assert fact.unit == "CNY" and fact.value == pytest.approx(float(d) * 1e8)


SCALES = sorted(RULES.finder.scales.items())


@NUMBERS
@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**4), places=2), st.sampled_from(SCALES))
def test_every_scale_word(d: Decimal, scale: tuple[str, float]) -> None:
    """Each scale word of rules/scales.yaml after an Arabic number: 3.2百万元, 1.5万亿元."""
    word, factor = scale
    mention = f"{d}{word}元"
    fact = _only_fact(f"企业获得贷款{mention}。", mention)
    assert fact.unit == "CNY" and fact.value == pytest.approx(float(d) * factor)


@NUMBERS
@given(st.integers(min_value=1, max_value=10**8), st.integers(min_value=0, max_value=9999))
def test_arabic_groups_joined_by_wan(high: int, low: int) -> None:
    """9万7,411件: Arabic groups joined by a scale word inside one number."""
    mention = f"{high}万{low:,}件"
    assert _only_fact(SENTENCE.format(mention), mention).value == high * 10_000 + low


@NUMBERS
@given(st.integers(min_value=1000, max_value=10**12))
def test_thousands_separators(n: int) -> None:
    mention = f"{n:,}件"
    assert _only_fact(SENTENCE.format(mention), mention).value == n


@NUMBERS
@given(st.integers(min_value=1, max_value=10**9), st.sampled_from(["", "万", "亿"]))
def test_full_width_digits(n: int, scale: str) -> None:
    mention = f"{n}".translate(FULL_WIDTH) + scale + "件"
    fact = _only_fact(SENTENCE.format(mention), mention)
    assert fact.value == n * {"": 1, "万": 10_000, "亿": 100_000_000}[scale]


@NUMBERS
@given(st.integers(min_value=1000, max_value=10**12))
def test_full_width_digits_with_ascii_separators(n: int) -> None:
    mention = f"{n:,}".translate(str.maketrans("0123456789", "０１２３４５６７８９")) + "件"
    assert _only_fact(SENTENCE.format(mention), mention).value == n


@NUMBERS
@given(st.integers(min_value=1000, max_value=10**12))
@example(1234)
def test_full_width_digits_with_full_width_separators(n: int) -> None:
    """１，２３４件: in full-width text the separator is full-width too (NFKC folds it to a comma)."""
    mention = f"{n:,}".translate(FULL_WIDTH) + "件"
    assert _only_fact(SENTENCE.format(mention), mention).value == n


@NUMBERS
@given(st.decimals(min_value=Decimal("0.1"), max_value=Decimal(1000), places=1))
def test_full_width_decimal_percent(d: Decimal) -> None:
    mention = f"{d}".translate(FULL_WIDTH) + "％"
    fact = _only_fact(f"同比增长{mention}。", mention)
    assert fact.unit == "%" and fact.value == pytest.approx(float(d))


@NUMBERS
@given(st.integers(min_value=2, max_value=999_999_999))
def test_chinese_numerals(n: int) -> None:
    mention = cn2an.an2cn(n) + "件"
    assert _only_fact(SENTENCE.format(mention), mention).value == n


# --- any text: never an exception, offsets always slice the input to the fact's text -----

CJK = "金华市浙江省全国专利商标授权量申请发明有效企业同比增长下降占比排名居位第名达到约近超过余以上以下左右" \
      "万亿千百十两一二三四五六七八九零〇半倍元美件家项个吨天年月日度分之点率额量数"
ASCII = "0123456789.,-%/~ abc"
FULL = "０１２３４５６７８９．，－％／～＋（）：；！？\u3000"
PUNCT = "，。；：！？、“”《》（）【】|#*\t\n\r"
FRAGMENTS = [
    "万件", "亿元", "万元", "美元", "百分点", "个百分点", "%", "倍", "第3名", "首位", "前十", "2023年",
    "２０２３年", "同比增长", "下降", "占", "近", "超", "以上", "余", "约", "分别为", "和", "至", "-",
    "百分之", "三分之一", "1/3", "一半", "\n\n", "\r\n", "| 指标 | 数值 |\n|---|---|\n", "\t", "# ",
    "金华市", "浙江省", "义乌", "全国", "发明专利", "授权量", "《金华市2023年知识产权报告》", "十四五",
    "１２．５万件", "9万7,411", "1,234", "3.98", "0.5", "一亿三千万", "二〇二三",
]

chars = st.text(alphabet=st.sampled_from(CJK + ASCII + FULL + PUNCT), max_size=120)
report_like = st.lists(st.one_of(st.sampled_from(FRAGMENTS), chars), max_size=30).map("".join)


def _check_offsets(text: str) -> None:
    for fact in extract_text(text, RULES):
        assert 0 <= fact.start < fact.end <= len(text), fact
        assert text[fact.start:fact.end] == fact.text, fact


@TEXTS
@given(chars)
def test_any_characters(text: str) -> None:
    _check_offsets(text)


@TEXTS
@given(report_like)
@example("全市专利授权量达到１２３４万件，同比增长１５．２％。\n")
@example("金华市\n专利授权量达到1.2万\n件，\r\n同比增长15%。")
def test_report_like_text(text: str) -> None:
    _check_offsets(text)


@TEXTS
@given(st.text(max_size=80))
def test_any_unicode(text: str) -> None:
    _check_offsets(text)


# --- the fast forms of per-figure scans: same answers as the scans --------------------

def _walk_back(text: str, pos: int, floor: int) -> int:
    """A clause start the slow way: walk back to the last clause mark."""
    i = pos - 1
    while i >= floor and text[i] not in CLAUSE_MARKS:
        i -= 1
    return i + 1


@TEXTS
@given(report_like, st.data())
def test_clause_start_matches_walking_back(text: str, data: st.DataObject) -> None:
    pos = data.draw(st.integers(0, len(text)))
    floor = data.draw(st.integers(0, pos))
    assert clause_start(text, pos, floor) == _walk_back(text, pos, floor)


@TEXTS
@given(report_like, st.lists(st.tuples(st.integers(0, 400), st.integers(0, 400)), max_size=20))
def test_clause_starts_asked_in_any_order_match_walking_back(text: str, asks: list[tuple[int, int]]) -> None:
    starts = ClauseStarts(text)
    for asked_pos, asked_floor in sorted(asks) + asks:  # in text order (the cheap path), then as drawn
        pos = min(asked_pos, len(text))
        floor = min(asked_floor, pos)
        assert starts(pos, floor) == _walk_back(text, pos, floor)


@TEXTS
@given(report_like)
@example("金华市\n专利授权量达到1.2万\n件，\r\n同比增长15%。\n\n图1 专利\n")
def test_offset_map_points_every_character_at_its_raw_source(text: str) -> None:
    view = normalise(text)
    assert len(view.to_raw) == len(view.text) + 1
    assert view.to_raw[len(view.text)] == len(text)
    folded = fold_chars(text)
    for i, ch in enumerate(view.text):
        raw = view.to_raw[i]
        assert ch == "\n" or folded[raw] == ch, (i, raw)
    with pytest.raises(IndexError):
        view.to_raw[len(view.text) + 1]


# Paragraphs of the sample reports, and made-up ones, in any order: cut into windows
# of any size (pipeline.text.windows), a text gives the facts it gives whole.
SAMPLE_LINES = sorted({line for path in (Path(__file__).resolve().parent.parent / "raw").glob("*.txt")
                       for line in path.read_text(encoding="utf-8").splitlines() if line.strip()})
paragraphs = st.lists(st.sampled_from(SAMPLE_LINES) | report_like | st.just(""), min_size=1, max_size=40)


@settings(max_examples=HUNT or 80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(paragraphs.map("\n".join), st.integers(min_value=1, max_value=800))
def test_windows_change_no_fact(text: str, window: int) -> None:
    starts = [0, *cuts(text, window)]
    parts = [normalise(text[a:b]).text for a, b in zip(starts, [*starts[1:], len(text)])]
    assert "\n".join(parts) == normalise(text).text  # cut between paragraphs only
    assert extract_text(text, RULES, window=window) == extract_text(text, RULES, window=len(text) + 1)


TRADITIONAL = "國際專利權數據們說開發區經濟與實現臺灣廣東發展"


@TEXTS
@given(st.text(alphabet=st.sampled_from(TRADITIONAL + "０１２３４５％，。abc123專利"), max_size=60) | st.text(max_size=60))
@example(TRADITIONAL + "０１２３４５６７８９％．＋－")  # 34 characters to fold: the table path
@example("专利１２３４件，增长５％")  # a few: the replace path
def test_folding_few_or_many_characters_is_the_table(text: str) -> None:
    expected = _FULL_WIDTH_GROUPING.sub(",", text) if "，" in text else text
    assert fold_chars(text) == expected.translate(_char_table())


HAN = "专利授权量达到全年累计完成发明拥有实现质押融资金额企业获得授信共受理商标注册申请杭州市新增高价值培育项目的了和与及"


@TEXTS
@given(st.text(alphabet=st.sampled_from(HAN), min_size=1, max_size=24) |
       st.text(alphabet=st.sampled_from(HAN + "AB12.%，"), min_size=1, max_size=24))
@example("专利授权量达到")
@example("高价值发明专利")  # a term of rules/metrics.yaml, tagged n
def test_tagging_matches_jiebas_tagger(text: str) -> None:
    assert RULES.words.tagged(text) == [(w.word, w.flag) for w in _jieba_tagger().cut(text, HMM=False)]


@functools.cache
def _jieba_tagger() -> Any:
    """jieba's own tagger over a dictionary with the same terms, to check `Words.tagged` against."""
    import jieba
    import jieba.posseg

    tokenizer = jieba.Tokenizer()
    for term in RULES.words.terms:
        tokenizer.add_word(term, tag="n")
    return jieba.posseg.POSTokenizer(tokenizer)
