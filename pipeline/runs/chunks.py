"""One chunk of reports: link its stored segment, or extract what changed and store it.

A chunk's segment holds the facts of every member report (pipeline.runs.segments).
Members whose key is unchanged are carried: their rows are read from the
segment they were in, not extracted again. Members new, edited or keyed to
other rules or code are read and extracted, and their old and new facts
diffed; the diff rows wait in a file for the run to collect
(pipeline.runs.staged_diffs), not in the outcome. `process_chunk` is what
`pipeline.runs.run.run` calls per chunk and what `flows.py` runs as one Prefect task.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pyarrow as pa

from pipeline.facts import extract
from pipeline.ingest import reports as ingest
from pipeline.printable import printable
from pipeline.processes import memory
from pipeline.records import Document, ReadError
from pipeline.rules.compiler import Rules
from pipeline.runs import staged_diffs as diffstore
from pipeline.runs.diff import report_diff
from pipeline.runs.keys import chunk_key, report_key
from pipeline.runs.manifest import Entry
from pipeline.runs.plan import ChunkJob, Member, RunContext, catalogue_entry
from pipeline.runs.segments import Segments
from pipeline.runs.staged_diffs import StagedDiff
from pipeline.storage.parquet import FACT_SCHEMA, document_row, documents_table, facts_table
from pipeline.storage.texts import TextStore
from pipeline.views.review.pagestore import PageStore, clean_page, page_key

log = logging.getLogger(__name__)
@dataclass(frozen=True)
class ChunkOutcome:
    """What one chunk contributed: its segment, state entries, counts, failures and diff."""

    index: int
    segment: str | None  # None when no report of the chunk could be read
    entries: tuple[Entry, ...]
    extracted: int
    skipped: int
    failed: tuple[ReadError, ...]  # unreadable reports (bad data)
    crashed: tuple[ReadError, ...]  # reports the extractor raised on (a bug)
    diff: StagedDiff  # diff rows of the chunk's reports that are still there, staged (pipeline.runs.staged_diffs)


def _by_doc(table: pa.Table, column: str) -> dict[str, pa.Table]:
    """Split a table into one table per value of `column`, keeping row order.

    Segments hold each report's rows together, so the parts are zero-copy slices.
    """
    parts: dict[str, list[pa.Table]] = defaultdict(list)
    values = table.column(column).to_pylist()
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            parts[values[start]].append(table.slice(start, i - start))
            start = i
    return {value: pieces[0] if len(pieces) == 1 else pa.concat_tables(pieces)
            for value, pieces in parts.items()}


def _old_facts(segments: Segments, members: Sequence[Member]) -> tuple[dict[str, pa.Table], dict[str, pa.Table]]:
    """Previous facts and document rows of members, reading each old segment once."""
    wanted: dict[str, list[str]] = defaultdict(list)
    for member in members:
        if member.previous is not None and segments.has(member.previous.segment):
            wanted[member.previous.segment].append(member.file)
    facts: dict[str, pa.Table] = {}
    documents: dict[str, pa.Table] = {}
    for segment, files in wanted.items():
        old_facts, old_documents = segments.read(segment, files)
        facts.update(_by_doc(old_facts, "doc"))
        documents.update(_by_doc(old_documents, "file"))
    return facts, documents


def carried(job: ChunkJob, context: RunContext, segments: Segments) -> set[str]:
    """The members whose facts come from their previous segment; the others are read and extracted."""
    return {m.file for m in job.members if not context.force and not m.changed and m.previous is not None
            and segments.has(m.previous.segment)}


def process_chunk(job: ChunkJob, context: RunContext, rules: Rules | None) -> ChunkOutcome:
    """Link or build one chunk's segment; `rules` may be None for a stored chunk."""
    segments = context.segments()
    if job.stored:
        return _stored_chunk(job, context, segments)
    if rules is None:
        raise ValueError("a chunk to extract needs the rules")
    carry = carried(job, context, segments)
    old_facts, old_documents = _old_facts(segments, job.members)
    facts: list[pa.Table] = []
    rows: list[pa.Table] = []
    kept: list[Member] = []
    counts: list[int] = []
    diff: list[pa.Table] = []
    failed: list[ReadError] = []
    crashed: list[ReadError] = []
    extracted = 0
    empty = FACT_SCHEMA.empty_table()
    texts = TextStore(context.output)
    pages = PageStore(context.output)
    for member in job.members:
        if member.file in carry and member.file in old_documents:
            table, doc_rows = old_facts.get(member.file, empty), old_documents[member.file]
        else:
            item = ingest.read_document(context.raw / member.file, context.raw, job.catalogue, policy=context.policy)
            if isinstance(item, ReadError):
                failed.append(item)
                continue
            if item.sha256 != member.sha256:  # edited since it was hashed: key what was read
                key = report_key(context.code_version, context.rules_version, member.file, item.sha256,
                                 *catalogue_entry(job.catalogue, member.file))
                member = replace(member, sha256=item.sha256, key=key)  # noqa: PLW2901 - the member as read
            try:
                table = _facts_of(item, rules)
            except Exception as exc:  # an extractor bug on one report must not sink the run
                log.exception("extraction failed on %s", printable(item.file))
                crashed.append(ReadError(item.file, f"extraction failed: {type(exc).__name__}: {exc}"))
                continue
            doc_rows = documents_table([document_row(item, table.num_rows)])
            texts.save(item.sha256, item.text)
            _store_page(pages, member.key, doc_rows, table, item.text)
            extracted += 1
            if member.changed or context.force:
                diff.append(report_diff(member.file, old_facts.get(member.file), table, context.run_id))
        facts.append(table)
        rows.append(doc_rows)
        kept.append(member)
        counts.append(table.num_rows)
    segment = chunk_key(m.key for m in kept) if kept else None
    if segment is not None and (context.force or not segments.has(segment)):
        segments.write(segment, pa.concat_tables(facts), pa.concat_tables(rows), context.rules_version)
    entries = tuple(m.entry(segment, n) for m, n in zip(kept, counts)) if segment else ()
    staged = diffstore.stage(context.output, context.run_id, job.index, diff)
    outcome = ChunkOutcome(job.index, segment, entries, extracted, len(kept) - extracted, tuple(failed),
                           tuple(crashed), staged)
    del facts, rows, old_facts, old_documents
    memory.release()  # the chunk's texts and tables: a worker's peak stays that of one chunk
    return outcome


