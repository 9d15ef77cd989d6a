"""Tests for the gazetteer: every example in rules/regions.yaml, plus direct checks."""
from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from pipeline.attribute.gazetteer import Gazetteer, Region, _word_at, build_gazetteer, short_name
from pipeline.rules.files import RuleError, check_unique
from pipeline.rules.region_rules import read_regions
from pipeline.text.words import Words

ROOT = Path(__file__).parent.parent
RULES = ROOT / "rules"
GOLD = ROOT.parent / "shared" / "gold" / "seeds.jsonl"


def load_gazetteer(rules_dir: Path, words: Words | None = None) -> Gazetteer:
    raw, regions = read_regions(rules_dir / "regions.yaml")
    check_unique(raw)
    return build_gazetteer(regions, words or Words(()))


@pytest.fixture(scope="module")
def words() -> Words:
    return Words(())


@pytest.fixture(scope="module")
def gaz(words: Words) -> Gazetteer:
    return load_gazetteer(RULES, words)


def _yaml_cases() -> list[Any]:
    """One pytest param per example/negative; a known_failure becomes a strict xfail."""
    cases = []
    for rule in read_regions(RULES / "regions.yaml")[0]:
        for key in ("examples", "negatives"):
            for n, item in enumerate(rule.data.get(key) or []):
                if isinstance(item.get("expect"), dict):
                    continue  # a fact, run through the extractor by tests/test_rule_examples.py
                marks = [pytest.mark.xfail(strict=True, reason=item["known_failure"])] if "known_failure" in item else []
                cases.append(pytest.param(rule.id, key, item, marks=marks, id=f"{rule.id}:{key}:{n}"))
    return cases


@pytest.mark.parametrize(("rule_id", "key", "item"), _yaml_cases())
def test_rule_examples(gaz: Gazetteer, rule_id: str, key: str, item: dict[str, Any]) -> None:
    assert set(item) <= {"text", "scope", "expect", "known_failure"}, f"{rule_id}: unknown keys in {item}"
    scope = gaz.resolve(item["scope"]) if item.get("scope") else None
    assert scope is not None or not item.get("scope"), f"{rule_id}: unknown scope {item['scope']!r}"
    found = [m.region.full_name for m in gaz.find(item["text"], scope)]
    if key == "negatives":
        assert found == [], f"{rule_id}: {item['text']!r} should name no region"
    else:
        expect = item["expect"]
        assert found == ([expect] if isinstance(expect, str) else expect), f"{rule_id}: {item['text']!r}"


def _full(gaz: Gazetteer, name: str, scope: str | None = None) -> str | None:
    region = gaz.resolve(name, gaz.resolve(scope) if scope else None)
    return region.full_name if region else None


@pytest.mark.parametrize(("name", "full"), [
    ("浙江省", "浙江省"), ("杭州市", "杭州市"), ("金华市", "金华市"), ("缙云县", "缙云县"), ("东阳市", "东阳市"),
    ("景宁畲族自治县", "景宁畲族自治县"), ("杭州市余杭区", "杭州市余杭区"), ("台州市路桥区", "台州市路桥区"),
    ("北京市", "北京市"), ("北京市朝阳区", "北京市朝阳区"), ("广西壮族自治区", "广西壮族自治区"),
])
def test_full_names(gaz: Gazetteer, name: str, full: str) -> None:
    assert _full(gaz, name) == full


@pytest.mark.parametrize(("name", "scope", "full"), [
    ("余杭", "杭州市", "杭州市余杭区"), ("余杭区", "杭州市", "杭州市余杭区"), ("拱墅", "杭州市", "杭州市拱墅区"),
    ("温岭", None, "温岭市"), ("路桥", "台州市", "台州市路桥区"), ("景宁", None, "景宁畲族自治县"),
    ("景宁", "丽水市", "景宁畲族自治县"), ("浙江", None, "浙江省"), ("杭州", None, "杭州市"), ("丽水", None, "丽水市"),
    ("云和", "浙江省", "云和县"), ("婺城区", "金华市", "金华市婺城区"), ("广西", None, "广西壮族自治区"),
    ("吉林", None, "吉林省"), ("长三角", None, "长三角地区"),
])
def test_names_under_scope(gaz: Gazetteer, name: str, scope: str | None, full: str) -> None:
    assert _full(gaz, name, scope) == full


