"""Pairing old and new facts of a report, and the summary a rule editor reads."""
from __future__ import annotations

from typing import Any

from pipeline.runs.diff import DIFF_SCHEMA, DiffSummary, compare, diff_table, pair


def fact(start: int, end: int, text: str, value: float, unit: str = "件", **more: Any) -> dict[str, Any]:
    row = {"start": start, "end": end, "text": text, "value": value, "unit": unit, "dimension": "count",
               "qualifier": "exact", "type": "level", "metric": "专利", "region": "金华市", "period": "2023",
               "rule": "unit.count.classifier", "metric_id": None, "region_code": None, "rules_version": "r"}
    row.update(more)
    return row


def test_identical_facts_make_no_rows() -> None:
    facts = [fact(0, 3, "12件", 12), fact(5, 8, "3件", 3)]
    assert compare("a.txt", facts, [dict(f, rules_version="other") for f in facts]) == []


def test_attribute_change_on_the_same_span() -> None:
    (row,) = compare("a.txt", [fact(0, 3, "12件", 12)], [fact(0, 3, "12件", 12, region="浙江省", period="2024")])
    assert row["change"] == "changed" and row["fields"] == "region,period"
    assert (row["old_region"], row["region"], row["old_period"], row["period"]) == ("金华市", "浙江省", "2023", "2024")


def test_longer_span_is_a_change_not_add_and_remove() -> None:
    old = [fact(10, 15, "3.98万", 39800, unit="万", rule="bare")]
    new = [fact(10, 16, "3.98万件", 39800, rule="unit.count.classifier")]
    (row,) = compare("a.txt", old, new)
    assert row["change"] == "changed"
    assert (row["old_end"], row["end"], row["old_unit"], row["unit"]) == (15, 16, "万", "件")
    assert row["fields"] == "text,unit,rule"


def test_added_and_removed_in_text_order() -> None:
    old = [fact(0, 3, "12件", 12), fact(20, 22, "5项", 5, unit="项")]
    new = [fact(0, 3, "12件", 12), fact(8, 11, "7匹", 7, unit="匹", rule="unit.pi")]
    rows = compare("a.txt", old, new)
    assert [(r["change"], r["text"] or r["old_text"]) for r in rows] == [("added", "7匹"), ("removed", "5项")]
    assert rows[0]["rule"] == "unit.pi" and rows[1]["old_rule"] == "unit.count.classifier"


def test_duplicate_spans_pair_in_order() -> None:
    old = [fact(0, 3, "1件", 1, type="level"), fact(0, 3, "1件", 1, type="change")]
    new = [fact(0, 3, "1件", 1, type="level"), fact(0, 3, "1件", 1, type="change")]
    assert compare("a.txt", old, new) == []


def test_greedy_pairing_prefers_the_largest_overlap() -> None:
    old = [{"start": 0, "end": 4}, {"start": 6, "end": 10}]
    new = [{"start": 3, "end": 9}]
    assert pair(old, new) == [(1, 0)]  # overlap 3 beats overlap 1


def test_summary_by_report_and_rule() -> None:
    rows = compare("a.txt", [fact(0, 3, "12件", 12)], [fact(0, 3, "12件", 12), fact(8, 11, "7匹", 7, unit="匹", rule="unit.pi")])
    rows += compare("b.txt", [fact(0, 3, "5件", 5)], [fact(0, 3, "5件", 6)])
    table = diff_table(rows, "run-1")
    assert table.schema.equals(DIFF_SCHEMA, check_metadata=False)
    assert set(table.column("run_id").to_pylist()) == {"run-1"}
    summary = DiffSummary()
    summary.add(table)
    assert (summary.added, summary.removed, summary.changed) == (1, 0, 1)
    lines = summary.lines()
    assert lines[0] == "Changes: +1 added, -0 removed, ~1 changed"
    assert "a.txt +1" in lines[1] and "b.txt ~1" in lines[1]
    assert "unit.pi +1" in lines[2] and "unit.count.classifier ~1" in lines[2]
    assert any("7匹 = 7 匹 (unit.pi)" in line for line in lines)
    assert any("5件 -> 5件 [value]: 5 件 -> 6 件" in line for line in lines)


def test_empty_summary() -> None:
    assert DiffSummary().lines() == ["Changes: none"]


def test_summaries_of_parts_merge_into_the_summary_of_the_whole() -> None:
    """Chunks count their own diff where they are diffed; the run adds the counts up in plan order."""
    parts = [
        diff_table(compare("a.txt", [], [fact(0, 3, "12件", 12), fact(5, 8, "3件", 3)]), "run-1"),
        diff_table(compare("b.txt", [fact(0, 3, "5件", 5)], [fact(0, 3, "5件", 6)]), "run-1"),
        diff_table(compare("a.txt", [fact(9, 11, "1项", 1, unit="项")], []), "run-1"),
        diff_table(compare("c.txt", [], [fact(i, i + 2, "9件", 9) for i in range(0, 20, 2)]), "run-1"),
    ]
    whole = DiffSummary()
    for part in parts:
        whole.add(part)
    merged = DiffSummary()
    for part in parts:
        counted = DiffSummary()
        counted.add(part)
        merged.merge(counted)
    assert merged == whole
    assert merged.by_doc["a.txt"] == {"added": 2, "removed": 1}
    assert len(merged.examples) == merged.max_examples
