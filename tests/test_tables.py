"""The figures stage for tables: cells as figures, unit and period from headers."""
from __future__ import annotations

from pipeline.figures.tables import TableFigure
from pipeline.rules.compiler import Rules


def cells(text: str, rules: Rules) -> list[TableFigure]:
    return rules.tables.find(text)


def test_markdown_table_with_units_in_row_headers(rules: Rules) -> None:
    text = ("| 序号 | 指标 | 2022年 | 目标值 2025年 |\n|---|---|---|---|\n"
            "| 1 | 有效发明专利数量（件） | 2,806 | 4000 |\n| 2 | 常住人口（万人） | 839.45 | - |\n")
    out = cells(text, rules)
    assert [(text[t.figure.start:t.figure.end], t.figure.value, t.figure.unit, t.type, t.period) for t in out] == [
        ("2,806", 2806, "件", "level", "2022"), ("4000", 4000, "件", "target", "2025"),
        ("839.45", 8_394_500, "人", "level", "2022")]
    assert out[0].metric == "有效发明专利数量" and out[0].figure.rule == "table.cell" == rules.tables.cell_rule
    start, end = out[0].span  # the whole table, from its first cell to its last
    assert start == text.index("序号") and end == text.rindex("-") + 1


def test_per_capita_header_puts_its_denominator_in_the_metric(rules: Rules) -> None:
    out = cells("编号\t指标\n1\t专利（件/万人）\t3.2\n2\t商标（件/万人）\t4\n", rules)
    assert [(t.figure.value, t.figure.unit, t.metric) for t in out] == [
        (3.2, "件", "每万人专利"), (4, "件", "每万人商标")]


def test_rank_columns_and_place_rows(rules: Rules) -> None:
    out = cells("地区\t有效发明专利（件）\t排名\n杭州市\t12000\t1\n宁波市\t8000\t2\n", rules)
    assert [(t.figure.value, t.figure.unit, t.type, t.label) for t in out] == [
        (12000, "件", "level", "杭州市"), (1, "rank", "rank", "杭州市"),
        (8000, "件", "level", "宁波市"), (2, "rank", "rank", "宁波市")]
    assert out[0].column_metric == "有效发明专利"


def test_header_units_combine_scale_words(rules: Rules) -> None:
    unit = rules.tables.read_unit("研发经费（亿元）")
    assert unit is not None and (unit.unit, unit.multiplier) == ("CNY", 1e8)
    assert rules.tables.read_unit("研发经费") is None and rules.tables.read_unit("研发经费（某某）") is None


def test_lines_that_are_not_a_table(rules: Rules) -> None:
    assert cells("全市新增注册商标3.98万件。\n同比增长31.7%。", rules) == []
    assert cells("a|b\n", rules) == []  # one pipe is not a table row
    assert cells("2021年\t2022年\n2021\t2022\n", rules) == []  # no header rows above data: not a table


def test_a_table_with_no_unit_takes_the_one_the_text_writes_its_numbers_with(rules: Rules) -> None:
    table = "\n\n".join(["地区", "2023", "2022", "增长率", "1", "余杭", "5200", "4100", "27%", "2", "萧山", "3100",
                         "2900", "7%", "3", "滨江", "2800", "2500", "12%", "4", "临平", "1900", "1800", "6%"])
    text = "2023年，余杭区全年专利授权量达5200件，居全市首位，萧山区次之。\n\n" + table
    known = rules.tables.units_written(rules.finder.find(text), text)
    assert known["5200"].unit == "件" and "居全市首位" not in known
    out = rules.tables.find(text, known)
    assert [(text[t.figure.start:t.figure.end], t.figure.unit, t.period) for t in out][:2] == [
        ("5200", "件", "2023"), ("4100", "件", "2022")]
    assert [t.figure.unit for t in rules.tables.find(table, {})] == ["%"] * 4  # no unit anywhere: no counts
    scaled = rules.tables.units_written(rules.finder.find("授权量达0.52万件"), "授权量达0.52万件")
    assert scaled == {}  # 0.52万件 writes 5200, not 0.52: no unit for a cell 0.52