def test_ambiguous_district_follows_scope(gaz: Gazetteer) -> None:
    nanjing, fuzhou = gaz.resolve("鼓楼区", gaz.resolve("南京市")), gaz.resolve("鼓楼区", gaz.resolve("福州市"))
    assert nanjing is not None and fuzhou is not None
    assert (nanjing.full_name, fuzhou.full_name) == ("南京市鼓楼区", "福州市鼓楼区")
    assert nanjing.code != fuzhou.code
    assert gaz.resolve("鼓楼区") is None  # four cities have one
    assert gaz.resolve("鼓楼区", gaz.resolve("江苏省")) is None  # 南京 and 徐州
    assert [m.region.full_name for m in gaz.find("福州鼓楼", gaz.resolve("南京市"))] == ["福州市", "福州市鼓楼区"]


@pytest.mark.parametrize(("word", "scope", "full"), [
    ("全市", "丽水市", "丽水市"), ("全省", "金华市", "浙江省"), ("全市", "东阳市", "东阳市"),
    ("我市", "杭州市余杭区", "杭州市"), ("本省", "缙云县", "浙江省"), ("全县", "缙云县", "缙云县"),
    ("全区", "杭州市余杭区", "杭州市余杭区"), ("全国", None, "全国"), ("我国", "台州市", "全国"),
    ("中国", None, "全国"), ("国内", "东阳市", "全国"),
])
def test_scope_words(gaz: Gazetteer, word: str, scope: str | None, full: str) -> None:
    region = gaz.scope_word(word, gaz.resolve(scope) if scope else None)
    assert region is not None and region.full_name == full


def test_scope_words_without_a_fitting_scope(gaz: Gazetteer) -> None:
    assert gaz.scope_word("全市", gaz.resolve("浙江省")) is None
    assert gaz.scope_word("全县", gaz.resolve("丽水市")) is None
    assert gaz.scope_word("全省", None) is None
    assert gaz.scope_word("余杭", None) is None


def test_codes_and_hierarchy(gaz: Gazetteer) -> None:
    yuhang = gaz.resolve("余杭区", gaz.resolve("杭州市"))
    assert yuhang == Region("330110000000", "余杭区", "杭州市余杭区", 3, "330100000000")
    assert gaz.by_code("330110000000") == yuhang == gaz.by_code("330110")
    assert gaz.by_code("330100000000").parent == "330000000000"
    assert gaz.by_code("000000000000").full_name == "全国"
    assert gaz.by_code("110100000000").full_name == "北京市"  # a municipality's 市辖 code is the municipality
    assert gaz.by_code("110105000000").parent == "110000000000"
    assert gaz.within(yuhang, gaz.by_code("330000000000"))
    assert not gaz.within(gaz.by_code("330000000000"), yuhang)
    with pytest.raises(KeyError):
        gaz.by_code("339999000000")


@pytest.mark.parametrize(("name", "short"), [
    ("浙江省", "浙江"), ("景宁畲族自治县", "景宁"), ("广西壮族自治区", "广西"), ("新疆维吾尔自治区", "新疆"),
    ("延边朝鲜族自治州", "延边"), ("香港特别行政区", "香港"), ("浦东新区", "浦东"), ("忠县", None), ("城区", None),
])
def test_short_name(name: str, short: str | None) -> None:
    suffixes = ["特别行政区", "自治区", "自治州", "自治县", "新区", "省", "市", "区", "县"]
    assert short_name(name, ["朝鲜族", "维吾尔族", "畲族", "壮族", "维吾尔"], suffixes) == short


def test_find_longest_match_no_overlap(gaz: Gazetteer) -> None:
    found = gaz.find("浙江省杭州市余杭区和台州路桥", None)
    assert [(m.start, m.end, m.surface, m.region.full_name, m.kind) for m in found] == [
        (0, 3, "浙江省", "浙江省", "name"), (3, 9, "杭州市余杭区", "杭州市余杭区", "name"),
        (10, 12, "台州", "台州市", "short"), (12, 14, "路桥", "台州市路桥区", "short"),
    ]


def test_find_refuses_chance_pairs_and_company_names(gaz: Gazetteer) -> None:
    assert gaz.find("创新和发展，提高要求，创新平台", gaz.resolve("新疆维吾尔自治区")) == []  # 新和县 etc.
    assert [m.region.full_name for m in gaz.find("宁波长阳科技", None)] == ["宁波市"]  # not 长阳土家族自治县
    assert [m.surface for m in gaz.find("濮阳市范县，示范县", gaz.resolve("濮阳市"))] == ["濮阳市", "范县"]
    assert gaz.find("示范县", gaz.resolve("河南省")) == []


