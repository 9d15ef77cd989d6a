"""`flows.py evaluate`: grading against gold files gives the score script's figures.

The score script (../shared/eval/score.py) is the reference; these tests run
it beside `pipeline.evaluate` on the sample gold and on random cases.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.evaluate import GoldError, as_json, format_report, grade, load_facts, load_gold, match, same_region
from pipeline.runs.run import run

ROOT = Path(__file__).resolve().parent.parent
SCORE = ROOT.parent / "shared" / "eval" / "score.py"
GOLD = ROOT.parent / "shared" / "gold" / "seeds.jsonl"
needs_score = pytest.mark.skipif(not (SCORE.is_file() and GOLD.is_file()), reason="../shared not available")


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("evaluate") / "output"
    run(ROOT / "raw", out, ROOT / "rules")
    return out


@needs_score
def test_evaluate_prints_the_score_scripts_figures(output: Path) -> None:
    reference = subprocess.run([sys.executable, str(SCORE), str(output / "facts"), str(GOLD), "--errors", "15"],
                               capture_output=True, text=True, timeout=300, check=True).stdout
    ours = subprocess.run([sys.executable, "flows.py", "evaluate", "--gold", str(GOLD), "--output", str(output),
                           "--errors", "15"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert ours.returncode == 0, ours.stderr[-2000:]
    assert ours.stdout == reference
    assert "exact  P" in ours.stdout and ("missed" in ours.stdout or "spurious" in ours.stdout)


@needs_score
def test_json_matches_the_score_script(output: Path, tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(SCORE), str(output / "facts"), str(GOLD), "--json", str(tmp_path / "a.json")],
                   capture_output=True, check=True, timeout=300)
    gold = load_gold([GOLD])
    result = grade(load_facts(output, {g["doc"] for g in gold}), gold)
    assert json.loads(json.dumps(as_json(result))) == json.loads((tmp_path / "a.json").read_text())


def g(start: int, end: int, value: float = 1, unit: str = "件", doc: str = "d", **more: Any) -> dict[str, Any]:
    return {"doc": doc, "start": start, "end": end, "text": "x", "value": value, "unit": unit, **more}


def test_optional_gold_is_neither_rewarded_nor_penalised() -> None:
    gold = [g(0, 3), g(10, 13, optional=True)]
    with_optional = grade([g(0, 3), g(10, 13)], gold)
    without = grade([g(0, 3)], gold)
    assert (with_optional.gold, with_optional.pred, with_optional.found) == (1, 1, 1)
    assert (without.gold, without.pred, without.found) == (1, 1, 1)
    assert with_optional.errors.spurious == []


def test_value_tolerance_unit_and_attributes() -> None:
    gold = [g(0, 3, 1000, region="杭州市余杭区", metric="有效发明专利拥有量", period="2023"),
            g(5, 8, 1000), g(10, 12, 5, unit="件")]
    facts = [g(0, 3, 1000.9, region="余杭区", metric="发明专利拥有量", period="2024"),
             g(5, 8, 1002), g(10, 12, 5, unit="家")]
    result = grade(facts, gold)
    assert (result.found, result.exact) == (3, 1)
    assert [p["value"] for _, p in result.errors.wrong_value] == [1002, 5]
    assert result.attributes()["region"] == 1.0 and result.attributes()["metric"] == 1.0
    assert result.attributes()["period"] == 0.0 and math.isnan(result.attributes()["type"])
    assert same_region("中国", "全国") and same_region("景宁畲族自治县", "景宁") and not same_region("金华市", "华市x")


def test_greedy_one_to_one_by_largest_overlap() -> None:
    assert match([g(0, 5), g(3, 9)], [g(4, 9)]) == [(1, 0)]
    assert sorted(match([g(0, 4)], [g(0, 2), g(2, 4)])) == [(0, 1)]  # a tie goes to the later gold


def test_report_format() -> None:
    text = format_report(grade([g(0, 3), g(20, 22)], [g(0, 3), g(9, 11)]), errors=5)
    assert text.splitlines()[0] == "documents 1  gold 2  predicted 2  found 1  exact 1"
    assert "missed     d:9-11 'x' value=1 unit=件" in text and "spurious   d:20-22" in text
    assert text.endswith("exact_f1 0.500")


def test_bad_gold_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps(g(0, 1)) + "\n\n{oops\n", encoding="utf-8")
    with pytest.raises(GoldError, match=rf"{path}:3: invalid JSON"):
        load_gold([path])
    path.write_text('{"doc": "d", "start": 1}\n', encoding="utf-8")
    with pytest.raises(GoldError, match=rf"{path}:1: missing end"):
        load_gold([path])


@functools.cache
def _score_module() -> Any:
    spec = importlib.util.spec_from_file_location("reference_score", SCORE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


spans = st.tuples(st.integers(0, 30), st.integers(1, 6)).map(lambda t: (t[0], t[0] + t[1]))
rows = st.builds(
    lambda span, value, unit, region, metric, optional: {
        "doc": "d", "start": span[0], "end": span[1], "text": "t", "value": value, "unit": unit,
        "region": region, "metric": metric, "type": "level", "optional": optional},
    spans, st.sampled_from([1.0, 1.0005, 2.0]), st.sampled_from(["件", "家"]),
    st.sampled_from([None, "金华市", "金华", "浙江省金华市", "中国", "全国"]),
    st.sampled_from([None, "", "专利", "发明专利授权量", "商标"]), st.booleans(),
)


@needs_score
@settings(max_examples=150, deadline=None)
@given(st.lists(rows, max_size=8), st.lists(rows, max_size=8))
def test_random_cases_grade_like_the_score_script(facts: list[dict], gold: list[dict]) -> None:
    facts = [{k: v for k, v in f.items() if k != "optional"} for f in facts]
    reference, _ = _score_module().score(facts, gold)
    ours = as_json(grade(facts, gold))
    assert json.dumps(ours, sort_keys=True) == json.dumps(reference, sort_keys=True)


def test_floors_fail_below_and_pass_at_the_score(tmp_path: Path) -> None:
    """`evaluate --floor` exits 3 naming the score under its floor, and 0 when every score holds."""
    from pipeline import cli
    from pipeline.records import Dimension, Fact, FactType, Qualifier
    from pipeline.storage.parquet import documents_table, facts_table
    from pipeline.storage.versions import publish

    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"doc": "a.txt", "start": 0, "end": 3, "text": "3件", "value": 3, "unit": "件",
                                "region": "杭州市"}, ensure_ascii=False) + "\n", encoding="utf-8")
    fact = Fact(doc="a.txt", doc_id="x", start=0, end=3, text="3件", value=3.0, unit="件", dimension=Dimension.COUNT,
                qualifier=Qualifier.EXACT, type=FactType.LEVEL, metric=None, metric_id=None, region="宁波市",
                region_code=None, period=None, sentence="3件", rule="unit.count.classifier", rules_version="rv")
    out = tmp_path / "out"
    publish(out, facts_table([fact]), documents_table([]), "rv")
    args = ["evaluate", "--gold", str(gold), "--output", str(out)]
    assert cli.main([*args, "--floor", "exact_f1=1.0"]) == 0
    assert cli.main([*args, "--floor", "exact_f1=1.0", "--floor", "region=0.5"]) == 3  # the region is wrong
    assert cli.main([*args, "--floor", "nonsense=1"]) == 2
