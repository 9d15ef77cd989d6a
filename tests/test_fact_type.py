"""The attribution stage's type: level, change, share, rank or target, and the sign, from cue words."""
from __future__ import annotations

from pipeline.attribute.fact_type import Kind
from pipeline.rules.compiler import Rules
from pipeline.text.segment import clause_start, sentences


def kinds(text: str, rules: Rules, plan_year: int | None = None) -> list[tuple[str, str, int]]:
    """(mention, type, sign) of every figure, classified as extraction does, in order."""
    figures = rules.finder.find(text)
    sents = sentences(text)
    marks = rules.types.target_marks(text)
    out, previous = [], None
    for fig in figures:
        sent = sents.span_at(fig.start)
        target = rules.types.target_sentence(marks, sent)
        kind = rules.types.classify(text, fig, clause_start(text, fig.start, sent[0]), previous, plan_year, target)
        previous = (fig, kind)
        out.append((text[fig.start:fig.end], kind.type.value, kind.sign))
    return out


def test_adjacent_change_cues_and_decreases(rules: Rules) -> None:
    assert kinds("同比增长31.7%", rules) == [("31.7%", "change", 1)]
    assert kinds("同比下降5.2%", rules) == [("5.2%", "change", -1)]
    assert kinds("较去年同期增加200家", rules) == [("200家", "change", 1)]


def test_new_items_are_a_level(rules: Rules) -> None:
    assert kinds("全市新增注册商标3.98万件", rules) == [("3.98万件", "level", 1)]


def test_to_after_a_change_word_makes_a_level(rules: Rules) -> None:
    assert kinds("授权率从40%提升至86%", rules)[-1] == ("86%", "level", 1)


def test_shares_from_clause_cues_and_forms(rules: Rules) -> None:
    assert kinds("占全国总量的3.67%", rules) == [("3.67%", "share", 1)]
    assert kinds("近八成企业", rules) == [("八成", "share", 1)]
    assert kinds("3.2万件，占全国总量", rules)[0][1] == "level"  # 占 after the figure says nothing of it


def test_targets_from_sentences_and_plans(rules: Rules) -> None:
    assert kinds("到2025年，有效发明专利达到1000件以上", rules) == [("1000件", "target", 1)]
    assert kinds("红木家具检验覆盖率达到92%", rules, plan_year=2025) == [("92%", "target", 1)]
    assert kinds("居全省第3名", rules, plan_year=2025) == [("第3名", "rank", 1)]  # a rank stays a rank


def test_a_listed_figure_takes_the_previous_ones_type(rules: Rules) -> None:
    assert kinds("同比分别下降28%和53%", rules) == [("28%", "change", -1), ("53%", "change", -1)]


def test_kind_is_a_frozen_record() -> None:
    kind = Kind(type="level", sign=1)  # type: ignore[arg-type]
    assert kind == Kind(type="level", sign=1)  # type: ignore[arg-type]


def test_a_rate_in_brackets_after_a_change_is_that_change_again(rules: Rules) -> None:
    assert kinds("较上年增加1250件(8.4%)", rules) == [("1250件", "change", 1), ("8.4%", "change", 1)]
    assert kinds("较上年减少1966件（26.36%）", rules) == [("1966件", "change", -1), ("26.36%", "change", -1)]
    assert kinds("发明专利(4612件)", rules) == [("4612件", "level", 1)]
