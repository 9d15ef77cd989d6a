"""What the review pages show, read from the published Parquet and the report texts.

The facts are read one group of files at a time, never all at once: a
segment file holds a run of reports (sorted by name, pipeline.runs.plan.chunk),
so the files sorted by their first report, grouped where their reports
overlap, give the facts sorted by report and offset, a group at a time. Two
passes: `load` reads the small columns for the report list, the dictionaries
and the charts; `fact_batches` reads the groups again for the pages and the
index's data files, in which categorical columns travel as numbers into a
dictionary: that keeps them near 40 bytes a fact for the browser.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Container, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.storage.paths import DOCUMENTS_DIR, FACTS_DIR, TEXT_DIR
from pipeline.storage.texts import text_file
from pipeline.views.review.charts import Tally

# Shown in the index's facts table; categorical ones travel as dictionary indices.
CATEGORICAL = ("unit", "metric", "region", "period", "type", "qualifier", "rule")
FACT_COLUMNS = ("doc", "doc_id", "start", "end", "text", "value", *CATEGORICAL, "dimension")
# What the first pass reads: no mention or sentence text.
SUMMARY_COLUMNS = ("doc", "doc_id", "start", "value", *CATEGORICAL)
DOCUMENT_COLUMNS = ("doc_id", "file", "title", "published", "characters", "facts")
_SORT = [("doc", "ascending"), ("start", "ascending")]
_SAFE_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")

Texts = Mapping[str, str] | Callable[[str], str] | None


@dataclass(frozen=True, slots=True)
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
    """The published output as the review reads it; the facts stay in their files."""

    reports: tuple[Report, ...]  # sorted by doc
    facts: int  # facts in the facts table
    dicts: dict[str, list[Any]]  # each categorical column's distinct values, sorted
    groups: tuple[tuple[Path, ...], ...]  # fact files, in report order (see fact_groups)
    tally: Tally  # what the charts show


@dataclass(frozen=True)
class ReportText:
    """A report's text, or why it could not be had."""

    text: str | None
    source: str  # where it came from, or the reason it is missing


def load(output: Path) -> Corpus:
    """First pass over output/facts and output/documents; a missing dataset is an error naming it."""
    facts_dir, documents_dir = _dataset(output / FACTS_DIR), _dataset(output / DOCUMENTS_DIR)
    groups = fact_groups(facts_dir)
    documents = _read(documents_dir, DOCUMENT_COLUMNS)
    rows = {row["file"]: row for row in documents.to_pylist()}
    del documents
    values: dict[str, set[Any]] = {name: set() for name in CATEGORICAL}
    counts: dict[str, tuple[int, int, str]] = {}  # doc -> (first row, row count, doc_id of the first)
    tally = Tally()
    total = 0
    for group in groups:
        table = _read_group(group, SUMMARY_COLUMNS)
        for doc, (first, count) in _doc_slices(table).items():
            counts[doc] = (total + first, count, table["doc_id"][first].as_py())
        for name in CATEGORICAL:
            values[name].update(v for v in pc.unique(table[name]).to_pylist() if v is not None)
        tally.add(table)
        total += table.num_rows
    reports: list[Report] = []
    for doc in sorted(set(rows) | set(counts)):
        first, count, first_id = counts.get(doc, (0, 0, doc))
        reports.append(document_report(doc, rows.get(doc, {}), count, first, first_id))
    dicts = {name: sorted(values[name]) for name in CATEGORICAL}
    return Corpus(reports=tuple(reports), facts=total, dicts=dicts, groups=groups, tally=tally)


def document_report(doc: str, row: Mapping[str, Any], facts: int, first: int = 0,
                    first_id: str | None = None) -> Report:
    """A report's index row from its documents row ({} if none): the one shape the review and a chunk render."""
    doc_id = row.get("doc_id") or (doc if first_id is None else first_id)
    published = row.get("published")
    return Report(
        doc=doc,
        doc_id=doc_id,
        page=page_name(doc_id),
        title=row.get("title"),
        published=published.isoformat() if published is not None else None,
        characters=row.get("characters"),
        facts=facts,
        first=first,
    )


def _dataset(path: Path) -> Path:
    """The dataset folder, resolved once so both passes read the same version."""
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no Parquet dataset here (run the pipeline first)")
    return path.resolve()


