"""The attribution stage's region: a document's scope, the places before a figure, table rows."""
from __future__ import annotations

from pipeline.attribute.region import RegionReader
from pipeline.rules.compiler import Rules
from pipeline.text.segment import sentences


def region(text: str, rules: Rules, mention: str, title: str | None = None) -> str | None:
    reader: RegionReader = rules.regions
    scope = reader.document_scope(title, text)
    at = text.index(mention)
    idx = reader.index(text, scope, [at])
    sent = sentences(text).span_at(at)
    found = reader.region_for(idx, text, at, sent, reader.entity_end(text, sent))
    return found.full_name if found else None


def test_the_document_scope_comes_from_the_title_then_the_opening(rules: Rules) -> None:
    assert rules.regions.document_scope("金华：创新引领", "正文") is not None
    scope = rules.regions.document_scope(None, "杭州市余杭区知识产权工作")
    assert scope is not None and scope.full_name == "杭州市余杭区"


def test_the_nearest_place_before_a_figure_wins(rules: Rules) -> None:
    assert region("浙江省知识产权工作。余杭区新增专利授权13949件", rules, "13949件") == "杭州市余杭区"
    assert region("2023年，全市新增注册商标3.98万件", rules, "3.98万件", title="台州市知识产权年报") == "台州市"


def test_the_field_of_a_comparison_is_not_the_figures_place(rules: Rules) -> None:
    assert region("余杭区专利授权量居全省第3名", rules, "第3名") == "杭州市余杭区"


def test_a_country_is_a_place_however_far_before_the_figure(rules: Rules) -> None:
    text = "外国申请人中，德国为3,105件，年减2.6%；法国是1,240件。"
    assert region(text, rules, "2.6%", title="智慧局专利统计") == "德国"
    assert region("全国专利行政执法工作考核连续3年位居第一", rules, "3年", title="浙江省年报") == "浙江省"


def test_places_listed_before_respectively_are_read_in_order(rules: Rules) -> None:
    text = "南山区、福田区和宝安区分别为410家、360家和290家。"
    scope = rules.regions.gazetteer.resolve("深圳市")
    places = rules.regions.listed_places(text, 0, text.index("410"), scope)
    assert [p.full_name for p in places] == ["深圳市南山区", "深圳市福田区", "深圳市宝安区"]
    assert rules.regions.listed_places("南山区专利企业分别为410家", 0, 12, scope) == []  # one place is no list


def test_one_companys_figures_have_no_region(rules: Rules) -> None:
    assert region("杭州市某某有限公司获得专利授权12件", rules, "12件") is None


def test_places_in_quotes_and_lists_are_not_the_figures(rules: Rules) -> None:
    assert region("发布《东阳市知识产权规划》，新增12件", rules, "12件", title="金华市年报") == "金华市"
    assert region("杭州、宁波等地共建成平台12个", rules, "12个", title="浙江省知识产权工作综述") == "浙江省"


def test_table_rows_name_places_totals_and_residuals(rules: Rules) -> None:
    scope = rules.regions.gazetteer.resolve("浙江省")
    row = rules.regions.table_row_region
    assert row("杭州市", scope)[0].full_name == "杭州市" and row("杭州市", scope)[1]  # type: ignore[union-attr]
    assert row("全省", scope) == (scope, True)
    assert row("其他", scope) == (None, True)
    assert row("有效发明专利（件）", scope) == (scope, False)


def test_a_metric_head_loses_a_list_of_places_it_opens_with(rules: Rules) -> None:
    assert rules.regions.strip_places("杭州、宁波专利授权量") == "专利授权量"
    assert rules.regions.strip_places("杭州专利授权量") == "专利授权量"
    assert rules.regions.strip_places("全国占比") == "全国占比"


def test_places_listed_before_figures_listed_in_one_clause_pair_up(rules: Rules) -> None:
    from pipeline.facts.extract import extract_text
    out = extract_text("全省专利授权稳步增长，杭州和宁波的授权量为1.3万件、0.9万件。", rules, title="浙江省年报")
    assert [(f.text, f.region) for f in out] == [("1.3万件", "杭州市"), ("0.9万件", "宁波市")]
    out = extract_text("杭州和宁波，全年授权量为1.3万件、0.9万件。", rules, title="浙江省年报")
    assert out[0].region == out[1].region  # places in another clause: no pairing
