"""The text stage: one canonical form of the text, and a map back to raw offsets."""
from __future__ import annotations

from pipeline.text.normalise import (
    fold_chars,
    is_block,
    is_open,
    is_table_line,
    normalise,
    paragraphs,
    without_glosses,
)


def test_folding_keeps_length_and_makes_one_form() -> None:
    raw = "有效註冊商標１１８．３３萬件，同比增長１２．５％"
    folded = fold_chars(raw)
    assert len(folded) == len(raw)
    assert folded == "有效注册商标118.33万件，同比增长12.5%"


def test_small_form_percent_and_signs_fold_like_full_width_ones() -> None:
    assert fold_chars("增加1,250件(8.4﹪)，减少﹣2﹪") == "增加1,250件(8.4%)，减少-2%"


def test_full_width_comma_groups_thousands_only_between_full_width_digits() -> None:
    assert fold_chars("商标１，２３４件") == "商标1,234件"
    assert fold_chars("分别为12，345件") == "分别为12，345件"  # two numbers, a Chinese comma


def test_text_without_anything_to_fold_is_returned_as_is() -> None:
    text = "全市新增注册商标3.98万件。"
    assert fold_chars(text) is text


def test_a_paragraph_broken_across_lines_is_joined_and_maps_back() -> None:
    raw = "余杭持续推进知识产权证券化改革创新，截至目前，已成功发行5\n\n单知识产权证券化产品。"
    view = normalise(raw)
    assert "\n" not in view.text
    at = view.text.index("5单")
    assert raw[view.to_raw[at]] == "5" and raw[view.to_raw[at + 1]] == "单"
    assert view.raw_span(at, at + 2) == (raw.index("5\n\n单"), raw.index("5\n\n单") + 4)


def test_a_caption_inside_a_paragraph_moves_after_it() -> None:
    raw = "去年以来全市知识产权工作成效显著，高价值发明专利拥有量57\n\n知识产权地方行\n\n48件，同比增长31.7%。"
    view = normalise(raw)
    first, second = view.text.split("\n")
    assert "拥有量5748件" in first and second == "知识产权地方行"
    at = first.index("5748件")
    assert raw[view.to_raw[at + 2]] == "4"  # the 48 after the caption, in the raw text


def test_short_lines_stay_paragraphs_of_their_own() -> None:
    assert normalise("一、专利\n二、商标\n三、地理标志").text == "一、专利\n二、商标\n三、地理标志"
    assert [len(p) for p in paragraphs("标题\n正文第一段。\n")] == [1, 1]


def test_blocks_and_table_lines() -> None:
    assert is_table_line("地区\t数量") and is_table_line("| 地区 | 数量 |") and not is_table_line("a|b")
    assert is_block("# 标题") and is_block("（三）加强保护") and is_block("第二章 总则") and is_block("丽水：优化服务")
    assert not is_block("全市新增注册商标3.98万件")
    assert is_open("全市新增注册商标3.98万件，同比增长31.7%，居全省") and not is_open("全市新增注册商标3.98万件。")


def test_pinyin_glosses_come_out_of_a_phrase_but_other_brackets_stay() -> None:
    assert without_glosses("每万人口发(fā)明专利拥有量（件）") == "每万人口发明专利拥有量（件）"
    assert without_glosses("面积(km)") == "面积(km)"
