"""Figures in running text: offsets into raw text, the overlap policy, ranges, lists, tables."""
from __future__ import annotations

import logging
from datetime import date

import pytest

from pipeline.facts.extract import extract_document, extract_text
from pipeline.figures.finder import longest_first
from pipeline.records import Document, Figure
from pipeline.rules.compiler import Rules

PUBLISHED = date(2024, 4, 26)


def facts(text: str, rules: Rules, **kw: object) -> list:
    out = extract_text(text, rules, published=PUBLISHED, **kw)  # type: ignore[arg-type]
    for f in out:  # every fact's offsets slice the raw text to its mention
        assert text[f.start:f.end] == f.text
    return out


def test_figure_split_across_broken_lines_points_at_raw_text(rules: Rules) -> None:
    raw = "余杭持续推进知识产权证券化改革创新，截至目前，已成功发行5\n\n单知识产权证券化产品，累计融资金额5.5亿余元。"
    found = {f.text: f for f in facts(raw, rules)}
    assert found["5\n\n单"].value == 5 and found["5\n\n单"].unit == "单"
    assert raw.index("5\n\n单") == found["5\n\n单"].start
    assert found["5.5亿余元"].value == 550_000_000


@pytest.mark.parametrize("text, expected", [
    ("年度目标为10\n单独申报项目完成。", []),  # 10 and 单 are in two paragraphs: no figure
    ("专利数量增长约\n3件。", [("3件", "exact")]),  # 约 ends the paragraph before
    ("专利数量为3-\n5件。", [("5件", "exact")]),  # no range across paragraphs
    ("全市排名第\n3家企业获批。", [("3家", "exact")]),  # the ordinal exclusion (第3家) stops at 第
])
def test_nothing_reads_across_a_paragraph_break(rules: Rules, text: str, expected: list) -> None:
    # Short lines are not joined: each is a paragraph of its own once normalised.
    assert [(f.text, f.qualifier) for f in facts(text, rules)] == expected


def test_figure_interrupted_by_a_caption(rules: Rules) -> None:
    raw = "去年以来全市知识产权工作成效显著，高价值发明专利拥有量57\n\n\n\n知识产权地方行\n\n48件，同比增长31.7%。"
    out = facts(raw, rules)
    first = out[0]
    assert first.value == 5748 and first.unit == "件"
    assert first.text.startswith("57") and first.text.endswith("48件")
    assert out[1].value == pytest.approx(31.7) and out[1].type == "change"
    assert out[1].metric == first.metric


def test_full_width_and_traditional_text(rules: Rules) -> None:
    out = facts("有效註冊商標１１８．３３萬件，同比增長１２．５％", rules)
    assert [(f.value, f.unit) for f in out] == [(1_183_300, "件"), (pytest.approx(12.5), "%")]
    assert out[0].text == "１１８．３３萬件"


def test_pinyin_a_converter_inserted_stays_inside_the_mention(rules: Rules) -> None:
    out = facts("著作權登記總量突破200萬(wàn)件，同比增長(zhǎng)22.33%，提高0.5個(gè)百分點", rules)
    assert [(f.text, f.value, f.unit, f.type) for f in out] == [
        ("200萬(wàn)件", 2_000_000, "件", "level"), ("22.33%", 22.33, "%", "change"),
        ("0.5個(gè)百分點", 0.5, "pp", "change")]
    assert facts("面积(km)为12个", rules)[0].text == "12个"  # a gloss needs a tone mark


def test_longest_match_first_policy() -> None:
    short = Figure(1, 3, 3, "名", "count", "exact", "unit.count")
    long = Figure(0, 3, 3, "rank", "rank", "exact", "rank.ordinal")
    other = Figure(5, 8, 10, "件", "count", "exact", "unit.count")
    assert longest_first([short, other, long]) == [long, other]


def test_tie_goes_to_rank_rules(rules: Rules) -> None:
    out = facts("2022年度全球创新指数排名14位，较去年上升7位", rules)
    assert [(f.text, f.unit, f.type) for f in out] == [("14位", "rank", "rank"), ("7位", "rank", "change")]


def test_ranges_give_two_facts(rules: Rules) -> None:
    out = facts("审查周期缩短至3-5天，费用降低20%—30%", rules)
    assert [(f.text, f.value, f.qualifier) for f in out][:2] == [("3", 3, "lower_bound"), ("5天", 5, "upper_bound")]
    assert [(f.text, f.qualifier) for f in out][2:] == [("20%", "lower_bound"), ("30%", "upper_bound")]


