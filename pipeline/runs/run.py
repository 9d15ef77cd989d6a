"""One incremental run without Prefect: check rules, plan, extract what changed, publish.

`flows.py` wires the same pieces as Prefect tasks; keeping them here lets tests
run a whole pipeline in milliseconds, without a server. The steps:

1. `load_rules` validates every rule file: a bad one stops the run before
   the output folder is touched;
2. `OutputLock` refuses a second run on the same output folder;
3. `plan_run` (pipeline.runs.plan) keys every report and chunk and finds the
   chunks whose facts are stored already;
4. `process_chunk` (pipeline.runs.chunks) links a stored chunk, or extracts its changed reports,
   carries its unchanged ones, diffs old and new facts, stores the segment;
5. `RunWriter.publish` adds the removed reports to the diff, writes manifest,
   runs, errors and diffs into the new version and switches to it at once.
"""
from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

import pyarrow as pa

from pipeline.ingest import reports as ingest
from pipeline.ingest.catalogue import load_catalogue
from pipeline.ingest.policy import InputPolicy
from pipeline.printable import printable
from pipeline.processes import memory
from pipeline.records import ReadError
from pipeline.rules import compiler as rule_files
from pipeline.rules.compiler import Rules
from pipeline.runs import staged_diffs as diffstore
from pipeline.runs.chunks import ChunkOutcome, process_chunk
from pipeline.runs.diff import DIFF_DICTIONARY_COLUMNS, DIFF_SCHEMA, DiffSummary, one_sided
from pipeline.runs.history import RunRecord, carry, write_errors, write_runs
from pipeline.runs.manifest import Entry, write_manifest
from pipeline.runs.plan import Catalogue, RunPlan, plan_run
from pipeline.runs.staged_diffs import StagedDiff
from pipeline.storage.lock import OutputLock
from pipeline.storage.parquet import TableWriter
from pipeline.storage.paths import DIFFS_DIR, DOCUMENTS_DIR, FACTS_DIR, MANIFEST_NAME, TEXT_DIR
from pipeline.storage.texts import TextStore
from pipeline.storage.versions import StagedOutput, kept_versions
from pipeline.views.build import write_views_apart
from pipeline.views.review.pagestore import PageStore
from pipeline.views.version import stale as views_stale

BATCH_SIZE = 200  # reports per chunk (on average): big enough that a task's cost vanishes
# Diff rows buffered before a row group is written. A first run's diff is
# every fact: the default 100k rows held ~50 MB of Arrow buffers, and as much
# again while being written.
DIFF_BATCH_ROWS = 20_000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSummary:
    """Counts and locations of a finished run, for the CLI and the flow's return value."""

    raw: Path
    output: Path
    rules_version: str
    read: int  # reports whose facts are in the output (extracted + skipped)
    failed: tuple[ReadError, ...]  # unreadable reports (bad data)
    crashed: tuple[ReadError, ...]  # reports the extractor raised on (a bug: CLI exits 1)
    facts: int
    version: Path  # the published version folder
    seconds: float = field(default=0.0)
    run_id: str = ""
    seen: int = 0
    extracted: int = 0
    skipped: int = 0
    gone: int = 0  # reports of the previous output that are no longer there
    changes: DiffSummary = field(default_factory=DiffSummary)
    reasons: dict[str, int] = field(default_factory=dict)  # why reports were extracted

    def report(self) -> str:
        """A few human-readable lines for the end of a run."""
        lines = [
            f"Run {self.run_id}: {self.seen} reports seen, {self.extracted} extracted, "
            f"{self.skipped} unchanged, {len(self.failed) + len(self.crashed)} failed, {self.gone} removed"
            + (" (extracted: " + ", ".join(f"{n} {why}" for why, n in self.reasons.items()) + ")"
               if self.reasons else ""),
            f"Facts: {self.facts} (rules {self.rules_version[:12]})",
            *self.changes.lines(),
            f"Output: {self.output / 'facts'} and {self.output / 'documents'}"
            f" ({self.seconds:.1f} s)",
        ]
        lines += [f"  failed {printable(e.file)}: {printable(e.reason)}" for e in self.failed + self.crashed]
        return "\n".join(lines)


def load_rules(rules_dir: Path) -> Rules:
    """Load and validate the rules; a RuleError propagates so a run fails before writing anything."""
    return rule_files.load_rules(rules_dir)


def discover(raw: Path) -> tuple[list[Path], Catalogue]:
    """Report paths in stable order and the catalogue; a bad catalogue is fatal here."""
    return ingest.discover(raw), load_catalogue(raw)


