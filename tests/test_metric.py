"""The attribution stage's metric: the phrase naming what a figure measures, and its lexicon id."""
from __future__ import annotations

from pipeline.attribute.metric import pair_respectively
from pipeline.records import Dimension
from pipeline.rules.compiler import Rules
from pipeline.text.segment import clause_start


def metric(text: str, rules: Rules, mention: str, previous: str | None = None) -> str | None:
    start = text.index(mention)
    fig = next(f for f in rules.finder.find(text) if f.start == start)
    return rules.metrics.read(text, fig.start, fig.end, fig.dimension, clause_start(text, fig.start), previous,
                              unit=fig.unit)


def test_the_phrase_before_a_figure_trimmed_of_time_scope_and_filler(rules: Rules) -> None:
    assert metric("截至2023年底，全市有效发明专利拥有量达1.2万件", rules, "1.2万件") == "有效发明专利拥有量"
    assert metric("据统计，目前全省累计完成专利质押融资284亿元", rules, "284亿元") == "专利质押融资"


def test_a_comparison_ends_the_phrase(rules: Rules) -> None:
    assert metric("商标注册量较上年减少300件", rules, "300件") == "商标注册量"
    assert metric("商标注册量增长率为12%", rules, "12%") == "商标注册量增长率"  # 增长 followed by 率 stays


def test_a_change_with_nothing_before_it_refers_to_the_previous_metric(rules: Rules) -> None:
    assert metric("同比增长31.7%", rules, "31.7%", previous="新增注册商标") == "新增注册商标"
    assert metric("增幅为12%", rules, "12%", previous="专利授权量") == "专利授权量增幅"


def test_a_count_followed_by_its_noun(rules: Rules) -> None:
    assert metric("开展25个高价值专利培育项目", rules, "25个") == "高价值专利培育项目"


def test_a_streak_measures_what_follows(rules: Rules) -> None:
    text = "连续4年获国务院督查激励"
    fig = rules.finder.find(text)[0]
    assert fig.dimension == Dimension.DURATION
    assert rules.metrics.is_streak(text[:fig.start])
    assert metric(text, rules, "4年") == "获国务院督查激励"


def test_lexicon_ids_take_the_longest_written_form(rules: Rules) -> None:
    assert rules.metrics.metric_id("全市每万人有效发明专利") == "metric.patent.invention.valid_per_10k"
    assert rules.metrics.metric_id("有效发明专利数量") == "metric.patent.invention.valid"
    assert rules.metrics.metric_id("某种奇怪指标") is None and rules.metrics.metric_id(None) is None


def test_a_phrase_naming_nothing_measured_is_vague(rules: Rules) -> None:
    vague = rules.metrics.is_vague
    assert vague("和江苏同列") and vague("下滑") and vague("排序") and vague(None)
    assert not vague("有效发明专利拥有量") and not vague("企业数量")


def test_a_vague_rank_takes_the_ranking_its_paragraph_or_title_names(rules: Rules) -> None:
    text = "某城市创新指数显示，苏州继续位居榜首"
    assert rules.metrics.topic(text, text.index("榜首"), True, None) == "某城市创新指数"
    assert rules.metrics.topic("浙江排第4位", 3, True, "2030年区域创新能力排名") == "区域创新能力排名"
    text = "创新环境：2030年排名第6位"
    assert rules.metrics.topic(text, text.index("第6位"), True, None) == "创新环境"
    assert rules.metrics.topic("浙江排第4位", 3, False, "2030年区域创新能力排名") is None  # only ranks read titles


def test_words_pointing_back_time_words_and_for_a_rank_classes_of_places_name_nothing(rules: Rules) -> None:
    vague = rules.metrics.is_vague
    assert vague("成为该项指标") and vague("在这一领域") and not vague("成为重要指标")
    assert vague("无锡在本年度") and not vague("无锡在本年度专利授权量")
    assert vague("的省份有", rank=True) and not vague("的省份有")  # counting provinces measures something
    assert not vague("专利授权量", rank=True)


def test_a_rankings_name_starts_after_its_last_de_unless_only_a_modifier_follows(rules: Rules) -> None:
    topic = rules.metrics.topic
    text = "某机构发布的2031年城市营商环境指数中，无锡位居第4"
    assert topic(text, text.index("第4"), True, None) == "城市营商环境指数"
    text = "某机构公布了商标注册量的最新排名。无锡位居第4"
    assert topic(text, text.index("第4"), True, None) == "商标注册量"
    text = "从排名变动看，无锡上升3位"  # 从排名 names no ranking: the title's
    assert topic(text, text.index("3位"), True, "2031年城市营商环境评价") == "城市营商环境评价"
    text = "稳定性和排名都有变化，无锡下降2位"  # a rank word in a list names none either
    assert topic(text, text.index("2位"), True, None) is None


def test_a_figure_in_brackets_after_a_name(rules: Rules) -> None:
    text = "本年受理的申请里，实用新型(52,310件)增加"
    assert metric(text, rules, "52,310件") == "实用新型"  # a metric's name
    text = "授权量居前的依次为甲乙电子有限公司(1,210件)"
    assert metric(text, rules, "1,210件") is None  # a body's name: what the clause before names
    text = "全省的发明专利主要分布在杭州(40.5%)"
    assert rules.metrics.read(text, text.index("40.5%"), text.index("40.5%") + 5, Dimension.PERCENT, 0, None,
                              strip_regions=rules.regions.strip_places) == "发明专利"  # one place: the subject


