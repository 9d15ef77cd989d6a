"""The benchmark behind `make bench`: speed and memory of the pipeline on a corpus.

    python -m bench.run [--mb 20] [--seed 0] [--work DIR] [--extract-mb 5]
                        [--no-overhead | --overhead-rounds N] [--one-report]
                        [--flow-option OPTION ...] [--json output/bench.json]

Steps, each printed as it finishes:

1. build (or reuse) a synthetic corpus of `--mb` MB from raw/ (`bench.corpus`);
2. extraction throughput on one core: `extract_document` (normalisation,
   figures, tables and attribution) over the first `--extract-mb` MB of the
   corpus, in this process, after a warm-up report (jieba's dictionary); CPU
   seconds, median of three passes (`--extract-mb 0` skips it);
3. the Prefect flow end to end into an empty output folder
   (`python flows.py --raw CORPUS --output OUT`, as `make run` does: its
   temporary Prefect server and its worker processes included): reports per
   second over its wall time, and peak memory;
4. the same command again with nothing changed: the no-op rerun time;
5. orchestration overhead: the flow with `--workers 1` against the same run
   without Prefect (`pipeline.runs.run.run`), both cold, one extracting process
   each. This machine's speed drifts by a third over minutes, more than the
   effect, so `--overhead-rounds N` runs N pairs, the order swapped every
   round (flow first, then the plain run first), and reports the median.

Memory is sampled from /proc every 0.2 s over the flow's process tree:
`peak_rss_mb` is the largest sum of RSS of the flow process and its child
processes (workers) at one moment, or the kernel's high-water mark of the
largest one if that is higher (a spike between two samples); the Prefect
servers (uvicorn) are reported apart. The details also give the whole run's
memory (`*_tree_peak_pss_mb`): the largest sum of PSS over every process,
the server included, which counts a page shared by several processes (a
shared library's code) once in all, as the machine's memory holds it, where
a sum of RSS counts it once per process.

The figures go to `--json` with the keys extract_mb_per_s, docs_per_s,
peak_rss_mb, noop_rerun_s and corpus_mb, plus the details they came from.
MB is 10^6 bytes of UTF-8 report text. The corpus size is also read from
BENCH_MB, so `make bench BENCH_MB=150` runs over ~10,000 reports.
`--one-report --mb 50 --extract-mb 0 --no-overhead` puts the same kind of
text into one 50 MB report instead (the size policy in pipeline/ingest.py).
`--flow-option=--prefect-processes` adds that option to every flow run (cold,
rerun, one-worker): Prefect's ProcessPoolTaskRunner instead of the worker pool.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import corpus as corpus_builder
from pipeline.facts.extract import extract_document
from pipeline.ingest.reports import discover, read_document
from pipeline.records import Document
from pipeline.rules.compiler import load_rules

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MB = 20.0
POLL_SECONDS = 0.2
EXTRACT_REPEATS = 3  # the machine may be shared: the median of three passes
SERVER_MARKS = ("uvicorn", "prefect.server")  # command lines of the temporary Prefect server
PLAIN_RUN = ("import sys; from pathlib import Path; from pipeline.runs.run import run; "
             "print(run(Path(sys.argv[1]), Path(sys.argv[2]), Path('rules')).report())")

_PSS_LINE = re.compile(r"^Pss:\s+(\d+) kB", re.M)
_KB_LINE = re.compile(r"^(VmHWM|VmRSS):\s+(\d+) kB", re.M)
# Prefect's log lines start with the local time of day: 20:54:23.551 | INFO | Flow run ...
_FLOW_BEGIN = re.compile(r"^(\d\d):(\d\d):(\d\d\.\d+) \| \w+ +\| Flow run '[^']*' - Beginning flow run", re.M)
_FLOW_END = re.compile(r"^(\d\d):(\d\d):(\d\d\.\d+) \| \w+ +\| Flow run '[^']*' - Finished in state", re.M)


@dataclass
class Sampler:
    """Memory and CPU of a process tree, sampled from /proc while it runs."""

    pid: int
    pipeline_kb: int = 0  # largest sum of RSS of the process and its non-server descendants
    server_kb: int = 0  # largest sum of RSS of the Prefect server processes
    largest_kb: int = 0  # highest high-water mark of any one pipeline process
    tree_pss_kb: int = 0  # largest sum of PSS of every process of the run, the server included
    cpu_s: dict[int, float] = field(default_factory=dict)  # per pipeline process: CPU at its last poll
    children: set[int] = field(default_factory=set)

    def poll(self) -> None:
        pipeline = server = pss = 0
        for pid in [self.pid, *_descendants(self.pid)]:
            pss += _pss(pid)
            status = _status(pid)
            if _is_server(pid):
                server += status.get("VmRSS", 0)
                continue
            pipeline += status.get("VmRSS", 0)
            self.largest_kb = max(self.largest_kb, status.get("VmHWM", 0))
            self.cpu_s[pid] = max(self.cpu_s.get(pid, 0.0), _cpu_seconds(pid))
            if pid != self.pid:
                self.children.add(pid)
        self.pipeline_kb = max(self.pipeline_kb, pipeline)
        self.server_kb = max(self.server_kb, server)
        self.tree_pss_kb = max(self.tree_pss_kb, pss)


def _status(pid: int) -> dict[str, int]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return {name: int(kb) for name, kb in _KB_LINE.findall(text)}


def _pss(pid: int) -> int:
    """Proportional set size in kB: private pages, plus each shared page divided
    among the processes mapping it (shared libraries, copy-on-write pages)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    found = _PSS_LINE.search(text)
    return int(found.group(1)) if found else 0


