"""Long reports extract window by window (pipeline.text.windows), with the same facts as whole.

The window size is a parameter, so small windows cut the sample reports in
many places; each cut must change nothing.
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from pipeline.facts.extract import extract_document, extract_text
from pipeline.ingest.reports import read_document
from pipeline.rules.compiler import Rules
from pipeline.runs import chunks
from pipeline.storage.parquet import facts_table
from pipeline.text import windows

RAW = Path(__file__).resolve().parent.parent / "raw"
SAMPLES = sorted(p for p in RAW.iterdir() if p.suffix == ".txt")
BODY = "全市知识产权工作稳步推进，各项指标保持增长，服务体系不断完善，保护力度持续加大，成效明显。"  # 45 characters, closed
WHOLE = 10**9  # a window larger than any text here


def test_cuts_fall_after_closed_body_lines_only() -> None:
    text = "\n".join([BODY] * 6) + "\n"
    line = len(BODY) + 1
    assert windows.cuts(text, 90) == [2 * line, 4 * line]  # the first line starts 90 or more after the last
    assert all(text[c - 1] == "\n" for c in windows.cuts(text, 1))


@pytest.mark.parametrize("before", [
    "丽水：优化知识产权服务",  # a section heading
    "# 二、主要成效",  # a Markdown heading
    "全市知识产权工作稳步推进，各项指标保持增长，服务体系不断完善，保护力度持续加大，并且",  # open: continues
    "| 指标 | 2023年 | 2022年 | 增长率 | 备注 | 来源 | 说明 | 口径 | 单位 | 数值 |",  # a table row
    "图1 全市专利授权量",  # a short line: maybe a caption
])
def test_no_cut_after_a_line_that_may_join_what_follows(before: str) -> None:
    text = f"{BODY}\n{before}\n{BODY}\n"
    after_before = len(BODY) + 1 + len(before) + 1
    assert after_before not in windows.cuts(text, 1)


def test_no_cut_next_to_a_table_row_even_across_blank_lines() -> None:
    text = f"{BODY}\n\n\n| 指标 | 数值 |\n\n{BODY}\n{BODY}\n"
    assert windows.cuts(text, 1) == [len(text) - len(BODY) - 1]  # only between the two body lines


def test_text_with_no_safe_place_stays_one_window() -> None:
    assert windows.cuts("专利授权量达到3.5万件\n" * 2000, 100) == []


@pytest.mark.parametrize("size", [300, 3000])
@pytest.mark.parametrize("name", [p.name for p in SAMPLES] + ["all samples"])
def test_sample_reports_give_the_same_facts_in_windows(rules: Rules, name: str, size: int) -> None:
    text = "\n\n".join(p.read_text(encoding="utf-8") for p in SAMPLES) if name == "all samples" \
        else (RAW / name).read_text(encoding="utf-8")
    assert windows.cuts(text, size), "the text must be cut for this test to mean anything"
    whole = extract_text(text, rules, title=name, window=WHOLE)
    assert whole
    assert extract_text(text, rules, title=name, window=size) == whole


def test_a_section_cut_by_a_window_takes_the_year_written_most_in_all_of_it(rules: Rules) -> None:
    text = ("# 一、专利工作\n"
            "全市2022年专利授权量达到3.5万件，比上年有所增长，发展态势良好，各项工作稳步推进。\n"
            "全市商标注册量达到1.2万件，品牌建设成效明显，各地积极推进商标品牌战略，取得显著成效。\n"
            "2023年全市地理标志工作稳步推进，2023年新增地理标志2件，全年各项工作取得了新的进展。\n")
    cut = text.index("2023年全市")
    assert windows.cuts(text, 60) == [cut]  # the section's 2023s are all in the second window
    facts = extract_text(text, rules, window=60)
    assert [(f.text, f.period) for f in facts] == [("3.5万件", "2022"), ("1.2万件", "2023"), ("2件", "2023")]
    assert facts == extract_text(text, rules, window=WHOLE)


def test_the_region_a_heading_set_holds_in_the_next_window(rules: Rules) -> None:
    text = ("丽水：优化知识产权服务\n"
            "全市专利授权量达到3.5万件，比上年有所增长，发展态势良好，各项工作稳步推进，成效明显。\n"
            "新增商标注册量1.2万件，品牌建设成效明显，各地积极推进商标品牌战略，取得显著成效。\n")
    assert len(windows.cuts(text, 40)) == 1
    facts = extract_text(text, rules, title="浙江省知识产权年报", window=40)
    assert [(f.text, f.region) for f in facts] == [("3.5万件", "丽水市"), ("1.2万件", "丽水市")]
    assert facts == extract_text(text, rules, title="浙江省知识产权年报", window=WHOLE)


def test_a_chunk_builds_a_reports_table_window_by_window(rules: Rules, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = read_document(SAMPLES[1], RAW, {})
    expected = facts_table(extract_document(doc, rules))
    parts: list[int] = []
    real = chunks.facts_table

    def counting(facts: list) -> pa.Table:
        parts.append(len(facts))
        return real(facts)

    monkeypatch.setattr(windows, "WINDOW_CHARS", 500)
    monkeypatch.setattr(chunks, "facts_table", counting)
    table = chunks._facts_of(doc, rules)
    assert len(parts) > 3  # one table per window
    assert table.equals(expected)
