"""What a rerun changed: facts added, removed and changed, per report and per rule.

Old and new facts of one report are paired first by identical span, then by
largest overlap (a rule that lengthens `3.98万` into `3.98万件` changes a
fact, it does not remove one and add another). A pair whose attributes
differ is `changed`; an unpaired new fact is `added`, an unpaired old one
`removed`. Rows go to `OUTPUT/diffs/` (one file per run that changed
something); `DiffSummary` keeps the counts for the run's printed summary.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.printable import printable
from pipeline.storage.parquet import FACT_SCHEMA

# Attributes compared between an old and a new fact (sentence is context, not a result).
COMPARED = ("text", "value", "unit", "dimension", "qualifier", "type", "metric", "region",
            "period", "rule", "metric_id", "region_code")
# Attributes shown old and new in a diff row.
SHOWN = ("start", "end", "text", "value", "unit", "dimension", "qualifier", "type", "metric",
         "region", "period", "rule", "rules_version")
_TYPES = {"start": pa.int64(), "end": pa.int64(), "value": pa.float64()}
# Fact columns a diff reads (the rest, the sentence above all, is left in Arrow).
DIFF_COLUMNS = sorted(set(COMPARED) | set(SHOWN))

DIFF_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("doc", pa.string(), nullable=False),
        pa.field("change", pa.string(), nullable=False),  # added, removed, changed
        pa.field("fields", pa.string()),  # changed attributes, comma-separated
    ]
    + [
        pa.field(f"{prefix}{name}", _TYPES.get(name, pa.string()))
        for name in SHOWN
        for prefix in ("old_", "")
    ],
    metadata={"schema_version": "1"},
)
DIFF_DICTIONARY_COLUMNS = ("run_id", "doc", "change", "fields", "unit", "old_unit", "rule", "old_rule")

Row = Mapping[str, Any]
_SPAN_AND_COMPARED = ("start", "end", *COMPARED)


def _same(name: str, a: Any, b: Any) -> bool:
    if name == "value" and a is not None and b is not None:
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def _overlap(a: Row, b: Row) -> int:
    return max(0, min(int(a["end"]), int(b["end"])) - max(int(a["start"]), int(b["start"])))


def pair(old: Sequence[Row], new: Sequence[Row]) -> list[tuple[int, int]]:
    """(old index, new index) pairs: identical spans first, then greedy by largest overlap."""
    by_span: dict[tuple[int, int], list[int]] = {}
    for i, row in enumerate(old):
        by_span.setdefault((row["start"], row["end"]), []).append(i)
    pairs: list[tuple[int, int]] = []
    left_new: list[int] = []
    for j, row in enumerate(new):
        same = by_span.get((row["start"], row["end"]))
        if same:
            pairs.append((same.pop(0), j))
        else:
            left_new.append(j)
    left_old = [i for indices in by_span.values() for i in indices]
    candidates = sorted(
        ((_overlap(old[i], new[j]), -i, -j) for i in left_old for j in left_new
         if _overlap(old[i], new[j]) > 0),
        reverse=True,
    )
    used_old: set[int] = set()
    used_new: set[int] = set()
    for _, minus_i, minus_j in candidates:
        i, j = -minus_i, -minus_j
        if i not in used_old and j not in used_new:
            used_old.add(i)
            used_new.add(j)
            pairs.append((i, j))
    return pairs


def _row(doc: str, change: str, old: Row | None, new: Row | None, fields: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"doc": doc, "change": change, "fields": fields}
    for name in SHOWN:
        out[f"old_{name}"] = old.get(name) if old is not None else None
        out[name] = new.get(name) if new is not None else None
    return out


def compare(doc: str, old: Sequence[Row], new: Sequence[Row]) -> list[dict[str, Any]]:
    """Diff rows (without run_id) between one report's old and new facts, in text order."""
    rows: list[tuple[int, dict[str, Any]]] = []
    paired_old: set[int] = set()
    paired_new: set[int] = set()
    for i, j in pair(old, new):
        paired_old.add(i)
        paired_new.add(j)
        if all(old[i].get(n) == new[j].get(n) for n in _SPAN_AND_COMPARED):  # the usual case
            continue
        differing = [n for n in COMPARED if not _same(n, old[i].get(n), new[j].get(n))]
        if differing or (old[i]["start"], old[i]["end"]) != (new[j]["start"], new[j]["end"]):
            rows.append((new[j]["start"], _row(doc, "changed", old[i], new[j], ",".join(differing) or "span")))
    rows += [(r["start"], _row(doc, "added", None, r, None)) for j, r in enumerate(new) if j not in paired_new]
    rows += [(r["start"], _row(doc, "removed", r, None, None)) for i, r in enumerate(old) if i not in paired_old]
    return [row for _, row in sorted(rows, key=lambda item: item[0])]


def one_sided(facts: pa.Table, change: str, run_id: str) -> pa.Table:
    """All of a report's facts `added` (a new report) or `removed` (a gone one), built in Arrow.

    The common case of a first run or a new report, and millions of rows at
    100k reports: no Python object per fact.
    """
    n = facts.num_rows
    side, other = ("", "old_") if change == "added" else ("old_", "")
    columns: dict[str, pa.Array] = {
        "run_id": pa.array([run_id] * n, pa.string()),
        "doc": facts.column("doc"),
        "change": pa.array([change] * n, pa.string()),
        "fields": pa.nulls(n, pa.string()),
    }
    for name in SHOWN:
        columns[f"{side}{name}"] = facts.column(name)
        columns[f"{other}{name}"] = pa.nulls(n, DIFF_SCHEMA.field(name).type)
    return pa.Table.from_pydict({name: columns[name] for name in DIFF_SCHEMA.names}, schema=DIFF_SCHEMA)


def diff_table(rows: Iterable[Mapping[str, Any]], run_id: str) -> pa.Table:
    """Diff rows as a DIFF_SCHEMA table."""
    columns: dict[str, list[Any]] = {name: [] for name in DIFF_SCHEMA.names}
    for row in rows:
        columns["run_id"].append(run_id)
        for name in DIFF_SCHEMA.names[1:]:
            columns[name].append(row.get(name))
    return pa.Table.from_pydict(columns, schema=DIFF_SCHEMA)


# What must be equal, row by row, for a report's facts to count as unchanged.
SAME_COLUMNS = ["start", "end", *COMPARED]


def _columns(table: pa.Table | None) -> list[dict[str, Any]]:
    return table.select(DIFF_COLUMNS).to_pylist() if table is not None else []


def report_diff(file: str, old: pa.Table | None, new: pa.Table | None, run_id: str) -> pa.Table:
    """Diff rows of one report; a report new or gone goes the fast, Arrow-only way."""
    if old is None or old.num_rows == 0:
        return one_sided(new if new is not None else FACT_SCHEMA.empty_table(), "added", run_id)
    if new is None or new.num_rows == 0:
        return one_sided(old, "removed", run_id)
    if old.num_rows == new.num_rows and old.select(SAME_COLUMNS).equals(new.select(SAME_COLUMNS)):
        return DIFF_SCHEMA.empty_table()  # a rule edit leaves most reports as they were
    rows = compare(file, _columns(old), _columns(new))
    return diff_table(rows, run_id) if rows else DIFF_SCHEMA.empty_table()


@dataclass
class DiffSummary:
    """Counts of a run's diff by change, report and rule, and a few examples to print."""

    totals: Counter[str] = field(default_factory=Counter)
    by_doc: dict[str, Counter[str]] = field(default_factory=dict)
    by_rule: dict[str, Counter[str]] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    max_examples: int = 5

    def add(self, table: pa.Table) -> None:
        """Count a DIFF_SCHEMA table's rows (grouped in Arrow: a diff can have millions)."""
        if table.num_rows == 0:
            return
        removed = pc.equal(table.column("change"), "removed")
        renamed = pc.fill_null(pc.and_(pc.equal(table.column("change"), "changed"),
                                       pc.not_equal(table.column("old_rule"), table.column("rule"))), False)
        rule = pc.if_else(removed, table.column("old_rule"), table.column("rule"))
        rule = pc.if_else(renamed, pc.binary_join_element_wise(table.column("old_rule"), table.column("rule"),
                                                               " -> "), rule)
        keyed = pa.table({"doc": table.column("doc"), "change": table.column("change"),
                          "rule": pc.fill_null(rule, "?")})
        for key, groups in (("doc", self.by_doc), ("rule", self.by_rule)):
            counted = keyed.group_by([key, "change"]).aggregate([([], "count_all")])
            for row in counted.to_pylist():
                groups.setdefault(row[key], Counter())[row["change"]] += row["count_all"]
                if key == "doc":
                    self.totals[row["change"]] += row["count_all"]
        room = self.max_examples - len(self.examples)
        if room > 0:
            head = table.slice(0, room).select(["doc", "change", "rule", "old_rule", "old_text", "text",
                                                "fields", "old_value", "value", "old_unit", "unit"])
            self.examples += [_example(row) for row in head.to_pylist()]

    def merge(self, other: DiffSummary) -> None:
        """Add the counts of another part of the run (a chunk's, counted where it was diffed)."""
        self.totals.update(other.totals)
        for mine, theirs in ((self.by_doc, other.by_doc), (self.by_rule, other.by_rule)):
            for key, counts in theirs.items():
                mine.setdefault(key, Counter()).update(counts)
        room = self.max_examples - len(self.examples)
        if room > 0:
            self.examples += other.examples[:room]

    @property
    def added(self) -> int:
        return self.totals["added"]

    @property
    def removed(self) -> int:
        return self.totals["removed"]

    @property
    def changed(self) -> int:
        return self.totals["changed"]

    def lines(self, top: int = 8) -> list[str]:
        """A short human summary: totals, then the reports and rules with most changes."""
        if not self.totals:
            return ["Changes: none"]
        out = [f"Changes: +{self.added} added, -{self.removed} removed, ~{self.changed} changed"]
        for title, groups in (("by report", self.by_doc), ("by rule", self.by_rule)):
            ranked = sorted(groups.items(), key=lambda item: (-sum(item[1].values()), item[0]))
            parts = [f"{printable(name)} {_counts(c)}" for name, c in ranked[:top]]
            more = f"; ... {len(ranked) - top} more" if len(ranked) > top else ""
            out.append(f"  {title}: " + "; ".join(parts) + more)
        out += [f"    {example}" for example in self.examples]
        return out


def _counts(counter: Counter[str]) -> str:
    signs = (("added", "+"), ("removed", "-"), ("changed", "~"))
    return " ".join(f"{sign}{counter[name]}" for name, sign in signs if counter[name])


def _example(row: Mapping[str, Any]) -> str:
    """One change as a line; names and mentions come from the reports, so they are printed escaped."""
    doc, change = printable(row["doc"]), row["change"]
    text, old = printable(row["text"] or ""), printable(row["old_text"] or "")
    if change == "added":
        return f"+ {doc}: {text} = {row['value']:g} {row['unit']} ({row['rule']})"
    if change == "removed":
        return f"- {doc}: {old} = {row['old_value']:g} {row['old_unit']} ({row['old_rule']})"
    return (f"~ {doc}: {old} -> {text} [{row['fields']}]: "
            f"{row['old_value']:g} {row['old_unit']} -> {row['value']:g} {row['unit']}")