def _is_server(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return any(mark in command for mark in SERVER_MARKS)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process, from /proc/PID/stat (fields 14 and 15)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2:].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` now; one that ends while it is read is left out."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:  # a process that ended between two reads has no task folder left to list
            tasks = list(Path(f"/proc/{parent}/task").glob("*/children"))
        except OSError:
            continue
        for task in tasks:
            try:
                kids = [int(k) for k in task.read_text().split()]
            except OSError:
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


def code_stamp() -> str:
    """Hash of the code and rules a run depends on, to notice edits during the benchmark."""
    digest = hashlib.sha256()
    for path in sorted([ROOT / "flows.py", *(ROOT / "pipeline").rglob("*.py"), *(ROOT / "rules").glob("*")]):
        if path.is_file():
            digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Run:
    """One timed command."""

    seconds: float
    returncode: int
    peak_rss_mb: float  # flow process + children at one moment, or the largest high-water mark
    largest_process_mb: float
    server_mb: float
    tree_pss_mb: float  # every process of the run at one moment, server included, shared pages once
    cpu_s: float  # pipeline processes, summed (sampled: misses the last 0.2 s of each)
    tree_cpu_s: float  # every process it started and reaped, server included (getrusage)
    children: int  # non-server child processes seen (workers, multiprocessing's tracker)
    startup_s: float | None  # process start to "Beginning flow run" (imports, Prefect server)
    body_s: float | None  # "Beginning flow run" to the flow's "Finished in state"
    output_tail: str


def run_process(command: list[str], log: Path) -> Run:
    """Run a command from the project folder, timing it and sampling its memory and CPU."""
    env = dict(os.environ)
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started, started_at = time.perf_counter(), datetime.now()
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
        sampler = Sampler(process.pid)
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                sampler.poll()
                stop.wait(POLL_SECONDS)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        returncode = process.wait()
        seconds = time.perf_counter() - started
        stop.set()
        thread.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    pipeline_mb = max(sampler.pipeline_kb, sampler.largest_kb) / 1024
    if not pipeline_mb:  # no /proc: the largest child this process has waited for
        pipeline_mb = after.ru_maxrss / 1024
    text = log.read_text(encoding="utf-8", errors="replace")
    begin, end = _since(started_at, _FLOW_BEGIN.search(text)), _since(started_at, _FLOW_END.search(text))
    return Run(
        seconds=seconds, returncode=returncode, peak_rss_mb=pipeline_mb,
        largest_process_mb=sampler.largest_kb / 1024, server_mb=sampler.server_kb / 1024,
        tree_pss_mb=sampler.tree_pss_kb / 1024,
        cpu_s=sum(sampler.cpu_s.values()),
        tree_cpu_s=after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
        children=len(sampler.children), startup_s=begin,
        body_s=end - begin if begin is not None and end is not None else None,
        output_tail="\n".join(text.splitlines()[-12:]),
    )


def _since(start: datetime, match: re.Match[str] | None) -> float | None:
    """Seconds from `start` to a log line's time of day (same day, or just after midnight)."""
    if match is None:
        return None
    hours, minutes, seconds = int(match[1]), int(match[2]), float(match[3])
    day_start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    return (hours * 3600 + minutes * 60 + seconds - (start - day_start).total_seconds()) % 86400


def run_flow(raw: Path, output: Path, log: Path, *options: str) -> Run:
    """flows.py as `make run` runs it."""
    return run_process([sys.executable, str(ROOT / "flows.py"), "--raw", str(raw), "--output", str(output),
                        *options], log)


def run_plain(raw: Path, output: Path, log: Path) -> Run:
    """The same run without Prefect (`pipeline.runs.run.run`, one process)."""
    return run_process([sys.executable, "-c", PLAIN_RUN, str(raw), str(output)], log)


def overhead_pairs(raw: Path, work: Path, rounds: int, reports: int,
                   flow_options: tuple[str, ...] = ()) -> list[tuple[Run, Run]]:
    """`rounds` pairs of (one-worker flow, plain run), each cold; odd rounds run the plain one first."""
    pairs = []
    for round_ in range(1, rounds + 1):
        runs: dict[str, Run] = {}
        for kind in ("flow", "plain") if round_ % 2 else ("plain", "flow"):
            out = work / ("out-one-worker" if kind == "flow" else "out-plain")
            shutil.rmtree(out, ignore_errors=True)
            if kind == "flow":
                runs[kind] = run_flow(raw, out, work / "flow-one-worker.log", "--workers", "1", *flow_options)
                name = "flow --workers 1"
            else:
                runs[kind] = run_plain(raw, out, work / "plain.log")
                name = "same without Prefect (pipeline.runs.run.run)"
            print(_describe(f"{name}, cold (round {round_})", runs[kind], reports), flush=True)
        pairs.append((runs["flow"], runs["plain"]))
    return pairs


def extraction_throughput(raw: Path, limit_bytes: int, repeats: int = EXTRACT_REPEATS) -> dict[str, Any]:
    """MB per CPU second of `extract_document` over the first `limit_bytes` of the corpus."""
    rules = load_rules(ROOT / "rules")
    docs: list[Document] = []
    size = 0
    for path in discover(raw):
        doc = read_document(path, raw, {})
        if isinstance(doc, Document):
            docs.append(doc)
            size += len(doc.text.encode("utf-8"))
            if size >= limit_bytes:
                break
    extract_document(docs[0], rules)  # warm-up: jieba loads its dictionary on first use
    passes, facts = [], 0
    for _ in range(repeats):
        facts = 0
        cpu, wall = time.process_time(), time.perf_counter()
        for doc in docs:
            facts += len(extract_document(doc, rules))
        passes.append((time.process_time() - cpu, time.perf_counter() - wall))
    # CPU time, not wall: one thread, so it is time on one core, without the moments
    # another process held the core (2 cores, shared).
    cpu, wall = sorted(passes)[len(passes) // 2]
    return {"mb": round(size / 1e6, 3), "docs": len(docs), "facts": facts, "cpu_s": round(cpu, 2),
            "wall_s": round(wall, 2), "mb_per_s": size / 1e6 / cpu,
            "passes_mb_per_s": [round(size / 1e6 / c, 3) for c, _ in passes],
            "process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def _describe(name: str, run: Run, reports: int) -> str:
    phases = f", start-up {run.startup_s:.1f} s, flow body {run.body_s:.1f} s" \
        if run.startup_s is not None and run.body_s is not None else ""
    children = f" + {run.children} children" if run.children else ""
    server = f"; Prefect server(s) {run.server_mb:.0f} MB" if run.server_mb else ""
    whole = f"; whole run {run.tree_pss_mb:.0f} MB PSS" if run.tree_pss_mb else ""
    return (f"{name}: {run.seconds:.1f} s{phases}; {reports / run.seconds:.1f} reports/s; CPU {run.cpu_s:.1f} s;"
            f" peak RSS {run.peak_rss_mb:.0f} MB (process{children}){server}{whole}; exit {run.returncode}")


def _details(prefix: str, run: Run | None) -> dict[str, object]:
    if run is None:
        return {}
    return {
        f"{prefix}_s": round(run.seconds, 1),
        f"{prefix}_exit": run.returncode,
        f"{prefix}_cpu_s": round(run.cpu_s, 1),
        f"{prefix}_tree_cpu_s": round(run.tree_cpu_s, 1),
        f"{prefix}_peak_rss_mb": round(run.peak_rss_mb, 1),
        f"{prefix}_largest_process_mb": round(run.largest_process_mb, 1),
        f"{prefix}_server_peak_rss_mb": round(run.server_mb, 1),
        f"{prefix}_tree_peak_pss_mb": round(run.tree_pss_mb, 1),
        f"{prefix}_children": run.children,
        f"{prefix}_startup_s": None if run.startup_s is None else round(run.startup_s, 1),
        f"{prefix}_body_s": None if run.body_s is None else round(run.body_s, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=float(os.environ.get("BENCH_MB") or DEFAULT_MB),
                        help=f"corpus size in MB (default: $BENCH_MB or {DEFAULT_MB:g})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ip-figures-bench",
                        help="corpus and run outputs (default: %(default)s)")
    parser.add_argument("--extract-mb", type=float, default=5.0,
                        help="text for the one-core extraction figure (default 5)")
    parser.add_argument("--no-overhead", action="store_true",
                        help="skip step 5 (two more cold runs): no orchestration overhead figure")
    parser.add_argument("--overhead-rounds", type=int, default=1,
                        help="pairs of runs for the overhead, alternating which goes first (default 1)")
    parser.add_argument("--one-report", action="store_true", help="the whole corpus as one report")
    parser.add_argument("--flow-option", action="append", default=[], metavar="OPTION",
                        help="an option added to every flow run (repeatable), e.g. --flow-option=--prefect-processes")
    parser.add_argument("--json", type=Path, default=ROOT / "output" / "bench.json")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    raw = args.work / f"corpus-{args.mb:g}mb-seed{args.seed}{'-one' if args.one_report else ''}"
    info = corpus_builder.build(raw, args.mb, args.seed, one_report=args.one_report)
    print(f"corpus: {info.files} reports, {info.bytes / 1e6:.1f} MB in {raw}"
          f" ({time.perf_counter() - started:.0f} s)", flush=True)

    extract: dict[str, Any] = {}
    if args.extract_mb > 0:
        extract = extraction_throughput(raw, int(min(args.extract_mb, args.mb) * 1e6))
        print(f"extraction, one core: {extract['mb_per_s']:.3f} MB per CPU second ({extract['mb']} MB,"
              f" {extract['docs']} reports, {extract['facts']} facts; passes {extract['passes_mb_per_s']})",
              flush=True)

    stamp = code_stamp()
    outs = {name: args.work / name for name in ("out", "out-one-worker", "out-plain")}
    for folder in outs.values():
        if folder.exists():
            shutil.rmtree(folder)
    options = tuple(args.flow_option)
    cold = run_flow(raw, outs["out"], args.work / "flow-cold.log", *options)
    print(_describe("flow, cold", cold, info.files), flush=True)
    noop = run_flow(raw, outs["out"], args.work / "flow-noop.log", *options)
    print(_describe("flow, rerun with nothing changed", noop, info.files), flush=True)
    pairs = [] if args.no_overhead else overhead_pairs(raw, args.work, max(args.overhead_rounds, 1), info.files,
                                                           options)
    runs = [cold, noop, *(run for pair in pairs for run in pair)]
    for run in runs:
        if run.returncode != 0:
            print(run.output_tail, file=sys.stderr)
    code_changed = code_stamp() != stamp
    if code_changed:
        print("WARNING: code or rules changed during the benchmark: the rerun was not a no-op and"
              " the runs saw different code; run it again", file=sys.stderr)
    shares = [(one.seconds - plain.seconds) / one.seconds for one, plain in pairs
              if one.returncode == plain.returncode == 0]
    overhead = statistics.median(shares) if shares and len(shares) == len(pairs) else None
    if overhead is not None:
        rounds = f" (median of {len(shares)}: {', '.join(f'{100 * x:.1f}%' for x in shares)})" \
            if len(shares) > 1 else f" ({pairs[0][0].seconds - pairs[0][1].seconds:.1f} s)"
        print(f"orchestration overhead: {100 * overhead:.1f}% of the one-worker flow's wall time{rounds}",
              flush=True)
    one, plain = pairs[0] if pairs else (None, None)

    result = {
        "extract_mb_per_s": round(float(extract["mb_per_s"]), 3) if extract else None,
        "docs_per_s": float(f"{info.files / cold.seconds:.3g}"),
        "peak_rss_mb": round(cold.peak_rss_mb, 1),
        "noop_rerun_s": round(noop.seconds, 1),
        "corpus_mb": round(info.bytes / 1e6, 2),
        "details": {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join(["python -m bench.run", *(argv if argv is not None else sys.argv[1:])]),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),  # others' work on the same cores
            "code_changed_during_run": code_changed,
            "corpus_reports": info.files,
            "extract": {k: round(v, 3) if isinstance(v, float) else v for k, v in extract.items()},
            "orchestration_overhead_share": None if overhead is None else round(overhead, 3),
            "orchestration_overhead_rounds": [round(x, 3) for x in shares],
            "overhead_rounds_s": [[round(one.seconds, 1), round(plain.seconds, 1)] for one, plain in pairs],
            **_details("flow_cold", cold),
            **_details("flow_noop", noop),
            **_details("flow_one_worker", one),
            **_details("plain", plain),
        },
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "details"}))
    print(f"written to {args.json} ({time.perf_counter() - started:.0f} s in all)")
    return 0 if all(run.returncode == 0 for run in runs) and not code_changed else 1


if __name__ == "__main__":
    raise SystemExit(main())