def test_list_sharing_one_unit(rules: Rules) -> None:
    out = facts("出口额和进口额分别接近9700亿和4000亿元", rules)
    assert [(f.text, f.value, f.unit) for f in out] == [("9700亿", 9.7e11, "CNY"), ("4000亿元", 4e11, "CNY")]


def test_decrease_is_negative(rules: Rules) -> None:
    out = facts("专利代理机构数量同比下降5.2%", rules)
    assert out[0].value == pytest.approx(-5.2) and out[0].type == "change"


def test_minus_sign(rules: Rules) -> None:
    out = facts("利润增速为-3.5%", rules)
    assert out[0].value == pytest.approx(-3.5) and out[0].text == "-3.5%"


def test_not_figures(rules: Rules) -> None:
    text = ("2023年4月26日，东政发〔2022〕35号印发《“十四五”国家知识产权保护和运用规划》，"
            "第二批试点名单、第24届中国专利奖，围绕“2+4+X”产业和5G技术，培育一批企业。")
    assert facts(text, rules) == []


def test_markdown_table_cells(rules: Rules) -> None:
    text = ("| 序号 | 指标 | 2022年 | 目标值 2025年 |\n|---|---|---|---|\n"
            "| 1 | 有效发明专利数量（件） | 2,806 | 4000 |\n| 2 | 常住人口（万人） | 839.45 | - |\n")
    out = facts(text, rules)
    assert [(f.text, f.value, f.unit, f.type, f.period) for f in out] == [
        ("2,806", 2806, "件", "level", "2022"), ("4000", 4000, "件", "target", "2025"),
        ("839.45", 8_394_500, "人", "level", "2022")]
    assert out[0].metric == "有效发明专利数量" and out[0].rule == "table.cell"


def test_tab_table_with_per_capita_unit(rules: Rules) -> None:
    text = "序号\t主要指标\t基期值\t目标值\n\t\t2021 年\t2025 年\n1\t每万人口发明专利拥有量（件）\t25.8\t35\n"
    out = facts(text, rules)
    assert [(f.value, f.unit, f.type, f.period) for f in out] == [(25.8, "件", "level", "2021"), (35, "件", "target", "2025")]
    assert facts("编号\t指标\n1\t专利（件/万人）\t3.2\n2\t商标（件/万人）\t4\n", rules)[0].metric == "每万人专利"


def test_a_table_naming_no_year_takes_its_sections_year_else_the_titles(rules: Rules) -> None:
    table = "| 地区 | 有效发明专利（件） |\n|---|---|\n| 杭州市 | 122800 |\n"
    assert [f.period for f in facts(table, rules, title="2022年浙江省知识产权发展报告")] == ["2022"]
    assert [f.period for f in facts("2021年各市专利情况如下。\n" + table, rules, title="浙江省报告")] == ["2021"]
    assert [f.period for f in facts(table, rules, title="浙江省知识产权发展报告")] == [None]


def test_relative_years_use_the_publication_date(rules: Rules) -> None:
    out = facts("去年，全市完成知识产权质押融资金额284亿元。今年以来新增商标1.2万件。", rules)
    assert [f.period for f in out] == ["2023", "2024"]
    assert [f.period for f in extract_text("去年新增商标1.2万件", rules, published=None)] == [None]


def test_plan_documents_make_targets(rules: Rules) -> None:
    out = facts("红木家具质量检验项目覆盖率达到92%以上。", rules, title="某市知识产权强县建设工作方案（2022-2025年）")
    assert (out[0].type, out[0].period, out[0].qualifier) == ("target", "2025", "lower_bound")
    achieved = facts("2015年全市专利申请5.2万件。到2020年专利申请达到8万件。", rules, title="某市知识产权“十三五”规划")
    assert [(f.type, f.period) for f in achieved] == [("level", "2015"), ("target", "2020")]


def test_table_rows_name_their_region(rules: Rules) -> None:
    text = ("浙江省各市知识产权主要指标\n\n"
            "| 地区 | 有效发明专利（件） | 增长率（%） |\n|---|---|---|\n"
            "| 杭州市 | 122800 | 12.5 |\n| 宁波 | 45000 | 8.1 |\n| 全省 | 365000 | 9.9 |\n| 其他 | 100 | 1.0 |\n")
    out = facts(text, rules, title="浙江省知识产权发展报告")
    by_cell = {f.text: f for f in out}
    assert by_cell["122800"].region == "杭州市" and by_cell["122800"].region_code == "330100000000"
    assert by_cell["45000"].region == "宁波市"
    assert by_cell["365000"].region == "浙江省"
    assert by_cell["100"].region is None
    assert by_cell["12.5"].unit == "%" and by_cell["122800"].metric_id == "metric.patent.invention.valid"


