"""Incremental runs with the real rules and extractor: a rule edit, a broken rule file, `check`.

These run `pipeline.runs.run.run` (the code the flow calls) without Prefect;
tests/test_flow.py runs the same story through the real flow once.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from output_snapshot import table, tree

import flows
from pipeline.rules.files import RuleError
from pipeline.runs.run import run

ROOT = Path(__file__).resolve().parent.parent

NEW_UNIT = """
  - id: unit.count.horse
    written: [匹]
    dimension: count
    examples:
      - {text: 新增马匹120匹, expect: {text: 120匹, value: 120, unit: 匹}}
"""
HORSES = "2023年，金华市新增马匹120匹，新增专利3件。\n"


@pytest.fixture()
def rules(tmp_path: Path) -> Path:
    return Path(shutil.copytree(ROOT / "rules", tmp_path / "rules"))


@pytest.fixture()
def raw(tmp_path: Path) -> Path:
    folder = Path(shutil.copytree(ROOT / "raw", tmp_path / "raw"))
    (folder / "100_horses.txt").write_text(HORSES, encoding="utf-8")
    return folder


def test_new_unit_reruns_and_the_diff_lists_its_facts(rules: Path, raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "output"
    first = run(raw, out, rules)
    assert first.extracted == 6 and not any(f["unit"] == "匹" for f in table(out, "facts"))
    facts_before = first.facts

    second = run(raw, out, rules)
    assert (second.extracted, second.skipped, second.facts) == (0, 6, facts_before)

    with open(rules / "units.yaml", "a", encoding="utf-8") as handle:
        handle.write(NEW_UNIT)
    third = run(raw, out, rules)

    assert (third.extracted, third.skipped) == (6, 0)
    assert third.rules_version != first.rules_version
    assert {f["rules_version"] for f in table(out, "facts")} == {third.rules_version}
    diff = [d for d in table(out, "diffs") if d["run_id"] == third.run_id]
    horses = [d for d in diff if d["rule"] == "unit.count.horse"]
    assert [(d["change"], d["doc"], d["text"], d["value"], d["unit"]) for d in horses] == [
        ("added", "100_horses.txt", "120匹", 120.0, "匹")]
    assert all(d["unit"] == "匹" or d["old_unit"] == "匹" for d in diff)  # the edit touched nothing else
    assert third.facts == facts_before + len(horses)
    runs = table(out, "runs")
    assert [(r["extracted"], r["skipped"], r["added"]) for r in runs] == [
        (6, 0, facts_before), (0, 6, 0), (6, 0, 1)]
    text = third.report()
    assert "+1 added" in text and "unit.count.horse +1" in text and "120匹" in text


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An output folder from one real run, copied by each test that needs one."""
    out = tmp_path_factory.mktemp("published") / "output"
    run(ROOT / "raw", out, ROOT / "rules")
    return out


BROKEN = [
    ("units.yaml", "  - id: unit.bad\n    written: [只]\n    dimension: count\n    colour: red\n",
     "unit.bad", r"units\.yaml:\d+: rule 'unit.bad': unknown key\(s\): colour"),
    ("exclusions.yaml", "  - id: excl.bad\n    pattern: '(unclosed'\n    reason: test\n",
     "excl.bad", r"exclusions\.yaml:\d+: rule 'excl.bad': pattern does not compile"),
    ("scales.yaml", "  - id: unit.percent\n    written: [兆]\n    factor: 1000000000000\n",
     "unit.percent", r"scales\.yaml:\d+: rule 'unit.percent': duplicate id"),
    ("cues.yaml", None, None, r"cues\.yaml:\d+: invalid YAML"),
]


@pytest.mark.parametrize("name,addition,rule_id,message", BROKEN, ids=[b[0] for b in BROKEN])
def test_bad_rule_file_stops_everything_and_output_stays_byte_for_byte(
    published: Path, rules: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    name: str, addition: str | None, rule_id: str | None, message: str,
) -> None:
    out = Path(shutil.copytree(published, tmp_path / "output", symlinks=True))
    if addition is None:
        (rules / name).write_text("rules:\n  - id: x\n    words: [a, b\n", encoding="utf-8")
    else:
        with open(rules / name, "a", encoding="utf-8") as handle:
            handle.write(addition)
    before = tree(out)

    with pytest.raises(RuleError, match=message) as error:
        run(ROOT / "raw", out, rules)
    assert error.value.file.endswith(name) and isinstance(error.value.line, int) and error.value.line > 1
    assert error.value.rule_id == rule_id

    assert flows.main(["--raw", str(ROOT / "raw"), "--output", str(out), "--rules", str(rules)]) == 2
    assert flows.main(["check", "--rules", str(rules)]) == 2
    stderr = capsys.readouterr().err
    assert stderr.count("rule error: ") == 2 and name in stderr
    assert tree(out) == before


def test_check_accepts_the_project_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert flows.main(["check", "--rules", str(ROOT / "rules")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("rules OK: ") and "not a rule file" not in out


def test_check_lists_files_that_are_not_rule_files(rules: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (rules / "units.yaml.orig").write_text("rules: []\n", encoding="utf-8")
    (rules / "extra.yaml").write_text("rules: []\n", encoding="utf-8")
    assert flows.main(["check", "--rules", str(rules)]) == 0
    out = capsys.readouterr().out
    assert "not a rule file, never read: " in out and "units.yaml.orig" in out and "extra.yaml" in out
    assert "extra.yaml," not in out.splitlines()[0]  # not counted among the rule files checked


def test_bad_rules_never_create_an_output_folder(rules: Path, tmp_path: Path) -> None:
    (rules / "units.yaml").write_text("rules: [\n", encoding="utf-8")
    with pytest.raises(RuleError):
        run(ROOT / "raw", tmp_path / "fresh", rules)
    assert not (tmp_path / "fresh").exists()
