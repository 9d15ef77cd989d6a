"""The figures stage: numbers with scale words and units, ranks and forms, found by the compiled finder."""
from __future__ import annotations

import pytest

from pipeline.figures.finder import _in_paragraph, longest_first
from pipeline.records import Dimension, Figure, Qualifier
from pipeline.rules.compiler import Rules
from pipeline.text.normalise import normalise


def found(text: str, rules: Rules) -> list[tuple[str, float, str, str]]:
    norm = normalise(text).text
    return [(norm[f.start:f.end], f.value, f.unit, f.qualifier) for f in rules.finder.find(norm)]


def test_number_scale_and_unit_combine(rules: Rules) -> None:
    assert found("新增注册商标3.98万件，融资284亿元，达1.5亿条", rules) == [
        ("3.98万件", 39800, "件", "exact"), ("284亿元", 2.84e10, "CNY", "exact"), ("1.5亿条", 1.5e8, "条", "exact")]


def test_chinese_numerals_and_inner_markers(rules: Rules) -> None:
    assert found("三千余件，6200余头，4万多名", rules) == [
        ("三千余件", 3000, "件", "lower_bound"), ("6200余头", 6200, "头", "lower_bound"),
        ("4万多名", 40000, "名", "lower_bound")]


def test_a_bare_scale_word_counts_only_after_a_qualifier(rules: Rules) -> None:
    assert found("融资近亿元", rules) == [("亿元", 1e8, "CNY", "approx")]
    assert found("亿元项目", rules) == []


def test_qualifier_words_before_and_after(rules: Rules) -> None:
    assert found("超170万人次，10件以上，约30%，不超过100万元", rules) == [
        ("170万人次", 1.7e6, "人次", "lower_bound"), ("10件", 10, "件", "lower_bound"),
        ("30%", 30, "%", "approx"), ("100万元", 1e6, "CNY", "upper_bound")]


def test_ranges_and_lists_sharing_a_unit(rules: Rules) -> None:
    assert found("审查周期3-5天", rules) == [("3", 3, "day", "lower_bound"), ("5天", 5, "day", "upper_bound")]
    assert found("分别接近9700亿和4000亿元", rules) == [("9700亿", 9.7e11, "CNY", "exact"),
                                                  ("4000亿元", 4e11, "CNY", "exact")]
    # unscaled counts do not pair (and 一个 is an article, excluded)
    assert [(t, v) for t, v, _, _ in found("两个胜诉一个调解", rules)] == [("两个", 2)]


def test_spaces_after_a_range_or_list_joiner(rules: Rules) -> None:
    """The finder tests what ends the text before a figure, spaces cut, before it runs its pattern."""
    for text in ("审查周期3 - 5天", "审查周期3\u2002至\u20025天"):
        assert [(v, q) for _, v, _, q in found(text, rules)] == [(3, "lower_bound"), (5, "upper_bound")]
    assert [t for t, _, _, _ in found("分别接近9700亿 和\u20024000亿元", rules)] == ["9700亿", "4000亿元"]


def test_forms_without_a_unit_word(rules: Rules) -> None:
    assert [(t, round(v, 2)) for t, v, _, _ in found("占三分之一，达1/4，百分之三十，过半", rules)] == [
        ("三分之一", 33.33), ("1/4", 25.0), ("百分之三十", 30.0), ("半", 50.0)]
    figs = rules.finder.find("占三分之一")
    assert figs[0].implied == "share" and not figs[0].listable and figs[0].rule == "unit.percent.fraction"


def test_ranks_need_their_context(rules: Rules) -> None:
    assert found("居全省第3名", rules) == [("第3名", 3, "rank", "exact")]
    assert found("位列全国第三", rules) == [("第三", 3, "rank", "exact")]
    assert found("进入全国前十", rules) == [("前十", 10, "rank", "upper_bound")]
    assert found("第三批试点", rules) == []


def test_exclusions_drop_dates_and_labels(rules: Rules) -> None:
    assert found("2023年4月26日，第24届中国专利奖，东政发〔2022〕35号", rules) == []
    norm = "2023年新增3件"
    assert (0, 5) in rules.finder.excluded_spans(norm)


def test_minus_sign_is_part_of_the_mention(rules: Rules) -> None:
    assert found("利润增速为-3.5%", rules) == [("-3.5%", -3.5, "%", "exact")]


def test_longest_first_policy() -> None:
    short = Figure(1, 3, 3, "名", Dimension.COUNT, Qualifier.EXACT, "unit.count")
    long = Figure(0, 3, 3, "rank", Dimension.RANK, Qualifier.EXACT, "rank.ordinal")
    other = Figure(5, 8, 10, "件", Dimension.COUNT, Qualifier.EXACT, "unit.count")
    assert longest_first([short, other, long]) == [long, other]
    tie_count = Figure(0, 2, 14, "位", Dimension.COUNT, Qualifier.EXACT, "unit.count")
    tie_rank = Figure(0, 2, 14, "rank", Dimension.RANK, Qualifier.EXACT, "rank.ordinal")
    assert longest_first([tie_count, tie_rank]) == [tie_rank]  # a tie goes to the rank rule


@pytest.mark.parametrize("text, pos, reach, expected", [
    ("全市专利授权量\n约3件", 9, 12, "约"),
    ("全市专利授权量约3件", 8, 4, "授权量约"),  # no line break: `reach` characters
    ("约3件", 1, 12, "约"),
])
def test_the_words_before_a_figure_stop_at_its_paragraph(text: str, pos: int, reach: int, expected: str) -> None:
    assert _in_paragraph(text, pos, reach) == expected
