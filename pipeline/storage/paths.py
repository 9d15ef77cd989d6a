"""Every path inside an output folder, named once.

    OUTPUT/
      facts, documents, runs,      links readers open; each points into
      diffs, errors, text            current/ and never changes
      current                      -> .versions/<run id>: the pointer a publish switches
      .versions/<run id>/          one complete output version (manifest.parquet inside)
      .state/segments/facts/       facts of a chunk of reports, by chunk key
      .state/segments/documents/   document rows of a chunk, by chunk key
      .state/text/                 report texts, by the report's sha256
      .state/pages/                rendered review pages, by page key
      .state/diffs/<run id>/       diff rows staged by a run's chunks
      .lock                        held by the one run writing this folder
      review/                      the review site (index.html)
      facts.duckdb                 DuckDB views over the Parquet
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

VERSIONS_DIR = ".versions"
CURRENT_LINK = "current"
FACTS_DIR = "facts"
DOCUMENTS_DIR = "documents"
RUNS_DIR = "runs"
DIFFS_DIR = "diffs"
ERRORS_DIR = "errors"
TEXT_DIR = "text"  # the texts fact offsets index (pipeline.storage.texts)
READER_DIRS = (FACTS_DIR, DOCUMENTS_DIR, RUNS_DIR, DIFFS_DIR, ERRORS_DIR, TEXT_DIR)
MANIFEST_NAME = "manifest.parquet"  # inside a version (pipeline.runs.manifest)
WRITING_MARK = ".writing"  # flock'ed by the process staging a version
PUBLISH_LOCK = ".publish.lock"

STATE_DIR = ".state"
SEGMENTS_DIR = "segments"  # under STATE_DIR (pipeline.runs.segments)
TEXT_STORE = Path(STATE_DIR) / "text"
PAGE_STORE = Path(STATE_DIR) / "pages"
DIFFS_STAGE = "diffs"  # under STATE_DIR (pipeline.runs.staged_diffs)

LOCK_NAME = ".lock"
REVIEW_DIR = "review"
DATABASE_NAME = "facts.duckdb"


def stamped_id() -> str:
    """A sortable, unique name for a run or a version: UTC time, then a random suffix."""
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex[:8]}"


def temporary(path: Path) -> Path:
    """A hidden name beside `path` to write it under before an atomic rename."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
