"""One extraction run without Prefect: rules, discovery, batched extraction, publish.

`flows.py` wires the same pieces as Prefect tasks; keeping them here lets tests
run a whole pipeline in milliseconds, without a server.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import pyarrow as pa

from pipeline import extract, ingest
from pipeline import rules as rule_files
from pipeline.records import ReadError
from pipeline.rules import Rules
from pipeline.store import StagedOutput, document_row, facts_table

BATCH_SIZE = 200  # reports per task: big enough that Prefect's per-task cost vanishes

Catalogue = dict[str, tuple[str | None, date | None]]
T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchResult:
    """What one batch of reports produced; facts already in Arrow form (compact to pass)."""

    facts: pa.Table
    documents: tuple[dict[str, Any], ...]
    failed: tuple[ReadError, ...]  # unreadable reports (bad data)
    crashed: tuple[ReadError, ...] = ()  # reports the extractor raised on (a bug)


@dataclass(frozen=True)
class RunSummary:
    """Counts and locations of a finished run, for the CLI and the flow's return value."""

    raw: Path
    output: Path
    rules_version: str
    read: int  # reports read and extracted
    failed: tuple[ReadError, ...]  # unreadable reports (bad data)
    crashed: tuple[ReadError, ...]  # reports the extractor raised on (a bug: CLI exits 1)
    facts: int
    version: Path  # the published version folder
    seconds: float = field(default=0.0)

    def report(self) -> str:
        """A few human-readable lines for the end of a run."""
        lines = [
            f"Reports read: {self.read}, failed: {len(self.failed) + len(self.crashed)}",
            f"Facts written: {self.facts} (rules {self.rules_version[:12]})",
            f"Output: {self.output / 'facts'} and {self.output / 'documents'}"
            f" ({self.seconds:.1f} s)",
        ]
        lines += [f"  failed {e.file}: {e.reason}" for e in self.failed + self.crashed]
        return "\n".join(lines)


def load_rules(rules_dir: Path) -> Rules:
    """Load the rules; a RuleError propagates so a run fails before writing anything."""
    return rule_files.load_rules(rules_dir)


def discover(raw: Path) -> tuple[list[Path], Catalogue]:
    """Report paths in stable order and the catalogue; a bad catalogue is fatal here."""
    return ingest.discover(raw), ingest.load_catalogue(raw)


def batches(items: Sequence[T], size: int = BATCH_SIZE) -> Iterator[list[T]]:
    """Consecutive slices of `size` items, keeping the discovery order."""
    if size <= 0:
        raise ValueError("batch size must be positive")
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def batch_catalogue(paths: Sequence[Path], raw: Path, catalogue: Catalogue) -> Catalogue:
    """The catalogue entries a batch can look up, so each task's inputs stay small."""
    keys = {key for path in paths for key in (path.relative_to(raw).as_posix(), path.name)}
    return {key: catalogue[key] for key in keys if key in catalogue}


def extract_batch(
    paths: Sequence[Path], raw: Path, catalogue: Catalogue, rules: Rules
) -> BatchResult:
    """Read and extract a batch; one bad report becomes a failure row, never a failed batch."""
    tables: list[pa.Table] = []
    rows: list[dict[str, Any]] = []
    failed: list[ReadError] = []
    crashed: list[ReadError] = []
    for path in paths:
        item = ingest.read_document(path, raw, catalogue)
        if isinstance(item, ReadError):
            failed.append(item)
            continue
        try:
            table = facts_table(extract.extract_document(item, rules))
        except Exception as exc:  # an extractor bug on one report must not sink the run
            log.exception("extraction failed on %s", item.file)
            crashed.append(ReadError(item.file, f"extraction failed: {type(exc).__name__}: {exc}"))
            continue
        tables.append(table)
        rows.append(document_row(item, table.num_rows))
    facts = pa.concat_tables(tables) if tables else facts_table([])
    return BatchResult(facts, tuple(rows), tuple(failed), tuple(crashed))


class RunWriter:
    """Collects batch results into a staged output version and publishes it at the end.

    Memory stays bounded: facts go to a FactWriter that flushes every ~100k rows.
    Leaving a `with` block without `publish` discards the staged version.
    """

    def __init__(self, raw: Path, output: Path, rules_version: str) -> None:
        self.raw = raw
        self.output = output
        self.rules_version = rules_version
        self._started = time.monotonic()
        self._staged = StagedOutput(output, rules_version)
        self._facts = self._staged.fact_writer()
        self._documents = self._staged.document_writer()
        self._read = 0
        self._failed: list[ReadError] = []
        self._crashed: list[ReadError] = []

    def add(self, result: BatchResult) -> None:
        """Write a batch's facts and document rows, remember its failures."""
        self._facts.add(result.facts)
        self._documents.add(result.documents)
        self._read += len(result.documents)
        self._failed.extend(result.failed)
        self._crashed.extend(result.crashed)

    def publish(self) -> RunSummary:
        """Switch the output to this run's version and summarise the run."""
        version = self._staged.commit()
        return RunSummary(
            raw=self.raw,
            output=self.output,
            rules_version=self.rules_version,
            read=self._read,
            failed=tuple(self._failed),
            crashed=tuple(self._crashed),
            facts=self._facts.rows,
            version=version,
            seconds=time.monotonic() - self._started,
        )

    def abort(self) -> None:
        """Discard everything written; the published output stays as it was."""
        self._staged.abort()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._staged.committed:
            self.abort()


def run(
    raw: Path, output: Path, rules_dir: Path, *, batch_size: int = BATCH_SIZE
) -> RunSummary:
    """Extract every report under `raw` and publish facts and documents under `output`."""
    rules = load_rules(rules_dir)  # before anything is written
    paths, catalogue = discover(raw)
    with RunWriter(raw, output, rules.version) as writer:
        for batch in batches(paths, batch_size):
            writer.add(extract_batch(batch, raw, batch_catalogue(batch, raw, catalogue), rules))
        return writer.publish()


__all__ = [
    "BATCH_SIZE",
    "BatchResult",
    "RunSummary",
    "RunWriter",
    "batch_catalogue",
    "batches",
    "discover",
    "extract_batch",
    "load_rules",
    "run",
]