def test_a_clause_opening_with_respectively_lists_values_of_what_the_clause_before_names(rules: Rules) -> None:
    text = "南区与北区商标代理机构偏少，分别只有6家和4家"
    start = text.index("分别")
    assert rules.metrics.lead_in(text, start, 0, rules.regions.strip_places) == "商标代理机构"
    assert rules.metrics.lead_in(text, 0, 0) is None  # no clause before
    text = "商标代理机构偏少，只有6家"
    assert rules.metrics.lead_in(text, text.index("只有"), 0) is None  # no 分别: the clause names its own
    text = "温州的商标最多，达4210件"  # nothing but a cue word before the figure: the clause before
    at = text.index("达")
    assert rules.metrics.lead_in(text, at, 0, rules.regions.strip_places, text.index("4210")) == "商标"
    assert rules.metrics.lead_in(text, at, 0, rules.regions.strip_places) is None


def test_a_rank_after_a_count_is_not_its_counted_noun(rules: Rules) -> None:
    text = "德国以4,321件稳居第一"
    start = text.index("4,321件")
    assert rules.metrics.read(text, start, start + 6, Dimension.COUNT, 0, "外国人专利申请",
                              strip_regions=rules.regions.strip_places, unit="件") == "外国人专利申请"
    assert metric("开展25个高价值专利培育项目", rules, "25个") == "高价值专利培育项目"


def test_a_count_of_nouns_a_relative_clause_describes_keeps_the_clause(rules: Rules) -> None:
    assert metric("排名提升的城市有6个", rules, "6个") == "排名提升的城市"  # 提升 is no comparison here
    assert metric("其中排名提升的城市6个", rules, "6个") != "排名提升的城市"  # no 有: the usual reading


def test_a_bare_stage_takes_the_previous_metric_at_that_stage(rules: Rules) -> None:
    assert metric("授权0.4万件", rules, "0.4万件", previous="发明专利申请量") == "发明专利授权"
    assert metric("授权0.4万件", rules, "0.4万件", previous="商标注册申请") == "商标授权"
    assert metric("授权0.4万件", rules, "0.4万件", previous="技术合同成交额") != "技术合同授权"


def test_a_phrase_listing_as_many_metrics_as_figures_splits_one_each(rules: Rules) -> None:
    split = rules.metrics.split_list
    assert split("电子信息、装备制造及新材料产业的增幅", 3) == ["电子信息增幅", "装备制造增幅", "新材料产业的增幅"]
    assert split("电子信息、装备制造及新材料产业的增幅", 2) == ["电子信息增幅", "装备制造及新材料产业的增幅"]
    assert split("专利代理和商标代理收入", 2) == ["专利代理", "商标代理收入"]  # no 的: the last's name has no known end
    assert split("专利代理和商标代理收入", 3) is None


def test_respectively_prefers_the_metrics_its_phrase_lists_to_the_figures_before(rules: Rules) -> None:
    metrics: list[str | None] = ["发明专利占比", "发明专利占比", "新型及设计占比", "新型及设计占比"]
    paired = pair_respectively([([0, 1], [2, 3])], metrics, rules.metrics.split_list)
    assert paired == ["发明专利占比", "发明专利占比", "新型", "设计占比"]
    metrics = ["发明专利授权", "商标注册", "同比增长", "同比增长"]  # no list: the figures before, in order
    assert pair_respectively([([0, 1], [2, 3])], metrics, rules.metrics.split_list) == metrics[:2] * 2


def test_a_long_head_keeps_its_subject_when_what_follows_the_verb_names_nothing(rules: Rules) -> None:
    text = "从县域看，有效发明专利拥有量位居前列的县分别为∶余杭(3万件)、萧山(2万件)。"
    assert metric(text, rules, "3万件") == "有效发明专利拥有量"


def test_a_trim_never_cuts_into_a_metric_the_lexicon_names(rules: Rules) -> None:
    text = "规模以上制造业每亿元主营业务收入有效发明专利数达到1.5件"
    assert metric(text, rules, "1.5件") == "每亿元主营业务收入有效发明专利数"
    assert rules.metrics.metric_id(metric(text, rules, "1.5件")) == "metric.patent.invention.per_revenue"


def test_years_and_adverbs_come_out_of_a_phrase(rules: Rules) -> None:
    assert metric("商标2029年占比首度突破40%", rules, "40%") == "商标占比"


def test_a_vague_rank_prefers_its_ranking_and_any_other_figure_the_previous_metric(rules: Rules) -> None:
    text = "某城市创新指数显示，苏州继续位居榜首"
    at = text.index("榜首")
    assert rules.metrics.instead_of_vague(text, at, True, "专利授权量", None) == "某城市创新指数"
    assert rules.metrics.instead_of_vague(text, at, False, "专利授权量", None) == "专利授权量"
    assert rules.metrics.instead_of_vague("苏州继续位居第一", 6, False, None, None) is None
