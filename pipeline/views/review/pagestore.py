"""Report pages rendered where their report was extracted, stored by content key.

Rendering every report's page in the one process that writes the review was
a serial tail at the end of each run, and re-rendered every page when one
report changed. A chunk task renders the page of each report it extracts
(in parallel, with the text and facts at hand) and stores it as
`OUTPUT/.state/pages/<page key>.html`; the review hard-links stored pages
into its `reports/` folder and renders only the others.

The page key hashes the report key (its bytes, catalogue entry, rules and
extraction code, `pipeline.runs.keys.report_key`) and the review code: `review/`
is plumbing to the report key, so without it an edited template would be
served stale pages. Only clean pages are stored (text present, every fact
slicing its mention out of it); the review renders the rest and shows why.
Pages are written under a temporary name and renamed, and collected once no
review links them, as `pipeline.storage.texts` does for texts.
"""
from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.storage.contentstore import ContentStore
from pipeline.storage.paths import PAGE_STORE
from pipeline.views.review.data import ReportText, document_report, saved_text_source
from pipeline.views.review.pages import PAGE_COLUMNS, PAGE_FACTS_MAX, report_page


@functools.cache
def review_code_version() -> str:
    """Hash of the review's source (pipeline/review/*.py): what a page is rendered by."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def page_key(report_key: str) -> str:
    """The key of a report's page: its report key and the review code's version."""
    return hashlib.sha256(f"{report_key}\0{review_code_version()}".encode()).hexdigest()[:32]


def clean_page(document: Mapping[str, Any], facts: pa.Table, text: str) -> str | None:
    """The page the review would render for a report just extracted, or None unless it is clean.

    `document` is the report's documents row, `facts` its FACT_SCHEMA rows in
    extraction order and `text` the text saved for it: the same Report, fact
    rows (sorted by start, as the review sorts them, stably) and text the
    review reads back from the published output.
    """
    rows = facts.select(list(PAGE_COLUMNS)).sort_by([("start", "ascending")]).slice(0, PAGE_FACTS_MAX).to_pylist()
    report = document_report(document["file"], document, facts.num_rows)
    html, status = report_page(report, rows, ReportText(text, saved_text_source(report.doc)))
    return html if status.text and not status.mismatched else None


class PageStore(ContentStore):
    """Pages by page key, written once, linked into reviews, collected when no review links them.

    Collect only after the review is written: a page stored by this run is
    linked by nothing until then.
    """

    def __init__(self, output: Path) -> None:
        super().__init__(output / PAGE_STORE, ".html")

    def save(self, key: str, html: str) -> None:
        """Store a page unless it is stored already (same key, same page)."""
        if not self.path(key).exists():
            self.write(key, html.encode("utf-8"))  # as the review writes a page it renders
