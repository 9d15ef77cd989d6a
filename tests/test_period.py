"""The attribution stage's period: the year a figure refers to, against a fixed publication date."""
from __future__ import annotations

from datetime import date

from pipeline.attribute.period import dominant_year, opens_section, section_years
from pipeline.rules.compiler import Rules
from pipeline.text.segment import sentences

PUBLISHED = date(2024, 4, 26)


def period(text: str, rules: Rules, mention: str, published: date | None = PUBLISHED, **kw: object) -> str | None:
    at = text.index(mention)
    return rules.periods.resolve(text, at, sentences(text).span_at(at), published, **kw)  # type: ignore[arg-type]


def test_explicit_years_and_spans(rules: Rules) -> None:
    assert period("2023年，全市新增商标3件", rules, "3件") == "2023"
    assert period("截至2023年底，累计备案3618项", rules, "3618项") == "2023"
    assert period("2021年—2022年共引进9家", rules, "9家") == "2022"


def test_relative_and_present_words_use_the_publication_date(rules: Rules) -> None:
    assert period("去年，全市完成融资284亿元", rules, "284亿元") == "2023"
    assert period("目前已聚集机构31家", rules, "31家") == "2024"
    assert period("去年新增1.2万件", rules, "1.2万件", published=None) is None


def test_a_baseline_is_never_the_period(rules: Rules) -> None:
    assert period("2023年企业1353家，较去年同期增加200家", rules, "200家") == "2023"


def test_open_words_and_streaks_give_no_year(rules: Rules) -> None:
    assert period("近年来开展25个项目", rules, "25个") is None
    assert period("连续3年位居全省前十", rules, "3年") is None


def test_from_takes_the_start_year_of_a_running_span(rules: Rules) -> None:
    text = "2003年以来，专利授权量从1.7万件增长至212万件"
    assert period(text, rules, "1.7万件") == "2003" and period(text, rules, "212万件") == "2024"


def test_plan_periods_and_default_years(rules: Rules) -> None:
    assert period("“十四五”期间新增100件", rules, "100件") == "2025"
    assert period("新增100件", rules, "100件", default_year=2025) == "2025"
    text = "# 杭州 2022年十件事\n新增100件"
    assert period(text, rules, "100件", sections=section_years(text)) == "2022"


def test_sections_and_their_years() -> None:
    assert dominant_year({"2022": 2, "2023": 2, "2021": 1}) == "2023"  # a tie goes to the later year
    assert dominant_year({}) is None
    assert opens_section("# 标题\n") and not opens_section("正文继续。")
