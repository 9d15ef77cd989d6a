"""Content-addressed fact segments: the cache that makes reruns incremental.

A segment holds the facts and document rows of one chunk of reports
(`pipeline.runs.plan.chunk`), in two Parquet files named by the chunk's key::

    OUTPUT/.state/segments/facts/<key>.parquet
    OUTPUT/.state/segments/documents/<key>.parquet

The key hashes every member report's key, and a report key holds the
report's content hash, its catalogue entry, the rules version and the code
version (`pipeline.runs.keys.report_key`): a file under a key can only ever hold
what those inputs produce, so a rule or code edit can never be served a stale
segment. Output versions hard-link segments instead of copying them. Files
are written under a temporary name and renamed, documents first, and a
segment counts only when both files exist: a crash never leaves half a segment.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.storage.parquet import (
    DOCUMENT_DICTIONARY_COLUMNS,
    DOCUMENT_SCHEMA,
    FACT_DICTIONARY_COLUMNS,
    FACT_SCHEMA,
    write_file,
)
from pipeline.storage.paths import DOCUMENTS_DIR, FACTS_DIR, SEGMENTS_DIR, STATE_DIR


def file_name(key: str) -> str:
    return f"{key}.parquet"


class Segments:
    """The segment store of one output folder, falling back on the published version.

    `previous` is the published version folder: its facts and documents folders
    hold hard links named like the store's files, so a segment whose store
    copy was removed is still found there.
    """

    def __init__(self, output: Path, previous: Path | None = None) -> None:
        self.root = output / STATE_DIR / SEGMENTS_DIR
        self.previous = previous

    def _store(self, kind: str, key: str) -> Path:
        return self.root / kind / file_name(key)

    def locate(self, key: str) -> tuple[Path, Path] | None:
        """(facts file, documents file) of a complete segment, or None."""
        for base in (self.root, self.previous):
            if base is None:
                continue
            facts, documents = base / FACTS_DIR / file_name(key), base / DOCUMENTS_DIR / file_name(key)
            if facts.is_file() and documents.is_file():
                return facts, documents
        return None

    def has(self, key: str) -> bool:
        return self.locate(key) is not None

    def write(self, key: str, facts: pa.Table, documents: pa.Table, rules_version: str) -> None:
        """Store a segment (replacing an existing one: same key, same content)."""
        for kind in (FACTS_DIR, DOCUMENTS_DIR):
            (self.root / kind).mkdir(parents=True, exist_ok=True)
        write_file(self._store(DOCUMENTS_DIR, key), documents, DOCUMENT_SCHEMA, rules_version,
                   DOCUMENT_DICTIONARY_COLUMNS)
        write_file(self._store(FACTS_DIR, key), facts, FACT_SCHEMA, rules_version, FACT_DICTIONARY_COLUMNS)

    def read(self, key: str, docs: Collection[str] | None = None) -> tuple[pa.Table, pa.Table]:
        """Facts and document rows of a segment, only those of `docs` (report files) if given."""
        if docs is not None and not docs:
            return FACT_SCHEMA.empty_table(), DOCUMENT_SCHEMA.empty_table()
        found = self.locate(key)
        if found is None:
            raise FileNotFoundError(f"segment {key} is neither in {self.root} nor in {self.previous}")
        facts_path, documents_path = found
        wanted = None if docs is None else sorted(docs)
        facts = pq.read_table(facts_path, filters=[("doc", "in", wanted)] if wanted else None)
        documents = pq.read_table(documents_path, filters=[("file", "in", wanted)] if wanted else None)
        return (facts.cast(FACT_SCHEMA), documents.cast(DOCUMENT_SCHEMA))

    def collect(self, keep: Iterable[Path]) -> int:
        """Remove store files no kept version links to (and leftover temporary files).

        Run under the output lock after a publish: by then a crashed run's
        segments have been reused or are of no use.
        """
        referenced = {
            (kind, path.name)
            for version in keep
            for kind in (FACTS_DIR, DOCUMENTS_DIR)
            if (version / kind).is_dir()
            for path in (version / kind).iterdir()
        }
        removed = 0
        for kind in (FACTS_DIR, DOCUMENTS_DIR):
            folder = self.root / kind
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                if (kind, path.name) not in referenced:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed
