"""Rule files are checked when they load: file, line, rule id and reason."""
from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest

from pipeline.facts.extract import extract_text
from pipeline.rules import patterns
from pipeline.rules.compiler import load_rules, unknown_files
from pipeline.rules.files import RuleError
from pipeline.rules.patterns import RuleTimeout

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", target)
    return target


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_duplicate_id_across_files_is_refused(rules_copy: Path) -> None:
    _append(rules_copy / "scales.yaml", "  - id: unit.percent\n    written: [兆]\n    factor: 1000000000000\n")
    with pytest.raises(RuleError, match=r"scales\.yaml:\d+: rule 'unit.percent': duplicate id"):
        load_rules(rules_copy)


def test_unknown_key_names_file_line_and_rule(rules_copy: Path) -> None:
    _append(rules_copy / "units.yaml", "  - id: unit.new\n    written: [只]\n    dimension: count\n    colour: red\n")
    with pytest.raises(RuleError, match=r"units\.yaml:\d+: rule 'unit.new': unknown key\(s\): colour"):
        load_rules(rules_copy)


def test_a_key_given_twice_is_refused_not_silently_replaced(rules_copy: Path) -> None:
    _append(rules_copy / "units.yaml", "  - id: unit.twice\n    written: [只]\n    dimension: count\n"
                                       "    examples: [只1只]\n    examples: [只2只]\n")
    with pytest.raises(RuleError, match=r"units\.yaml:\d+: rule 'unit.twice': key 'examples' given twice"):
        load_rules(rules_copy)


@pytest.mark.parametrize(("example", "reason"), [
    ("{text: 共1200只, expect: {text: 1,200只}}", "an example expects no such field: 200只"),
    ("{text: 共1,200只, absent: 只}", "an example has no such key: 200只"),
])
def test_an_example_split_by_an_unquoted_comma_is_refused(rules_copy: Path, example: str, reason: str) -> None:
    _append(rules_copy / "units.yaml", "  - id: unit.split\n    written: [只]\n    dimension: count\n"
                                       f"    examples:\n      - {example}\n")
    with pytest.raises(RuleError, match=rf"units\.yaml:\d+: rule 'unit.split': {reason}"):
        load_rules(rules_copy)


def test_bad_regex_is_refused(rules_copy: Path) -> None:
    _append(rules_copy / "exclusions.yaml", "  - id: excl.bad\n    pattern: '(unclosed'\n    reason: test\n")
    with pytest.raises(RuleError, match=r"exclusions\.yaml:\d+: rule 'excl.bad': pattern does not compile"):
        load_rules(rules_copy)


def test_bad_yaml_names_the_line(rules_copy: Path) -> None:
    (rules_copy / "cues.yaml").write_text("rules:\n  - id: x\n    words: [a, b\n", encoding="utf-8")
    with pytest.raises(RuleError, match=r"cues\.yaml:\d+: invalid YAML"):
        load_rules(rules_copy)


def test_bad_dimension(rules_copy: Path) -> None:
    _append(rules_copy / "units.yaml", "  - id: unit.odd\n    written: [档]\n    dimension: weight\n")
    with pytest.raises(RuleError, match="'dimension' is 'weight'"):
        load_rules(rules_copy)


def test_version_changes_with_any_rule_edit(rules_copy: Path) -> None:
    before = load_rules(rules_copy).version
    _append(rules_copy / "units.yaml", "  - id: unit.new\n    written: [匹]\n    dimension: count\n")
    after = load_rules(rules_copy)
    assert after.version != before
    assert "unit.new" in after.ids
    assert extract_text("共有3匹", after)[0].rule == "unit.new"


# One entry per kind of pattern a rule file can hold; {bad} is the pattern.
PATTERN_KINDS = [
    ("exclusions.yaml", "  - id: excl.probe\n    pattern: '{bad}'\n    reason: test\n", "excl.probe"),
    ("cues.yaml", "  - id: cue.probe\n    kind: target\n    pattern: '{bad}'\n    reach: sentence\n", "cue.probe"),
    ("ranks.yaml", "  - id: rank.probe\n    kind: form\n    pattern: '{bad}第{{N}}'\n", "rank.probe"),
    ("forms.yaml", "  - id: form.probe\n    patterns: ['{bad}(?P<num>{{N}})']\n    unit: x\n    dimension: other\n",
     "form.probe"),
    ("metrics.yaml", "  - id: metric.probe\n    kind: head_word\n    pattern: '{bad}'\n", "metric.probe"),
    ("metrics.yaml", "  - id: metric.marker_probe\n    kind: head_marker\n    pattern: '{bad}'\n",
     "metric.marker_probe"),
]


@pytest.mark.parametrize(("name", "entry", "rule_id"), PATTERN_KINDS, ids=[k[2] for k in PATTERN_KINDS])
def test_every_kind_of_pattern_is_probed_at_load(rules_copy: Path, name: str, entry: str, rule_id: str) -> None:
    _append(rules_copy / name, entry.format(bad="(a+)+$"))
    with pytest.raises(RuleError, match=rf"rule '{rule_id}': pattern is too slow"):
        load_rules(rules_copy)


@pytest.mark.parametrize(("name", "entry", "rule_id"), PATTERN_KINDS, ids=[k[2] for k in PATTERN_KINDS])
def test_every_kind_of_pattern_is_time_limited_on_a_report(rules_copy: Path, monkeypatch: pytest.MonkeyPatch,
                                                            name: str, entry: str, rule_id: str) -> None:
    """A pattern that passes the load probes but runs away on a real text is stopped and named."""
    _append(rules_copy / name, entry.format(bad="(?:件件|件)+X"))
    rules = load_rules(rules_copy)
    monkeypatch.setattr(patterns, "RULE_SECONDS", 0.05)
    monkeypatch.setattr(patterns, "RULE_SECONDS_PER_MB", 0.0)
    text = "件" * 40 + "共3件。"
    with pytest.raises(RuleTimeout, match=rule_id):
        extract_text(text, rules)


def test_unknown_files_in_the_rules_folder_are_listed(rules_copy: Path) -> None:
    assert unknown_files(rules_copy) == []
    (rules_copy / "units.yaml.bak").write_text("rules: []\n", encoding="utf-8")
    (rules_copy / "notes.txt").write_text("x", encoding="utf-8")
    assert unknown_files(rules_copy) == ["notes.txt", "units.yaml.bak"]


def test_compiled_rules_pickle_and_give_the_same_facts(rules_copy: Path) -> None:
    rules = load_rules(rules_copy)
    text = "2023年，余杭区新增注册商标3.98万件，同比增长31.7%，居全省第3名。"
    before = extract_text(text, rules)
    copy = pickle.loads(pickle.dumps(rules))
    assert extract_text(text, copy) == before
    assert len(pickle.dumps(copy)) < 4_000_000  # memos and the jieba dictionary (~100 MB) do not travel
