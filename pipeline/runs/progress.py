"""How far a run is while its chunks come in: chunks and reports done, facts, rate and time left.

A run over 70,000 reports spends ten minutes in its chunks; without this the
log said nothing between the plan and the summary. `Progress` counts each
chunk's outcome as the run collects it and returns a line for the log every
`every_seconds` or `every_chunks`, and for the last chunk:

    chunks 120/338, reports 24,310/70,030 (34.7%), 1,341,205 facts so far, 118.2 reports/s, about 6 min 27 s left

The rate counts the reports of chunks that were built (stored chunks are
linked in an instant), over the time since the first chunk was handed out;
the time left is the reports still to build at that rate. The clock is
passed in, so tests need no real time.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from pipeline.runs.chunks import ChunkOutcome
from pipeline.runs.plan import RunPlan

EVERY_SECONDS = 10.0
EVERY_CHUNKS = 25


class Progress:
    """Counts a run's chunk outcomes; `add` returns a progress line when one is due, else None."""

    def __init__(self, plan: RunPlan, clock: Callable[[], float] = time.monotonic,
                 every_seconds: float = EVERY_SECONDS, every_chunks: int = EVERY_CHUNKS) -> None:
        self._clock = clock
        self._every_seconds = every_seconds
        self._every_chunks = every_chunks
        self._size = {job.index: len(job.members) for job in plan.jobs}
        self._built = {job.index for job in plan.jobs if not job.stored}
        self.chunks = len(plan.jobs)
        self.reports = sum(self._size.values())
        self._to_build = sum(self._size[index] for index in self._built)
        self.chunks_done = 0
        self.reports_done = 0
        self.facts = 0
        self._built_done = 0
        self._started = clock()
        self._last_line = self._started
        self._chunks_at_last_line = 0

    def add(self, outcome: ChunkOutcome) -> str | None:
        """Count one chunk's outcome; the line to log if one is due."""
        size = self._size.get(outcome.index, 0)
        self.chunks_done += 1
        self.reports_done += size
        self.facts += sum(entry.facts for entry in outcome.entries)
        if outcome.index in self._built:
            self._built_done += size
        now = self._clock()
        due = (now - self._last_line >= self._every_seconds
               or self.chunks_done - self._chunks_at_last_line >= self._every_chunks
               or self.chunks_done == self.chunks)
        if not due:
            return None
        self._last_line, self._chunks_at_last_line = now, self.chunks_done
        return self.line(now)

    def line(self, now: float) -> str:
        """Where the run is at `now` (a time of the clock given)."""
        share = f" ({100 * self.reports_done / self.reports:.1f}%)" if self.reports else ""
        parts = [f"chunks {self.chunks_done}/{self.chunks}",
                 f"reports {self.reports_done:,}/{self.reports:,}{share}",
                 f"{self.facts:,} facts so far"]
        elapsed = now - self._started
        if self._built_done and elapsed > 0:
            rate = self._built_done / elapsed
            parts.append(f"{rate:.1f} reports/s")
            left = self._to_build - self._built_done
            parts.append(f"about {duration(left / rate)} left" if left else "all built")
        elif self._to_build:
            parts.append("rate not known yet")
        return ", ".join(parts)


def duration(seconds: float) -> str:
    """`1 h 02 min`, `6 min 27 s`, `41 s`."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"