def _facts_of(doc: Document, rules: Rules) -> pa.Table:
    """A report's facts as one table, made window by window: a long report's
    facts never all exist as Python objects at once (pipeline.text.windows)."""
    parts = [facts_table(facts) for facts in extract.extract_document_windows(doc, rules)]
    return parts[0] if len(parts) == 1 else pa.concat_tables(parts)


def _store_page(pages: PageStore, key: str, doc_rows: pa.Table, facts: pa.Table, text: str) -> None:
    """Render a just-extracted report's review page here, in parallel, and store it if clean.

    A page is a view: a failure is logged and the review renders that page itself.
    """
    try:
        if pages.path(page_key(key)).exists():
            return  # a forced rerun: same key, same page
        html = clean_page(doc_rows.to_pylist()[0], facts, text)
        if html is not None:
            pages.save(page_key(key), html)
    except Exception:
        log.exception("could not store the review page of %s", printable(doc_rows["file"][0].as_py()))


def _stored_chunk(job: ChunkJob, context: RunContext, segments: Segments) -> ChunkOutcome:
    """A chunk whose segment exists: nothing to extract; diff only members new to the output."""
    changed = [m for m in job.members if m.changed]
    diff: list[pa.Table] = []
    counts = {m.file: m.previous.facts for m in job.members if not m.changed and m.previous}
    if changed:
        new_facts, new_documents = segments.read(job.key, [m.file for m in changed])
        by_doc = _by_doc(new_facts, "doc")
        counts.update(zip(new_documents.column("file").to_pylist(),
                          new_documents.column("facts").to_pylist()))
        old_facts, _ = _old_facts(segments, changed)
        for member in changed:
            diff.append(report_diff(member.file, old_facts.get(member.file), by_doc.get(member.file), context.run_id))
    entries = tuple(m.entry(job.key, counts[m.file]) for m in job.members)
    staged = diffstore.stage(context.output, context.run_id, job.index, diff)
    return ChunkOutcome(job.index, job.key, entries, 0, len(job.members), (), (), staged)
