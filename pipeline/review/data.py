"""What the review pages show, read from the published Parquet and the report texts.

The facts are read once as Arrow columns (a million rows is ~100 MB), sorted
by report and offset, so each report's facts are one slice and the index's
data file is written column by column with categorical columns as numbers
into a dictionary: that keeps it near 40 bytes a fact for the browser.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

TEXT_DIR = "text"
FACTS_DIR = "facts"
DOCUMENTS_DIR = "documents"

# Shown in the index's facts table; categorical ones travel as dictionary indices.
CATEGORICAL = ("unit", "metric", "region", "period", "type", "qualifier", "rule")
FACT_COLUMNS = ("doc", "doc_id", "start", "end", "text", "value", *CATEGORICAL, "dimension", "sentence")
DOCUMENT_COLUMNS = ("doc_id", "file", "title", "published", "characters", "facts")
_SAFE_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")

Texts = Mapping[str, str] | Callable[[str], str] | None


@dataclass(frozen=True)
class Report:
    """One report row of the index: the documents table, with what the review found."""

    doc: str  # path relative to raw/ (the facts' `doc`)
    doc_id: str
    page: str  # file name of its page under review/reports/
    title: str | None
    published: str | None  # ISO date
    characters: int | None
    facts: int  # facts in the facts table (the documents table's count may be older)
    first: int  # offset of its first fact in the sorted facts table


@dataclass(frozen=True)
class Corpus:
    """The published output as the review reads it."""

    facts: pa.Table  # FACT_COLUMNS, sorted by doc and start
    reports: tuple[Report, ...]  # sorted by doc


@dataclass(frozen=True)
class ReportText:
    """A report's text, or why it could not be had."""

    text: str | None
    source: str  # where it came from, or the reason it is missing


def load(output: Path) -> Corpus:
    """Read output/facts and output/documents; a missing dataset is an error naming it."""
    facts = _read(output / FACTS_DIR, FACT_COLUMNS).sort_by([("doc", "ascending"), ("start", "ascending")])
    documents = _read(output / DOCUMENTS_DIR, DOCUMENT_COLUMNS)
    counts = _doc_slices(facts)
    rows = {row["file"]: row for row in documents.to_pylist()}
    reports: list[Report] = []
    for doc in sorted(set(rows) | set(counts)):
        row = rows.get(doc, {})
        first, count = counts.get(doc, (0, 0))
        doc_id = row.get("doc_id") or (facts["doc_id"][first].as_py() if count else doc)
        published = row.get("published")
        reports.append(
            Report(
                doc=doc,
                doc_id=doc_id,
                page=page_name(doc_id),
                title=row.get("title"),
                published=published.isoformat() if published is not None else None,
                characters=row.get("characters"),
                facts=count,
                first=first,
            )
        )
    return Corpus(facts=facts, reports=tuple(reports))


def _read(path: Path, columns: tuple[str, ...]) -> pa.Table:
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no Parquet dataset here (run the pipeline first)")
    try:
        return pq.read_table(path.resolve(), columns=list(columns))
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(f"{path}: cannot read the Parquet dataset: {exc}") from exc


def _doc_slices(facts: pa.Table) -> dict[str, tuple[int, int]]:
    """doc -> (first row, row count) in the sorted facts table."""
    if facts.num_rows == 0:
        return {}
    docs = pc.unique(facts["doc"])
    codes = pc.index_in(facts["doc"], value_set=docs).to_numpy(zero_copy_only=False)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(codes)) + 1))
    ends = np.concatenate((starts[1:], [len(codes)]))
    names = docs.to_pylist()
    return {names[codes[s]]: (int(s), int(e - s)) for s, e in zip(starts, ends)}


def page_name(doc_id: str) -> str:
    """A report page's file name: the doc id when it is a plain id, else a hash of it."""
    if _SAFE_ID.fullmatch(doc_id):
        return f"{doc_id}.html"
    return f"{hashlib.sha1(doc_id.encode('utf-8')).hexdigest()[:16]}.html"


def report_facts(corpus: Corpus, report: Report) -> list[dict[str, Any]]:
    """The report's facts as row dicts, in text order."""
    return corpus.facts.slice(report.first, report.facts).to_pylist()


def text_path(output: Path, doc: str) -> Path:
    """Where a run saves the text a report's facts index: OUTPUT/text/<doc>.txt."""
    return output / TEXT_DIR / f"{doc}.txt"


def report_text(output: Path, doc: str, texts: Texts) -> ReportText:
    """The saved text if there is one, else the `texts` argument's; never raises for one report."""
    base = (output / TEXT_DIR).resolve()
    saved = text_path(output, doc)
    if saved.resolve().is_relative_to(base) and saved.is_file():
        try:
            return ReportText(saved.read_text(encoding="utf-8"), str(saved))
        except (OSError, UnicodeDecodeError) as exc:
            return ReportText(None, f"cannot read {saved}: {exc}")
    if texts is None:
        return ReportText(None, f"no saved text ({saved} is missing)")
    try:
        text = texts(doc) if callable(texts) else texts[doc]
    except KeyError:
        return ReportText(None, "no text given for this report")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return ReportText(None, f"cannot read the text: {exc}")
    return ReportText(text, "given to write_review")


def dictionaries(facts: pa.Table) -> dict[str, list[Any]]:
    """Each categorical column's distinct values, sorted (nulls left out: they are -1)."""
    return {name: sorted(v for v in pc.unique(facts[name]).to_pylist() if v is not None) for name in CATEGORICAL}


def fact_chunks(
    corpus: Corpus, dicts: Mapping[str, list[Any]], rows: int
) -> Iterator[dict[str, list[Any]]]:
    """The facts table in chunks of columns: report index, position in its report, values, codes."""
    facts = corpus.facts
    report_of = np.zeros(facts.num_rows, dtype=np.int64)
    position = np.zeros(facts.num_rows, dtype=np.int64)
    for index, report in enumerate(corpus.reports):
        report_of[report.first : report.first + report.facts] = index
        position[report.first : report.first + report.facts] = np.arange(report.facts)
    codes = {
        name: pc.fill_null(pc.index_in(facts[name], value_set=pa.array(dicts[name], pa.string())), -1)
        for name in CATEGORICAL
    }
    for start in range(0, facts.num_rows, rows):
        stop = min(start + rows, facts.num_rows)
        chunk: dict[str, list[Any]] = {
            "report": report_of[start:stop].tolist(),
            "k": position[start:stop].tolist(),
            "text": facts["text"].slice(start, stop - start).to_pylist(),
            "value": [_number(v) for v in facts["value"].slice(start, stop - start).to_pylist()],
        }
        for name in CATEGORICAL:
            chunk[name] = codes[name].slice(start, stop - start).to_pylist()
        yield chunk


def _number(value: float | None) -> float | int | None:
    """JSON has no NaN or infinity; integral values lose their `.0` to save bytes."""
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return None
    return int(value) if value.is_integer() and abs(value) < 2**53 else value