class RunWriter:
    """Collects chunk outcomes into a staged output version and publishes it at the end.

    Memory stays bounded: facts stay in their segment files (hard-linked into
    the version), and diff rows, staged by chunk (pipeline.runs.staged_diffs), stream
    to a TableWriter a batch at a time. Leaving a `with`
    block without `publish` discards the staged version.
    """

    def __init__(self, plan: RunPlan) -> None:
        self.plan = plan
        self.context = context = plan.context
        self._started = time.monotonic()
        self._started_at = datetime.now(UTC)
        self._staged = StagedOutput(context.output, context.rules_version, version=context.run_id)
        self._segments = context.segments()
        self.gone = 0
        self._diff: TableWriter | None = None
        self.changes = DiffSummary()
        self._entries: list[Entry] = []
        self._failed: list[ReadError] = list(plan.unreadable)
        self._crashed: list[ReadError] = []
        self._extracted = 0
        self._skipped = 0

    def add(self, outcome: ChunkOutcome) -> None:
        """Link a chunk's segment into the version and account for its reports."""
        if outcome.segment is not None:
            facts, documents = self._locate(outcome.segment)
            self._staged.link(FACTS_DIR, facts)
            self._staged.link(DOCUMENTS_DIR, documents)
        self._entries.extend(outcome.entries)
        self._extracted += outcome.extracted
        self._skipped += outcome.skipped
        self._failed.extend(outcome.failed)
        self._crashed.extend(outcome.crashed)
        self._add_staged(outcome.diff)
        memory.release()

    def _locate(self, segment: str) -> tuple[Path, Path]:
        found = self._segments.locate(segment)
        if found is None:
            raise FileNotFoundError(f"segment {segment} vanished before publishing")
        return found

    def _diff_writer(self) -> TableWriter:
        if self._diff is None:
            self._diff = self._staged.table_writer(DIFFS_DIR, DIFF_SCHEMA, prefix=f"diff-{self.context.run_id}",
                                                   dictionary_columns=DIFF_DICTIONARY_COLUMNS,
                                                   batch_rows=DIFF_BATCH_ROWS)
        return self._diff

    def _add_diff(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        self._diff_writer().write(table)
        self.changes.add(table)

    def _add_staged(self, staged: StagedDiff) -> None:
        """Copy a chunk's staged diff rows into the run's diff file, a batch at a time."""
        if staged.path is None:
            return
        writer = self._diff_writer()
        for batch in diffstore.batches(staged.path):
            writer.write(batch)
        staged.path.unlink()
        self.changes.merge(staged.changes)

    def _removed(self) -> None:
        """Diff rows for reports that had facts before and have none now (gone or failing)."""
        present = {entry.file for entry in self._entries}
        gone: dict[str, list[str]] = defaultdict(list)
        for entry in self.plan.manifest.entries.values():
            if entry.file not in present:
                gone[entry.segment].append(entry.file)
        for segment, files in sorted(gone.items()):
            if not self._segments.has(segment):
                log.warning("segment %s of removed reports is missing; not in the diff", segment)
                continue
            old, _ = self._segments.read(segment, files)
            self._add_diff(one_sided(old, "removed", self.context.run_id))
        self.gone = sum(len(files) for files in gone.values())

    def publish(self) -> RunSummary:
        """Write the run's state and history into the version, switch to it, collect garbage."""
        plan, context, staged = self.plan, self.context, self._staged
        self._removed()
        carried = carry(staged, context.previous, DIFFS_DIR)
        if self._diff is None and not carried:  # an empty file keeps the schema visible
            self._diff = staged.table_writer(DIFFS_DIR, DIFF_SCHEMA, prefix=f"diff-{context.run_id}")
        texts = TextStore(context.output)
        texts.link_into(staged.root / TEXT_DIR, ((e.file, e.sha256) for e in self._entries))
        write_manifest(staged.root / MANIFEST_NAME, self._entries, context.started_ns, context.rules_version,
                       context.code_version)
        write_errors(staged, context.previous, self._failed + self._crashed)
        facts = sum(entry.facts for entry in self._entries)
        write_runs(staged, context.previous, RunRecord(
            context.run_id, self._started_at, datetime.now(UTC), context.rules_version, plan.seen,
            self._extracted, self._skipped, len(self._failed) + len(self._crashed), facts,
            self.changes.added, self.changes.removed, self.changes.changed))
        version = staged.commit()
        diffstore.clear(context.output)
        self._segments.collect(kept_versions(context.output))
        texts.collect()
        if views_stale(context.output):  # whatever this run did: a killed run may have left them behind
            write_views_apart(context.output)
        # after the review linked the pages it shows; a skipped review's stay linked
        PageStore(context.output).collect()
        return RunSummary(
            raw=context.raw, output=context.output, rules_version=context.rules_version,
            read=len(self._entries), failed=tuple(self._failed), crashed=tuple(self._crashed),
            facts=facts, version=version, seconds=time.monotonic() - self._started, run_id=context.run_id,
            seen=plan.seen, extracted=self._extracted, skipped=self._skipped, gone=self.gone,
            changes=self.changes, reasons=plan.reasons(),
        )

    def abort(self) -> None:
        """Discard everything staged; the published output stays as it was."""
        self._staged.abort()
        diffstore.clear(self.context.output)

    def __enter__(self) -> Self:
        # The plan and the imported modules live through the run: keep them out
        # of the collection `add` runs after every chunk (~0.3 s a pass, 100 s at 1 GB).
        self._long_lived = memory.long_lived()
        self._long_lived.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._staged.committed:
                self.abort()
        finally:
            self._long_lived.__exit__(exc_type, exc, tb)


def run(
    raw: Path, output: Path, rules_dir: Path, *, batch_size: int = BATCH_SIZE, force: bool = False,
    policy: InputPolicy | None = None,
) -> RunSummary:
    """Bring `output` up to date with the reports under `raw` and the rules in `rules_dir`.

    Only reports whose content, catalogue entry, rules or code changed are
    extracted (all of them with `force`); reports gone from `raw` lose their facts.
    `policy` says what may be read (default: regular files under `raw`, pipeline.ingest.policy).
    """
    rules = load_rules(rules_dir)  # before anything is written
    paths, catalogue = discover(raw)
    with OutputLock(output):
        plan = plan_run(raw, output, paths, catalogue, rules.version, chunk_size=batch_size, force=force,
                        policy=policy)
        with RunWriter(plan) as writer:
            for job in plan.jobs:
                writer.add(process_chunk(job, plan.context, rules))
            return writer.publish()


__all__ = [
    "BATCH_SIZE",
    "ChunkOutcome",
    "RunSummary",
    "RunWriter",
    "discover",
    "load_rules",
    "process_chunk",
    "run",
]
