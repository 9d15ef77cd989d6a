"""A static review site over a run's output: open `OUTPUT/review/index.html` from disk.

Layout (no server, no network: scripts and styles are files beside the pages)::

    review/index.html            summary, charts (inline SVG), reports table,
                                 facts table filtered and paged in the browser
    review/data/reports.js       report names and the categorical dictionaries
    review/data/facts-00000.js   facts as columns, FACT_CHUNK rows per file
    review/reports/<doc_id>.html one report's text, every fact highlighted
    review/assets/               review.css, index.js, report.js

Sized for 100k reports and millions of facts: the index carries no report
text, the facts travel as numbers into dictionaries, each report's page holds
only its own text, and the facts are read one segment at a time (memory does
not grow with them, see `data`). The folder is written aside and swapped in,
so a reader never sees half a review. Report pages rendered by the chunk
tasks are hard-linked from the page store (`pagestore`), not rendered again.
"""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from pipeline.processes import memory
from pipeline.storage.contentstore import link_or_copy
from pipeline.storage.paths import REVIEW_DIR
from pipeline.views.review import pages
from pipeline.views.review.data import (
    Corpus,
    FactChunks,
    Texts,
    fact_batches,
    load,
    report_slices,
    report_text,
    saved_text_source,
    text_path,
)
from pipeline.views.review.pages import PageStatus, index_page
from pipeline.views.version import REVIEW_RECORD, ViewsVersion

FACT_CHUNK = 50_000
ASSETS = (pages.STYLESHEET, pages.INDEX_SCRIPT, pages.REPORT_SCRIPT)
CLEAN = PageStatus(text=True, mismatched=0)  # the status of every stored page

memory.lean_arrow_pool()


def write_review(output: Path, texts: Texts = None, pages: Mapping[str, Path] | None = None,
                 version: ViewsVersion | None = None) -> Path:
    """Write OUTPUT/review from OUTPUT/facts and OUTPUT/documents; returns the index path.

    Report texts come from OUTPUT/text/<doc>.txt when saved there, else from
    `texts` (a mapping or a function of the `doc` path, e.g. reading raw/);
    a report without text still gets a page listing its facts, and the index
    counts it. `pages` maps a report's `doc` to where its clean page is
    stored (pipeline.views.review.pagestore): a stored page is hard-linked, not
    rendered, and a clean page rendered here is stored there for the next
    review. `version` is recorded as `review/version.json` (pipeline.views.version).
    Raises FileNotFoundError when the output has no facts yet.
    """
    corpus = load(output)
    staging = output / f".{REVIEW_DIR}-{uuid.uuid4().hex[:12]}.tmp"
    try:
        (staging / "reports").mkdir(parents=True)
        (staging / "data").mkdir()
        _copy_assets(staging / "assets")
        statuses = _link_pages(staging / "reports", corpus, pages or {})
        _write_pages_and_data(staging, corpus, output, texts, pages or {}, statuses)
        index = index_page(
            corpus.reports,
            [statuses[report.doc] for report in corpus.reports],
            corpus.facts,
            corpus.tally.charts(),
            ["reports.js", *(_chunk_name(n) for n in range(_chunk_count(corpus.facts)))],
            datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        )
        (staging / "index.html").write_text(index, encoding="utf-8")
        if version is not None:  # inside the folder swapped in: never a record without its review
            (staging / REVIEW_RECORD).write_text(version.to_json(), encoding="utf-8")
        _swap(staging, output / REVIEW_DIR)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return output / REVIEW_DIR / "index.html"


def _link_pages(folder: Path, corpus: Corpus, stored: Mapping[str, Path]) -> dict[str, PageStatus]:
    """Hard-link every stored page there is into `folder`; returns their status (only clean pages are stored)."""
    statuses: dict[str, PageStatus] = {}
    for report in corpus.reports:
        source = stored.get(report.doc)
        if source is not None and _link(source, folder / report.page):
            statuses[report.doc] = CLEAN
    return statuses


def _link(source: Path, target: Path) -> bool:
    """Link (or copy) a stored page; False if it cannot be had, and the page is rendered instead.

    That is: collected, another report's page by that name, or a failed copy
    (the rendering replaces a partial one).
    """
    try:
        link_or_copy(source, target)
    except OSError:
        return False
    return True


def _store(page: Path, target: Path) -> None:
    """Keep a clean page rendered here in the page store too, so the next review links it."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        link_or_copy(page, target)
    except OSError:
        pass  # stored meanwhile (same key, same page), or no hard links here: rendered next time


def _write_pages_and_data(
    staging: Path, corpus: Corpus, output: Path, texts: Texts, stored: Mapping[str, Path],
    statuses: dict[str, PageStatus],
) -> None:
    """Second pass over the facts: every report's page not linked yet and the index's data files.

    Adds each rendered page's status to `statuses`.
    """
    by_doc = {report.doc: report for report in corpus.reports}
    linked = set(statuses)

    def write_page(doc: str, facts: list[dict[str, Any]]) -> None:
        report = by_doc[doc]
        text = report_text(output, doc, texts)
        html, statuses[doc] = pages.report_page(report, facts, text)
        page = staging / "reports" / report.page
        page.unlink(missing_ok=True)  # a linked page of the same name: never write through to the store
        page.write_text(html, encoding="utf-8")
        if doc in stored and statuses[doc] == CLEAN and text.source == saved_text_source(doc):
            _store(page, stored[doc])  # what the chunk would have stored: a text from `texts` is not

    data = staging / "data"
    reports = [[r.doc, r.page] for r in corpus.reports]
    (data / "reports.js").write_text(
        "window.REVIEW={reports:" + pages.script_json(reports) + ",dict:" + pages.script_json(corpus.dicts)
        + ",chunks:[]};\n",
        encoding="utf-8",
    )
    chunks = FactChunks(corpus.reports, corpus.dicts, FACT_CHUNK)
    number = 0

    def write_chunks(done: Iterator[dict[str, list[Any]]]) -> None:
        nonlocal number
        for chunk in done:
            (data / _chunk_name(number)).write_text(
                f"REVIEW.chunks.push({pages.script_json(chunk)});\n", encoding="utf-8")
            number += 1

    for batch in fact_batches(corpus):
        for doc, facts in report_slices(batch, skip=linked, limit=pages.PAGE_FACTS_MAX):
            write_page(doc, facts)
        write_chunks(chunks.add(batch))
        del batch
        memory.release(cycles=False)  # one group's facts at a time (and no cycles made)
    write_chunks(chunks.rest())
    for report in corpus.reports:
        if report.doc not in statuses:  # in the documents table, without facts
            write_page(report.doc, [])


def _chunk_name(number: int) -> str:
    return f"facts-{number:05d}.js"


def _chunk_count(facts: int) -> int:
    return -(-facts // FACT_CHUNK)


def _copy_assets(target: Path) -> None:
    target.mkdir()
    static = resources.files("pipeline.views.review").joinpath("static")
    for name in ASSETS:
        (target / name).write_bytes(static.joinpath(name).read_bytes())


def _swap(staging: Path, review: Path) -> None:
    """Replace the review folder by the staged one (two renames; the old one is removed after)."""
    old = review.with_name(f".{review.name}-{uuid.uuid4().hex[:12]}.old")
    if review.exists():
        os.rename(review, old)
    os.rename(staging, review)
    shutil.rmtree(old, ignore_errors=True)


__all__ = ["REVIEW_DIR", "Texts", "text_path", "write_review"]
