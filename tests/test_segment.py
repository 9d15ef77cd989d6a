"""The text stage: sentences and clauses of normalised text, and words stripped from a phrase's end."""
from __future__ import annotations

from pipeline.text.segment import ClauseStarts, EndWords, clause_start, sentences


def test_sentences_end_at_terminal_punctuation_and_line_ends() -> None:
    text = "全市新增商标3.98万件。同比增长31.7%！\n居全省第3名"
    s = sentences(text)
    assert [text[a:b] for a, b in zip(s.starts, s.ends)] == ["全市新增商标3.98万件。", "同比增长31.7%！", "居全省第3名"]
    assert text[slice(*s.span_at(text.index("31.7")))] == "同比增长31.7%！"
    assert sentences("") .span_at(0) == (0, 0)


def test_a_clause_starts_after_the_last_clause_mark() -> None:
    text = "截至2023年底，全市有效发明专利1.2万件，同比增长12%"
    pos = text.index("12%")
    assert text[clause_start(text, pos):pos] == "同比增长"
    assert clause_start(text, pos, floor=pos - 2) == pos - 2
    starts = ClauseStarts(text)
    asked = [text.index(n) for n in ("1.2", "12%")]
    assert [starts(pos) for pos in asked] == [clause_start(text, pos) for pos in asked]


def test_end_words_are_stripped_repeatedly_longest_first() -> None:
    words = EndWords(("达", "达到", "了", "为"))
    assert words.strip("专利授权量达到了") == "专利授权量"
    assert words.strip("专利授权量为") == "专利授权量"
    assert words.strip("到达") == "到"  # 达 at the end is one of the words; 到 is not
    assert EndWords(()).strip("专利 ") == "专利"
    long = "专利" * 200 + "达到"  # past the search window: found all the same
    assert words.strip(long) == "专利" * 200
