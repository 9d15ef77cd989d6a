"""A static review site over a run's output: open `OUTPUT/review/index.html` from disk.

Layout (no server, no network: scripts and styles are files beside the pages)::

    review/index.html            summary, charts (inline SVG), reports table,
                                 facts table filtered and paged in the browser
    review/data/reports.js       report names and the categorical dictionaries
    review/data/facts-00000.js   facts as columns, FACT_CHUNK rows per file
    review/reports/<doc_id>.html one report's text, every fact highlighted
    review/assets/               review.css, index.js, report.js

Sized for 10k reports and a million facts: the index carries no report text,
the facts travel as numbers into dictionaries, and each report's page holds
only its own text. The folder is written aside and swapped in, so a reader
never sees half a review.
"""
from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from pipeline.review import charts, pages
from pipeline.review.data import (
    Corpus,
    Texts,
    dictionaries,
    fact_chunks,
    load,
    report_facts,
    report_text,
    text_path,
)

REVIEW_DIR = "review"
FACT_CHUNK = 50_000
ASSETS = (pages.STYLESHEET, pages.INDEX_SCRIPT, pages.REPORT_SCRIPT)


def write_review(output: Path, texts: Texts = None) -> Path:
    """Write OUTPUT/review from OUTPUT/facts and OUTPUT/documents; returns the index path.

    Report texts come from OUTPUT/text/<doc>.txt when saved there, else from
    `texts` (a mapping or a function of the `doc` path, e.g. reading raw/);
    a report without text still gets a page listing its facts, and the index
    counts it. Raises FileNotFoundError when the output has no facts yet.
    """
    corpus = load(output)
    staging = output / f".{REVIEW_DIR}-{uuid.uuid4().hex[:12]}.tmp"
    try:
        (staging / "reports").mkdir(parents=True)
        (staging / "data").mkdir()
        _copy_assets(staging / "assets")
        statuses = []
        for report in corpus.reports:
            facts = report_facts(corpus, report)
            html, status = pages.report_page(report, facts, report_text(output, report.doc, texts))
            (staging / "reports" / report.page).write_text(html, encoding="utf-8")
            statuses.append(status)
        data_files = _write_data(staging / "data", corpus)
        index = pages.index_page(
            corpus.reports,
            statuses,
            corpus.facts.num_rows,
            charts.charts(corpus.facts),
            data_files,
            datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        )
        (staging / "index.html").write_text(index, encoding="utf-8")
        _swap(staging, output / REVIEW_DIR)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return output / REVIEW_DIR / "index.html"


def _copy_assets(target: Path) -> None:
    target.mkdir()
    static = resources.files("pipeline.review").joinpath("static")
    for name in ASSETS:
        (target / name).write_bytes(static.joinpath(name).read_bytes())


def _write_data(folder: Path, corpus: Corpus) -> list[str]:
    """reports.js first (the facts files refer to its dictionaries), then the fact chunks."""
    dicts = dictionaries(corpus.facts)
    reports = [[r.doc, r.page] for r in corpus.reports]
    names = ["reports.js"]
    (folder / names[0]).write_text(
        "window.REVIEW={reports:" + pages.script_json(reports) + ",dict:" + pages.script_json(dicts)
        + ",chunks:[]};\n",
        encoding="utf-8",
    )
    for number, chunk in enumerate(fact_chunks(corpus, dicts, FACT_CHUNK)):
        name = f"facts-{number:05d}.js"
        (folder / name).write_text(f"REVIEW.chunks.push({pages.script_json(chunk)});\n", encoding="utf-8")
        names.append(name)
    return names


def _swap(staging: Path, review: Path) -> None:
    """Replace the review folder by the staged one (two renames; the old one is removed after)."""
    old = review.with_name(f".{review.name}-{uuid.uuid4().hex[:12]}.old")
    if review.exists():
        os.rename(review, old)
    os.rename(staging, review)
    shutil.rmtree(old, ignore_errors=True)


__all__ = ["REVIEW_DIR", "Texts", "text_path", "write_review"]