def _files(folder: Path) -> list[Path]:
    """The dataset's Parquet files in name order, hidden ones (`.`, `_`) left out as a dataset reader does."""
    return sorted(p for p in folder.glob("*.parquet") if not p.name.startswith((".", "_")))


def _read(path: Path, columns: tuple[str, ...]) -> pa.Table:
    """A whole dataset: the documents, a row per report and no text."""
    try:
        return pq.read_table(path, columns=list(columns), use_threads=False)  # see _read_group
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(f"{path}: cannot read the Parquet dataset: {exc}") from exc


def fact_groups(folder: Path) -> tuple[tuple[Path, ...], ...]:
    """The folder's Parquet files in groups whose facts, sorted, follow each other in report order.

    Files are ordered by their first report and joined into one group while
    their report ranges overlap (a report in two files, legacy outputs); a run's
    segments do not overlap, so a group is one segment, a few thousand facts.
    """
    spans: list[tuple[str, str, Path]] = []
    for path in _files(folder):
        span = _doc_range(path)
        if span is not None:
            spans.append((*span, path))
    groups: list[list[Path]] = []
    last = ""
    for low, high, path in sorted(spans):
        if groups and low <= last:
            groups[-1].append(path)
            last = max(last, high)
        else:
            groups.append([path])
            last = high
    return tuple(tuple(sorted(group)) for group in groups)  # in name order, as a dataset reads them


def _doc_range(path: Path) -> tuple[str, str] | None:
    """(first, last) report of a facts file from its footer statistics, else its doc column; None if empty."""
    try:
        meta = pq.read_metadata(path)
        if meta.num_rows == 0:
            return None
        column = meta.schema.names.index("doc")
        stats = [meta.row_group(i).column(column).statistics for i in range(meta.num_row_groups)]
        if all(s is not None and s.has_min_max for s in stats):
            lows, highs = [s.min for s in stats if s is not None], [s.max for s in stats if s is not None]
            return _text(min(lows)), _text(max(highs))
        bounds = pc.min_max(pq.read_table(path, columns=["doc"])["doc"]).as_py()
    except (pa.ArrowInvalid, OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the Parquet file: {exc}") from exc
    return (bounds["min"], bounds["max"]) if bounds["min"] is not None else None


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _read_group(group: tuple[Path, ...], columns: tuple[str, ...]) -> pa.Table:
    """One group's facts, sorted by report and offset."""
    try:
        # One thread: Arrow's reader threads each keep their own allocator arena, and at
        # 1 GB the review process held ~120 MB more for it; the files are small anyway.
        tables = [pq.read_table(path, columns=list(columns), use_threads=False) for path in group]
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(f"{group[0].parent}: cannot read the Parquet dataset: {exc}") from exc
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="default")
    return table.sort_by(_SORT)


def fact_batches(corpus: Corpus) -> Iterator[pa.Table]:
    """Second pass: the facts (FACT_COLUMNS) sorted by report and offset, one group of files at a time."""
    for group in corpus.groups:
        yield _read_group(group, FACT_COLUMNS)


def _doc_slices(facts: pa.Table) -> dict[str, tuple[int, int]]:
    """doc -> (first row, row count) in a table sorted by doc."""
    if facts.num_rows == 0:
        return {}
    docs = pc.unique(facts["doc"])
    codes = pc.index_in(facts["doc"], value_set=docs).to_numpy(zero_copy_only=False)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(codes)) + 1))
    ends = np.concatenate((starts[1:], [len(codes)]))
    names = docs.to_pylist()
    return {names[codes[s]]: (int(s), int(e - s)) for s, e in zip(starts, ends)}


def report_slices(batch: pa.Table, skip: Container[str] = (), limit: int | None = None,
                  ) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(doc, its first `limit` facts as row dicts in text order) for every report of a sorted batch not in `skip`.

    Reports whose page is linked from the page store are skipped: their rows
    are never turned into Python objects.
    """
    for doc, (first, count) in _doc_slices(batch).items():
        if doc not in skip:
            yield doc, batch.slice(first, count if limit is None else min(count, limit)).to_pylist()


def page_name(doc_id: str) -> str:
    """A report page's file name: the doc id when it is a plain id, else a hash of it."""
    if _SAFE_ID.fullmatch(doc_id):
        return f"{doc_id}.html"
    return f"{hashlib.sha1(doc_id.encode('utf-8')).hexdigest()[:16]}.html"


