"""The views over a published version: the review site and the DuckDB database.

They are derived from the published Parquet and rebuilt after a run whose
published version shows other content than they were built from
(`pipeline.views.version`), whatever that run did. `write_views_apart` builds them in a process of their own
(`python -m pipeline.views.build OUTPUT`): the run's process still holds its plan, its entries and a heap shaped
by thousands of chunk outcomes, and the review reads every fact again, so
built in place their peaks added up (a 1 GB run's flow process: ~385 MB after
its chunks, 931 MB at its peak while publishing). A fresh process starts from the
package's imports and gives everything back when it exits. The report pages
the chunks stored are found from the published manifest, as the run knew them.

A view that fails is logged and leaves the facts as published, in either
process; so does a child that dies (killed, out of memory).
"""
from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from pipeline.processes import memory, spawn
from pipeline.runs.manifest import read_manifest
from pipeline.storage.versions import current_version
from pipeline.views.duckdb import write_duckdb
from pipeline.views.review import write_review
from pipeline.views.review.pagestore import PageStore, page_key
from pipeline.views.version import published

log = logging.getLogger(__name__)
STDERR_TAIL = 4000  # characters of a failed child's output repeated in the log


def write_views(output: Path) -> bool:
    """Build the views in this process; False if one failed (logged with its traceback).

    The review links the pages stored for the published reports (`stored_pages`)
    instead of rendering them. Each view records the version it is built from
    (pipeline.views.version); one that fails keeps its old record, so the next
    run builds it again.
    """
    built_from = published(output)
    views: tuple[tuple[str, Callable[[], object]], ...] = (
        ("review page", lambda: write_review(output, pages=stored_pages(output), version=built_from)),
        ("DuckDB views", lambda: write_duckdb(output, version=built_from)),
    )
    ok = True
    for name, build in views:
        memory.release()  # what the caller freed, before the views read the facts again
        try:
            build()
        except Exception:
            log.exception("could not write the %s under %s", name, output)
            ok = False
    memory.release()
    return ok


def write_views_apart(output: Path) -> bool:
    """Build the views in a child process; False if one failed or the child died (logged)."""
    done = subprocess.run(spawn.command("views.build", str(output)), capture_output=True, text=True, encoding="utf-8",
                          errors="replace", env=spawn.environment(), check=False)
    if done.returncode != 0:
        log.error("could not write the views under %s (view process exited with code %d):\n%s",
                  output, done.returncode, done.stderr[-STDERR_TAIL:].rstrip() or "(no output)")
        return False
    if done.stderr.strip():  # warnings of a build that succeeded
        log.warning("views under %s:\n%s", output, done.stderr[-STDERR_TAIL:].rstrip())
    return True


def stored_pages(output: Path) -> dict[str, Path]:
    """Where each report of the published version has its page stored (pipeline.views.review.pagestore)."""
    store = PageStore(output)
    manifest = read_manifest(current_version(output))
    return {entry.file: store.path(page_key(entry.key)) for entry in manifest.entries.values()}


def main(argv: list[str]) -> int:
    """`python -m pipeline.views.build OUTPUT`."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return 0 if write_views(Path(argv[0])) else 1


if __name__ == "__main__":
    memory.keep_pandas_out()
    sys.exit(main(sys.argv[1:]))