def test_gold_regions_resolve(gaz: Gazetteer) -> None:
    """Every region in the hand-annotated facts is one the gazetteer knows under that exact name."""
    if not GOLD.exists():
        pytest.skip("shared gold not present")
    names = {json.loads(line)["region"] for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()}
    for name in names - {None}:
        region = gaz.resolve(name)
        assert region is not None and region.full_name == name, name


def test_pickle_round_trip(gaz: Gazetteer) -> None:
    copy = pickle.loads(pickle.dumps(gaz))
    text = "余杭区知识产权，全市有效发明专利"
    assert copy.find(text, gaz.resolve("杭州市")) == gaz.find(text, gaz.resolve("杭州市"))


def test_large_text_gives_the_right_count(gaz: Gazetteer) -> None:
    """Not timed: just that a long text is scanned whole (1.7 MB of UTF-8)."""
    sentence = "2023年，台州市温岭获批建设首批国家级专利导航服务基地，全省第一，西湖龙井品牌价值再创新高。"
    assert len(gaz.find(sentence, gaz.resolve("台州市"))) == 3
    found = gaz.find(sentence * 12_000, gaz.resolve("台州市"))
    assert len(found) == 36_000
    assert {m.region.full_name for m in found} == {"台州市", "温岭市", "浙江省"}


SUFFIXES = "  - id: region.suffix\n    kind: suffix\n    words: [省, 市, 区, 县]\n"
BASE = """rules:
  - id: region.nation
    kind: named
    name: 全国
    code: "000000000000"
"""


@pytest.mark.parametrize(("extra", "rule_id", "reason"), [
    ("  - id: region.nation\n    kind: named\n    name: 全中国\n    code: \"000000000009\"\n",
     "region.nation", "duplicate id"),
    ("  - id: alias.bad\n    kind: alias\n    surfaces: [某城]\n    region: 不存在市\n", "alias.bad", "unknown"),
    ("  - id: alias.ambiguous\n    kind: alias\n    surfaces: [鼓楼]\n    region: 鼓楼区\n", "alias.ambiguous", "ambiguous"),
    ("  - id: stop.bad\n    kind: stop\n    surfaces: [你好]\n    reason: x\n", "stop.bad", "no region name"),
    ("  - id: stop.keys\n    kind: stop\n    surfaces: [西湖龙井]\n    reson: x\n", "stop.keys", "unknown key"),
    ("  - id: named.code\n    kind: named\n    name: 某地区\n    code: 12\n", "named.code", "12 digits"),
    ("  - id: scope.bad\n    kind: scope_word\n    words: [全镇]\n    target: town\n", "scope.bad", "target"),
    ("  - id: kind.bad\n    kind: place\n    surfaces: [x]\n", "kind.bad", "kind"),
    ("  - id: alias.short\n    kind: alias\n    surfaces: [杭]\n    region: 杭州市\n", "alias.short", "2 characters"),
])
def test_bad_rule_file(tmp_path: Path, extra: str, rule_id: str, reason: str) -> None:
    (tmp_path / "regions.yaml").write_text(BASE + extra + SUFFIXES, encoding="utf-8")
    with pytest.raises(RuleError) as info:
        load_gazetteer(tmp_path)
    message = str(info.value)
    assert "regions.yaml:6:" in message and rule_id in message and reason in message


def test_rule_file_without_nation(tmp_path: Path) -> None:
    (tmp_path / "regions.yaml").write_text("rules:\n  - id: a\n    kind: alias\n    surfaces: [杭城]\n"
                                           "    region: 杭州市\n" + SUFFIXES, encoding="utf-8")
    with pytest.raises(RuleError, match="the nation"):
        load_gazetteer(tmp_path)


def _word_at_by_segmenting(words: Words, text: str, start: int, length: int) -> bool:
    """The word check the slow way: always run the segmenter on the window."""
    left, cuts, at = max(0, start - 8), {0}, 0
    for token in words.cut(text[left:start + length + 8]):
        at += len(token)
        cuts.add(at)
    return start - left in cuts and start - left + length in cuts


@pytest.mark.parametrize("text", [
    "坚持创新和发展，提高要求，创新平台建设，云和县实现增长，永康市五金产业",
    "松阳茶叶、武义温泉和东阳木雕，2023年余杭区专利授权量1.2万件，拱墅区新和大新",
    "政和县ABC123云和",  # Latin letters and digits next to a name; a name at the very end
])
def test_word_check_skips_the_segmenter_only_when_it_would_agree(words: Words, text: str) -> None:
    for start in range(len(text)):
        for length in (2, 3):
            if start + length <= len(text):
                assert _word_at(words, text, start, length) == _word_at_by_segmenting(words, text, start, length), \
                    (text[start:start + length], start)
