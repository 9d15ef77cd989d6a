"""Which output version the views were built from, so that a run knows when they are stale.

The review site and the DuckDB database are built after a version is
published, in a process of their own (`pipeline.views.build`). A run killed
between the switch and that build left the review showing the old reports,
and later runs with nothing new never rebuilt it. So each view records what
it was built from, and a run compares that with what is published, whatever
else it did:

- `version`: the output version (its folder under `.versions/`, the run id);
- `content`: a hash of what the views show: the names of the version's fact
  and document files (content-addressed segments: the same name is the same
  rows), the review's code and the DuckDB view definitions, and the output
  folder's absolute path (DuckDB's views hold it). A run that changed nothing
  publishes a new version with the same content: its views stay as they are.

The review keeps its record in `review/version.json`, inside the folder that
is swapped in whole; the database in a view `output_version` of its own, and
in `facts.duckdb.version.json`, written after the database is in place, so
that a run compares records without loading DuckDB (a record older than the
database only costs a rebuild).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from pipeline.storage.paths import DATABASE_NAME, DOCUMENTS_DIR, FACTS_DIR, REVIEW_DIR
from pipeline.storage.versions import current_version

REVIEW_RECORD = "version.json"  # inside review/
DATABASE_RECORD = DATABASE_NAME + ".version.json"  # beside facts.duckdb


@dataclass(frozen=True)
class ViewsVersion:
    """What a view was built from (see the module docstring)."""

    version: str
    content: str

    def to_json(self) -> str:
        return json.dumps({"version": self.version, "content": self.content}) + "\n"


def published(output: Path) -> ViewsVersion | None:
    """The version the output publishes now, None before the first publish."""
    from pipeline.views.duckdb import VIEWS
    from pipeline.views.review.pagestore import review_code_version

    version = current_version(output)
    if version is None:
        return None
    digest = hashlib.sha256()
    for name in (FACTS_DIR, DOCUMENTS_DIR):
        folder = version / name
        files = sorted(entry.name for entry in os.scandir(folder)) if folder.is_dir() else []
        digest.update(f"{name}\0{len(files)}\0".encode() + "\0".join(files).encode())
    digest.update(f"\0{review_code_version()}\0{VIEWS}\0{output.absolute()}".encode())
    return ViewsVersion(version.name, digest.hexdigest()[:32])


def review_record(output: Path) -> Path:
    return output / REVIEW_DIR / REVIEW_RECORD


def database_record(output: Path) -> Path:
    return output / DATABASE_RECORD


def recorded(record: Path) -> ViewsVersion | None:
    """The version a view recorded, None if it recorded none (built before records, or never built)."""
    try:
        fields = json.loads(record.read_text(encoding="utf-8"))
        return ViewsVersion(str(fields["version"]), str(fields["content"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_record(record: Path, version: ViewsVersion) -> None:
    """Write a record atomically (a reader never sees half of one)."""
    temporary = record.with_name(f".{record.name}.{os.getpid()}.tmp")
    temporary.write_text(version.to_json(), encoding="utf-8")
    os.replace(temporary, record)


def stale(output: Path) -> bool:
    """Whether a view shows other content than the published version's, or is missing."""
    now = published(output)
    if now is None:
        return False
    views = (review_record(output), database_record(output))
    return any(getattr(recorded(record), "content", None) != now.content for record in views)