def test_metric_ids_map_several_writings_to_one(rules: Rules) -> None:
    out = facts("全市有效发明专利拥有量1.2万件。全市有效发明专利数量1.3万件。每万人有效发明专利16.5件。", rules)
    assert [f.metric_id for f in out] == ["metric.patent.invention.valid", "metric.patent.invention.valid",
                                          "metric.patent.invention.valid_per_10k"]
    assert facts("全市新增某种奇怪指标12个", rules)[0].metric_id is None


def test_searching_places_only_where_figures_need_them_changes_no_region(rules: Rules) -> None:
    """The region index reads only the paragraphs of figures, up to their last figure;
    every figure of the sample reports gets the region a full index gives it."""
    from pathlib import Path

    from pipeline.ingest.reports import discover, read_document
    from pipeline.text.normalise import normalise
    from pipeline.text.segment import sentences

    raw = Path(__file__).resolve().parent.parent / "raw"
    reader, checked = rules.regions, 0
    for path in discover(raw):
        doc = read_document(path, raw, {})
        assert isinstance(doc, Document)
        text = normalise(doc.text).text
        figures = rules.finder.find(text)
        scope = reader.document_scope(doc.title, text)
        full, needed = reader.index(text, scope), reader.index(text, scope, [f.start for f in figures])
        sents = sentences(text)
        for fig in figures:
            sent = sents.span_at(fig.start)
            entity_from = reader.entity_end(text, sent)
            assert reader.region_for(needed, text, fig.start, sent, entity_from) == \
                reader.region_for(full, text, fig.start, sent, entity_from), (path.name, text[sent[0]:fig.end])
            checked += 1
    assert checked > 250


def test_extraction_sets_no_logger_level(rules: Rules, monkeypatch: pytest.MonkeyPatch) -> None:
    """Setting a level clears the level cache of every logger in the process (hundreds
    in a Prefect flow's): loading jieba quietly is done once, not per place name."""
    text = "余杭持续推进知识产权证券化改革，余杭全区专利授权量达到3件。"
    extract_text(text, rules)  # jieba loads here
    levels: list[object] = []
    monkeypatch.setattr(logging.Logger, "setLevel", lambda self, level: levels.append(level))
    assert facts(text, rules)
    assert levels == []


ORDER_SCRIPT = """
import json, sys
from pathlib import Path
from pipeline.facts.extract import extract_document
from pipeline.ingest.reports import read_document
from pipeline.rules.compiler import load_rules
raw = Path(sys.argv[1])
rules = load_rules(Path(sys.argv[2]))
out = {}
for name in sys.argv[3:]:
    doc = read_document(raw / name, raw, {})
    out[name] = [[f.start, f.end, f.value, f.metric, f.region, f.period, f.type] for f in extract_document(doc, rules)]
print(json.dumps(out, ensure_ascii=False))
"""


def test_a_report_gives_the_same_facts_whatever_ran_before_it() -> None:
    """Two reports extracted in both orders, each order in a fresh process: no state carries over."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    first, second = "000_5d7395224a19708a.txt", "003_bbaa1da155221246.txt"

    def run(*names: str) -> dict[str, list[object]]:
        done = subprocess.run([sys.executable, "-c", ORDER_SCRIPT, str(root / "raw"), str(root / "rules"), *names],
                              capture_output=True, text=True, check=True, cwd=root, timeout=300)
        result: dict[str, list[object]] = json.loads(done.stdout)
        return result

    forward, backward = run(first, second), run(second, first)
    assert forward == backward and len(forward[first]) > 20 and len(forward[second]) > 20


def test_every_rule_a_fact_carries_is_in_a_rule_file(rules: Rules) -> None:
    """The `rule` column only ever holds ids of rule files: over the sample reports and every example."""
    from pathlib import Path

    from pipeline.ingest.reports import discover, read_document
    from pipeline.rules.files import example_items

    raw = Path(__file__).resolve().parent.parent / "raw"
    seen: set[str] = set()
    for path in discover(raw):
        doc = read_document(path, raw, {})
        assert isinstance(doc, Document)
        seen.update(f.rule for f in extract_document(doc, rules))
    for rule in rules.examples:
        for _, item in example_items(rule):
            seen.update(f.rule for f in extract_text(item["text"], rules, title=item.get("title")))
    assert seen <= rules.ids, seen - rules.ids
    assert {"table.cell", "unit.percent.fraction", "unit.percent.half", "unit.percent.words"} <= seen