def text_path(output: Path, doc: str) -> Path:
    """Where a run saves the text a report's facts index: OUTPUT/text/<doc>.txt, or a bounded name
    for a name too long for that (pipeline.storage.texts.text_file)."""
    return output / TEXT_DIR / text_file(doc)


def saved_text_source(doc: str) -> str:
    """How a page names a saved text: relative to the output folder, so a page is the same
    whichever way the output's path was spelled (and a page rendered in a chunk equals the review's)."""
    return f"{TEXT_DIR}/{text_file(doc)}"


def report_text(output: Path, doc: str, texts: Texts) -> ReportText:
    """The saved text if there is one, else the `texts` argument's; never raises for one report.

    The saved text is read with its line ends as written (a CR LF stays two
    characters): fact offsets index the text as decoded, not as universal
    newlines would fold it.
    """
    base = (output / TEXT_DIR).resolve()
    saved = text_path(output, doc)
    if saved.resolve().is_relative_to(base) and saved.is_file():
        try:
            with open(saved, encoding="utf-8", newline="") as handle:
                return ReportText(handle.read(), saved_text_source(doc))
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


class FactChunks:
    """The index's facts data in chunks of `rows`, built from the sorted batches as they come.

    Each chunk holds columns: report index, position in its report, mention,
    value, and each categorical column as an index into `dicts` (-1 for null).
    """

    def __init__(self, reports: tuple[Report, ...], dicts: Mapping[str, list[Any]], rows: int) -> None:
        self._index = {report.doc: i for i, report in enumerate(reports)}
        self._sets = {name: pa.array(dicts[name], pa.string()) for name in CATEGORICAL}
        self._rows = rows
        self._buffer: dict[str, list[Any]] = self._empty()

    def _empty(self) -> dict[str, list[Any]]:
        return {name: [] for name in ("report", "k", "text", "value", *CATEGORICAL)}

    def add(self, batch: pa.Table) -> Iterator[dict[str, list[Any]]]:
        """Take a sorted batch; yield the chunks it completes."""
        report_of = np.zeros(batch.num_rows, dtype=np.int64)
        position = np.zeros(batch.num_rows, dtype=np.int64)
        for doc, (first, count) in _doc_slices(batch).items():
            report_of[first : first + count] = self._index[doc]
            position[first : first + count] = np.arange(count)
        codes = {name: pc.fill_null(pc.index_in(batch[name], value_set=self._sets[name]), -1)
                 for name in CATEGORICAL}
        for start in range(0, batch.num_rows, self._rows):
            stop = min(start + self._rows, batch.num_rows)
            self._buffer["report"] += report_of[start:stop].tolist()
            self._buffer["k"] += position[start:stop].tolist()
            self._buffer["text"] += batch["text"].slice(start, stop - start).to_pylist()
            self._buffer["value"] += _numbers(batch["value"].slice(start, stop - start))
            for name in CATEGORICAL:
                self._buffer[name] += codes[name].slice(start, stop - start).to_pylist()
            while len(self._buffer["report"]) >= self._rows:
                yield self._take(self._rows)

    def rest(self) -> Iterator[dict[str, list[Any]]]:
        """The last, partial chunk, if any."""
        if self._buffer["report"]:
            yield self._take(len(self._buffer["report"]))

    def _take(self, rows: int) -> dict[str, list[Any]]:
        chunk = {name: values[:rows] for name, values in self._buffer.items()}
        self._buffer = {name: values[rows:] for name, values in self._buffer.items()}
        return chunk


def _numbers(values: pa.ChunkedArray) -> list[float | int | None]:
    """Each value as JSON can hold it: null for NaN and infinity (JSON has neither), an int for an
    integral value (its `.0` costs bytes), else the float. In bulk: one by one it took ~7 s for the
    3.9M facts of 1 GB."""
    floats = np.asarray(values.to_numpy(), dtype=np.float64)  # nulls are NaN
    out = floats.astype(object)
    finite = np.isfinite(floats)
    integral = finite & (np.floor(floats) == floats) & (np.abs(floats) < 2**53)
    out[integral] = floats[integral].astype(np.int64).astype(object)
    out[~finite] = None
    numbers: list[float | int | None] = out.tolist()
    return numbers
