"""The worked examples in rules/README.md are valid rules whose examples pass.

Each ```yaml block starting `# in rules/<file>` is appended to a copy of that
file; the rules must load, and every example and negative of the added rules
must hold (extractor for figures, gazetteer for regions).
"""
from __future__ import annotations

import math
import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.facts.extract import extract_text
from pipeline.rules.compiler import Rules, load_rules
from pipeline.rules.files import example_items

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"```yaml\n# in rules/(\S+)\n(.*?)```", re.S)
BLOCKS = BLOCK.findall((ROOT / "rules" / "README.md").read_text(encoding="utf-8"))


def test_readme_shows_each_kind_of_edit() -> None:
    files = {name for name, _ in BLOCKS}
    assert files == {"units.yaml", "scales.yaml", "forms.yaml", "qualifiers.yaml", "metrics.yaml", "regions.yaml",
                     "cues.yaml", "exclusions.yaml", "tables.yaml"}


def _holds(fact: Any, expect: dict[str, Any]) -> bool:
    for key, want in expect.items():
        got = getattr(fact, key)
        if key == "value" and not math.isclose(got, float(want), rel_tol=1e-6):
            return False
        if key != "value" and got != want:
            return False
    return True


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Rules:
    """The project's rules with every README block added (their ids are distinct)."""
    rules_dir = Path(shutil.copytree(ROOT / "rules", tmp_path_factory.mktemp("readme") / "rules"))
    for name, block in BLOCKS:
        with open(rules_dir / name, "a", encoding="utf-8") as handle:
            handle.write("\n" + block)
    return load_rules(rules_dir)


@pytest.mark.parametrize("name,block", BLOCKS, ids=[name for name, _ in BLOCKS])
def test_readme_example_is_a_working_rule(rules: Rules, name: str, block: str) -> None:
    entries = yaml.safe_load(block)
    added = {entry["id"] for entry in entries}
    if name == "regions.yaml":
        for entry in entries:
            for item in entry["examples"]:
                found = rules.regions.gazetteer.find(item["text"], None)
                assert [m.region.full_name for m in found] == [item["expect"]]
        return
    new = [rule for rule in rules.examples if rule.id in added]
    assert {rule.id for rule in new} == added and all(Path(rule.file).name == name for rule in new)
    checked = 0
    for rule in new:
        for _, item in example_items(rule):
            facts = extract_text(item["text"], rules, published=date(2024, 4, 26))
            if "expect" in item:
                assert any(_holds(f, item["expect"]) for f in facts), (rule.id, item, facts)
            if "absent" in item:
                assert not any(item["absent"] in f.text for f in facts), (rule.id, item, facts)
            checked += 1
    assert checked or name == "metrics.yaml"
