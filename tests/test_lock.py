"""One run per output folder, and a killed run leaves the output as it was (or as the next one).

The kill tests run the pipeline in a child process with a stand-in extractor
and SIGKILL it at a chosen point: no `finally`, no `__exit__`, like a power cut
or the OOM killer.
"""
from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
from output_snapshot import READER_DIRS, reader_view, table
from stand_in import use_extractor

import pipeline.rules.compiler
from pipeline.runs.run import run
from pipeline.storage.lock import OutputBusyError, OutputLock
from pipeline.storage.paths import LOCK_NAME

ROOT = Path(__file__).resolve().parent.parent

CHILD = textwrap.dedent("""
    import os, re, signal, sys
    from pathlib import Path
    from types import SimpleNamespace
    import pipeline.facts.extract, pipeline.rules.compiler, pipeline.runs.run, pipeline.storage.versions
    from pipeline.records import Fact

    raw, out, version, kill_at = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    seen = []

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    def extract(doc, rules):
        seen.append(doc.file)
        if kill_at == "extract" and len(seen) == 5:
            die()
        return [Fact(doc=doc.file, doc_id=doc.doc_id, start=m.start(), end=m.end(), text=m.group(),
                     value=float(m.group(1)), unit="件", dimension="count", qualifier="exact", type="level",
                     metric=None, metric_id=None, region=None, region_code=None, period=None,
                     sentence=doc.text, rule="test", rules_version=rules.version)
                for m in re.finditer(r"(\\d+)件", doc.text)]

    pipeline.rules.compiler.load_rules = lambda rules_dir: SimpleNamespace(version=version)
    pipeline.facts.extract.extract_document_windows = lambda doc, rules: [extract(doc, rules)]
    if kill_at == "history":
        pipeline.runs.run.write_runs = die
    if kill_at == "switch":  # after `current` moved, before the reader links and the pruning
        pipeline.storage.versions._ensure_link = die
    pipeline.runs.run.run(raw, out, raw.parent / "rules", batch_size=2)
""")


@pytest.fixture()
def stubs(monkeypatch: pytest.MonkeyPatch) -> None:
    def extract(doc, rules):  # type: ignore[no-untyped-def]
        return []

    monkeypatch.setattr(pipeline.rules.compiler, "load_rules", lambda rules_dir: SimpleNamespace(version="rv"))
    use_extractor(monkeypatch, extract)


@pytest.fixture()
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    for i in range(10):
        (folder / f"{i:03d}.txt").write_text(f"第{i}份：{i + 1}件", encoding="utf-8")
    return folder


def child(raw: Path, out: Path, version: str, kill_at: str) -> int:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(raw), str(out), version, kill_at],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, -9), proc.stderr[-2000:]
    return proc.returncode


def test_second_run_on_the_same_output_is_refused(stubs: None, raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "output"
    run(raw, out, tmp_path / "rules")
    before = reader_view(out)
    with OutputLock(out):  # another run holding the folder (a separate open file: flock conflicts)
        with pytest.raises(OutputBusyError, match=rf"{out} is in use by another run \(pid {os.getpid()}"):
            run(raw, out, tmp_path / "rules")
        with pytest.raises(OutputBusyError):
            OutputLock(out).check()
    assert reader_view(out) == before
    run(raw, out, tmp_path / "rules")  # free again once the other run ends


def test_stale_lock_file_does_not_block(stubs: None, raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "output"
    out.mkdir()
    (out / LOCK_NAME).write_text("pid 999999 on gone-host, started 2020-01-01T00:00:00+00:00\n")
    OutputLock(out).check()
    summary = run(raw, out, tmp_path / "rules")
    assert summary.seen == 10
    assert f"pid {os.getpid()}" in (out / LOCK_NAME).read_text()


def test_lock_is_an_flock_released_on_exit(tmp_path: Path) -> None:
    with OutputLock(tmp_path / "out") as lock, open(lock.path) as handle, pytest.raises(BlockingIOError):
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with open(tmp_path / "out" / LOCK_NAME) as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)


@pytest.mark.parametrize("kill_at", ["extract", "history"])
def test_killed_run_leaves_output_as_before(raw: Path, tmp_path: Path, kill_at: str) -> None:
    out = tmp_path / "output"
    assert child(raw, out, "v1", "none") == 0
    (raw / "003.txt").unlink()
    (raw / "100.txt").write_text("新增7件", encoding="utf-8")
    before = reader_view(out)

    assert child(raw, out, "v2", kill_at) == -9

    assert reader_view(out) == before
    assert {f["rules_version"] for f in table(out, "facts")} == {"v1"}
    # The lock died with the process, and the next run publishes normally.
    assert child(raw, out, "v2", "none") == 0
    assert {f["rules_version"] for f in table(out, "facts")} == {"v2"}
    assert "100.txt" in {f["doc"] for f in table(out, "facts")}
    runs = table(out, "runs")
    assert [r["rules_version"] for r in runs] == ["v1", "v2"]  # the killed run left no row
    assert len([p for p in (out / ".versions").iterdir() if p.is_dir()]) == 2  # crashed staging pruned


def test_run_killed_mid_switch_shows_the_new_version_whole(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "output"
    assert child(raw, out, "v1", "none") == 0
    (raw / "100.txt").write_text("新增7件", encoding="utf-8")

    assert child(raw, out, "v2", "switch") == -9

    versions = {Path(os.path.realpath(out / name)).parent for name in READER_DIRS}
    assert len(versions) == 1  # every reader folder is in one version: no mix
    assert {f["rules_version"] for f in table(out, "facts")} == {"v2"}
    assert [r["rules_version"] for r in table(out, "runs")] == ["v1", "v2"]
    assert child(raw, out, "v2", "none") == 0
    assert len(table(out, "runs")) == 3
