"""Rule files are checked when they load: file, line, rule id and reason."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.rules.load import RuleError, load_rules

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
    assert any(u.id == "unit.new" for u in after.units)


def test_pathological_pattern_is_refused_at_load(rules_copy: Path) -> None:
    _append(rules_copy / "exclusions.yaml", "  - id: excl.slow\n    pattern: '(a+)+$'\n    reason: test\n")
    with pytest.raises(RuleError, match=r"rule 'excl.slow': pattern is too slow"):
        load_rules(rules_copy)


def test_runaway_pattern_is_stopped_on_a_report(rules_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pattern that passes the load probes but runs away on real text is stopped and named."""
    from pipeline.facts.extract import extract_text
    from pipeline.figures import finder as figures

    _append(rules_copy / "exclusions.yaml", "  - id: excl.sneaky\n    pattern: '(?:件件|件)+X'\n    reason: test\n")
    rules = load_rules(rules_copy)
    monkeypatch.setattr(figures, "RULE_SECONDS", 0.05)
    monkeypatch.setattr(figures, "RULE_SECONDS_PER_MB", 0.0)
    with pytest.raises(figures.RuleTimeout, match="excl.sneaky"):
        extract_text("件" * 40 + "!", rules)
