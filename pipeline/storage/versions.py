"""Atomic publishing of output versions (schemas and writers live in `pipeline.storage.parquet`).

Layout of an output folder::

    output/
      facts      -> current/facts        (symlinks readers use; never change)
      documents  -> current/documents
      runs, diffs, errors -> current/...  (run history, see pipeline.runs.history)
      current    -> .versions/<id>       (the one pointer a publish switches)
      .versions/<id>/facts/*.parquet ...
      .versions/<id>/manifest.parquet    (incremental state, see pipeline.runs.manifest)
      .state/segments/                   (content-addressed facts, see pipeline.runs.segments)

A publish writes a complete new version folder, then replaces `current` with
`os.replace` (atomic on POSIX), so every reader folder switches together:
readers see the old or the new output, never a mix. The previous version is
kept so a reader that already resolved the old link can finish; older ones
and abandoned staging folders are removed. Files are either named by the
version id or by their content's key, so a name never stands for two contents.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import pyarrow as pa

from pipeline.storage.contentstore import link_or_copy
from pipeline.storage.parquet import (
    BATCH_ROWS,
    COMPRESSION,
    COMPRESSION_LEVEL,
    DOCUMENT_DICTIONARY_COLUMNS,
    DOCUMENT_SCHEMA,
    FACT_DICTIONARY_COLUMNS,
    FACT_SCHEMA,
    FILE_ROWS,
    SCHEMA_VERSION,
    DocumentWriter,
    FactWriter,
    StoreError,
    TableWriter,
    document_row,
    documents_table,
    facts_table,
    fsync_path,
    with_rules_version,
)
from pipeline.storage.paths import (
    CURRENT_LINK,
    DIFFS_DIR,
    DOCUMENTS_DIR,
    ERRORS_DIR,
    FACTS_DIR,
    PUBLISH_LOCK,
    READER_DIRS,
    RUNS_DIR,
    VERSIONS_DIR,
    WRITING_MARK,
    stamped_id,
    temporary,
)

# Folders readers open through `output/<name>`; a version may lack the history ones.


class StagedOutput:
    """A new output version being written; readers cannot see it until `commit`.

    Use as a context manager: leaving the block without a commit (an exception,
    a rule error) removes the staging folder and leaves the output untouched.
    While staging, the folder holds an flock'ed marker so a concurrent publish
    does not clean it up; a crashed run's folder loses the lock and is removed
    by the next publish.
    """

    def __init__(self, output: Path, rules_version: str, version: str | None = None) -> None:
        self.output = output
        self.rules_version = rules_version
        self.version = version or stamped_id()
        self.root = output / VERSIONS_DIR / self.version
        self.facts_dir = self.root / FACTS_DIR
        self.documents_dir = self.root / DOCUMENTS_DIR
        self.facts_dir.mkdir(parents=True)
        self.documents_dir.mkdir()
        self._mark: IO[bytes] | None = open(self.root / WRITING_MARK, "wb")  # noqa: SIM115 - held while staging
        fcntl.flock(self._mark, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._writers: list[TableWriter] = []
        self.committed = False

    def fact_writer(self, **options: Any) -> FactWriter:
        """A FactWriter into this version; closed by commit if still open."""
        writer = FactWriter(
            self.facts_dir, self.rules_version, prefix=f"part-{self.version}", **options
        )
        self._writers.append(writer)
        return writer

    def document_writer(self, **options: Any) -> DocumentWriter:
        """A DocumentWriter into this version; closed by commit if still open."""
        writer = DocumentWriter(
            self.documents_dir, self.rules_version, prefix=f"part-{self.version}", **options
        )
        self._writers.append(writer)
        return writer

    def table_writer(self, name: str, schema: pa.Schema, **options: Any) -> TableWriter:
        """A writer for another reader folder (runs, diffs, errors); closed by commit."""
        options.setdefault("prefix", f"part-{self.version}")
        writer = TableWriter(self.folder(name), schema, self.rules_version, **options)
        self._writers.append(writer)
        return writer

    def folder(self, name: str) -> Path:
        """A folder of this version, created on first use."""
        path = self.root / name
        path.mkdir(exist_ok=True)
        return path

    def link(self, name: str, source: Path, filename: str | None = None) -> Path:
        """Put an existing immutable file into folder `name` without copying it.

        A hard link costs one directory entry whatever the file's size, which is
        what lets an incremental run carry 100k unchanged reports' facts; a file
        system without hard links gets a copy.
        """
        target = self.folder(name) / (filename or source.name)
        with contextlib.suppress(FileExistsError):  # the same content under the same content-addressed name
            link_or_copy(source, target)
        return target

    def commit(self) -> Path:
        """Close the writers, switch `current` to this version and clean up old ones."""
        if self.committed:
            raise StoreError("version already committed")
        for writer in self._writers:
            writer.close()
        # Readers expect a facts and a documents dataset, even an empty one.
        if not any(self.facts_dir.glob("*.parquet")):
            self.fact_writer().close()
        if not any(self.documents_dir.glob("*.parquet")):
            self.document_writer().close()
        for name in READER_DIRS:
            if (self.root / name).is_dir():
                fsync_path(self.root / name)
        fsync_path(self.root)
        _switch(self.output, self.version)
        self.committed = True
        self._release()
        return self.root

    def abort(self) -> None:
        """Discard the staged version; the published output is untouched."""
        for writer in self._writers:
            writer.abort()
        self._release()
        shutil.rmtree(self.root, ignore_errors=True)

    def _release(self) -> None:
        if self._mark is not None:
            self._mark.close()  # closing the file drops the flock
            self._mark = None
            (self.root / WRITING_MARK).unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.committed:
            self.abort()


def publish(output: Path, facts: pa.Table, documents: pa.Table, rules_version: str) -> Path:
    """Write both tables as a new version and switch to it atomically; returns its folder."""
    with StagedOutput(output, rules_version) as staged:
        staged.fact_writer().write(facts)
        staged.document_writer().write(documents)
        return staged.commit()


def current_version(output: Path) -> Path | None:
    """The version folder `output/current` points to, or None before the first publish."""
    link = output / CURRENT_LINK
    if not link.is_symlink():
        return None
    return (output / os.readlink(link)).resolve()


def kept_versions(output: Path) -> list[Path]:
    """Every version folder still on disk (published, previous or being staged)."""
    versions = output / VERSIONS_DIR
    if not versions.is_dir():
        return []
    return [p for p in versions.iterdir() if p.is_dir() and not p.is_symlink()]


def _switch(output: Path, version: str) -> None:
    """Point `current` at the version, make sure the reader links exist, prune old versions.

    Serialised by an flock so two publishes cannot interleave reading the old
    pointer and pruning.
    """
    versions = output / VERSIONS_DIR
    with open(versions / PUBLISH_LOCK, "wb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        previous = current_version(output)
        current = output / CURRENT_LINK
        if current.exists() and not current.is_symlink():
            raise StoreError(f"{current} is not a symlink; move it away to publish here")
        _replace_link(current, f"{VERSIONS_DIR}/{version}")
        for name in READER_DIRS:
            if not (versions / version / name).is_dir():
                continue
            legacy = _ensure_link(output, name)
            if legacy is not None and previous is None:
                previous = legacy.parent
        fsync_path(output)
        keep = {versions / version} | ({previous} if previous is not None else set())
        _prune(versions, {path.resolve() for path in keep})


def _ensure_link(output: Path, name: str) -> Path | None:
    """Make `output/<name>` the link `current/<name>`; move a real folder there aside first.

    A real folder (an output written before versioning) cannot be swapped for a
    link in one rename, so it is renamed into `.versions/legacy-*` and the link
    takes its place at once: readers briefly see no folder, never a mix. The
    legacy folder is kept as the previous version until the next publish.
    """
    path = output / name
    target = f"{CURRENT_LINK}/{name}"
    if path.is_symlink():
        if os.readlink(path) != target:
            _replace_link(path, target)
        return None
    moved: Path | None = None
    if path.exists():
        moved = output / VERSIONS_DIR / f"legacy-{stamped_id()}" / name
        moved.parent.mkdir()
        os.rename(path, moved)
    _replace_link(path, target)
    return moved


def _replace_link(path: Path, target: str) -> None:
    """Atomically make `path` a symlink to `target` (relative, so the folder can move)."""
    temp = temporary(path)
    os.symlink(target, temp)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _prune(versions: Path, keep: set[Path]) -> None:
    """Remove versions not in `keep`, skipping folders another process is still staging."""
    for entry in versions.iterdir():
        if not entry.is_dir() or entry.is_symlink() or entry.resolve() in keep:
            continue
        mark = entry / WRITING_MARK
        if mark.exists() and _locked(mark):
            continue
        shutil.rmtree(entry, ignore_errors=True)


def _locked(path: Path) -> bool:
    """True when another open file description holds an flock on `path`."""
    try:
        with open(path, "rb") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
    except FileNotFoundError:
        return False  # the writer just finished or aborted


__all__ = [
    "BATCH_ROWS", "COMPRESSION", "COMPRESSION_LEVEL", "CURRENT_LINK", "DIFFS_DIR",
    "DOCUMENTS_DIR", "DOCUMENT_DICTIONARY_COLUMNS", "DOCUMENT_SCHEMA", "ERRORS_DIR",
    "FACTS_DIR", "FACT_DICTIONARY_COLUMNS", "FACT_SCHEMA", "FILE_ROWS", "READER_DIRS",
    "RUNS_DIR", "SCHEMA_VERSION", "VERSIONS_DIR", "DocumentWriter", "FactWriter",
    "StagedOutput", "StoreError", "TableWriter", "current_version", "document_row",
    "documents_table", "facts_table", "kept_versions", "publish", "with_rules_version",
]
