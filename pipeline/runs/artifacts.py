"""What a finished run shows beside its logs: the summary, what changed, the errors, the review site.

flows.py publishes these as Prefect artifacts under the stable keys below, so
the UI shows each one's history run after run; this module builds their
content from the run's summary and its published diff, without Prefect, so
tests read it directly. Everything a report's name or a fact's text puts
into the Markdown is escaped: a name with `|`, `<` or a newline cannot break
the tables or inject markup.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipeline.runs.run import RunSummary
from pipeline.storage.paths import DIFFS_DIR, REVIEW_DIR

SUMMARY_KEY = "ip-figures-run-summary"
CHANGES_KEY = "ip-figures-changes"
ERRORS_KEY = "ip-figures-errors"
REVIEW_KEY = "ip-figures-review-site"
TOP = 20  # reports and rules listed in the changes, largest first
FIRST_ROWS = 10  # diff rows shown in the changes
CHANGES = ("added", "removed", "changed")


@dataclass(frozen=True)
class Artifacts:
    """The content of a run's four artifacts."""

    summary: list[dict[str, Any]]  # one row
    changes: str  # Markdown
    errors: list[dict[str, str]]  # file, reason, kind; no rows when nothing failed
    review: str  # file:// URL of the review site


def artifacts(summary: RunSummary) -> Artifacts:
    """Everything the run shows, from its summary and the diff it published."""
    return Artifacts(summary_rows(summary), changes_markdown(summary), error_rows(summary), review_url(summary.output))


def summary_rows(summary: RunSummary) -> list[dict[str, Any]]:
    """The run's counts as a one-row table."""
    return [{
        "run": summary.run_id, "seen": summary.seen, "extracted": summary.extracted, "unchanged": summary.skipped,
        "failed": len(summary.failed) + len(summary.crashed), "removed reports": summary.gone,
        "facts": summary.facts, "added": summary.changes.added, "removed": summary.changes.removed,
        "changed": summary.changes.changed, "rules version": summary.rules_version,
        "seconds": round(summary.seconds, 1),
    }]


def error_rows(summary: RunSummary) -> list[dict[str, str]]:
    """One row per report that failed: unreadable (bad data) or crashed (an extractor bug)."""
    return ([{"file": e.file, "reason": e.reason, "kind": "unreadable"} for e in summary.failed]
            + [{"file": e.file, "reason": e.reason, "kind": "crashed"} for e in summary.crashed])


def review_url(output: Path) -> str:
    return (output / REVIEW_DIR / "index.html").resolve().as_uri()


def diff_files(summary: RunSummary) -> list[Path]:
    """The run's own diff files in its published version (none if nothing changed)."""
    folder = summary.version / DIFFS_DIR
    return sorted(folder.glob(f"diff-{summary.run_id}-*.parquet")) if folder.is_dir() else []


def first_rows(files: list[Path], count: int = FIRST_ROWS) -> list[dict[str, Any]]:
    """The first `count` diff rows, reading no more than the batch that holds them."""
    rows: list[dict[str, Any]] = []
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=count):
            rows += batch.to_pylist()[:count - len(rows)]
            break
        if len(rows) >= count:
            break
    return rows


def changes_markdown(summary: RunSummary) -> str:
    """What the run changed, per report and per rule, its first rows, and where the full diff is."""
    changes = summary.changes
    lines = [f"# What run {summary.run_id} changed", ""]
    if not changes.totals:
        lines.append(f"Nothing: the facts are those of the previous run ({summary.facts:,} facts, rules "
                     f"`{summary.rules_version[:12]}`).")
        return "\n".join(lines) + "\n"
    lines += [f"**+{changes.added:,} added, -{changes.removed:,} removed, ~{changes.changed:,} changed** facts "
              f"({summary.facts:,} in all, rules `{summary.rules_version[:12]}`).", ""]
    for title, groups in (("report", changes.by_doc), ("rule", changes.by_rule)):
        lines += [f"## By {title}", "", f"| {title} | added | removed | changed |", "|---|---:|---:|---:|"]
        ranked = sorted(groups.items(), key=lambda item: (-sum(item[1].values()), item[0]))
        lines += [_counts_row(name, counts) for name, counts in ranked[:TOP]]
        if len(ranked) > TOP:
            lines.append(f"| … and {len(ranked) - TOP:,} more | | | |")
        lines.append("")
    files = diff_files(summary)
    rows = first_rows(files)
    lines += [f"## First {len(rows)} rows", "", "| change | report | was | now | rule |", "|---|---|---|---|---|"]
    lines += [_diff_row(row) for row in rows]
    where = summary.output / DIFFS_DIR
    lines += ["", "## The full diff", "",
              f"{sum(changes.totals.values()):,} rows in `{_code(str(where))}`"
              f" (files `diff-{summary.run_id}-*.parquet`), for example with DuckDB:", "",
              "```sql",
              f"SELECT * FROM read_parquet('{_sql(str(where))}/*.parquet') WHERE run_id = '{summary.run_id}';",
              "```"]
    return "\n".join(lines) + "\n"


def _counts_row(name: str, counts: Counter[str]) -> str:
    return f"| {_cell(name)} | " + " | ".join(f"{counts.get(change, 0):,}" for change in CHANGES) + " |"


def _diff_row(row: dict[str, Any]) -> str:
    was = _fact(row, "old_") if row["change"] != "added" else ""
    now = _fact(row, "") if row["change"] != "removed" else ""
    rule = row["rule"] if row["change"] != "removed" else row["old_rule"]
    if row["change"] == "changed" and row.get("fields"):
        now += f" ({row['fields']})"
    return f"| {row['change']} | {_cell(row['doc'])} | {_cell(was)} | {_cell(now)} | {_cell(rule or '')} |"


def _fact(row: dict[str, Any], side: str) -> str:
    value = row.get(f"{side}value")
    shown = "" if value is None else f" = {value:g} {row.get(f'{side}unit') or ''}".rstrip()
    return f"{row.get(f'{side}text') or ''}{shown}"


def _cell(text: str) -> str:
    """Text for a Markdown table cell: one line, no column break, no markup."""
    return (" ".join(str(text).split()).replace("\\", "\\\\").replace("|", "\\|").replace("&", "&amp;")
            .replace("<", "&lt;").replace(">", "&gt;").replace("`", "\\`").replace("*", "\\*").replace("_", "\\_"))


def _code(text: str) -> str:
    return " ".join(text.split()).replace("`", "'")


def _sql(text: str) -> str:
    return _code(text).replace("'", "''")
