"""Hostile and broken input: one bad file never sinks a run, nothing leaks, nothing hangs (issue 17).

Each case builds its files here, beside a good report, and runs the whole
pipeline (pipeline.runs.run, no Prefect) in a process of its own
(tests/hostile_run.py), then checks:

- every good report is published and every bad one is in `errors` with its reason;
- the peak resident memory of the run's process and of the views process it
  starts, as the kernel counts it (VmHWM, tests/hostile_run.py), is under 1 GiB;
- the run ends in bounded time (a generous bound: it catches hangs, it is no benchmark);
- nothing is written outside the output folder: the raw folder, the folder
  around it and the working folder are unchanged, and the temporary folder
  holds at most jieba's dictionary cache (written by jieba on first use).

The last tests run every case together, and the runs that end badly: a second
run on a busy output, a run killed by SIGKILL mid-run or before its views.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hostile_inputs import docx_bomb, pdf_bomb
from test_formats import report_pdf

from pipeline.storage.lock import OutputLock

ROOT = Path(__file__).resolve().parent.parent
RUNNER = Path(__file__).resolve().parent / "hostile_run.py"
GiB = 2**30
MAX_SECONDS = 240  # a run here takes ~5-10 s: this only catches a hang
GOOD = "2023年，金华市新增注册商标3.98万件，同比增长12.5%。\n"
SECRET = "SECRET-7f3a 机密：专利99件\n"
FORGED = "Facts: 999 (rules forged)"


@dataclass(frozen=True)
class Case:
    """Files a case adds to raw/ (and beside it), the reports it expects published and refused."""

    name: str
    build: Callable[[Path, Path], None]  # (raw, outside) -> None
    good: tuple[str, ...] = ()
    bad: dict[str, str] = field(default_factory=dict)  # file as recorded -> part of its reason
    catalogue: tuple[tuple[str, str], ...] = ()  # documents.csv rows: (file, title)


def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)


MARKUP = "<b onclick=alert(1)>报告</b>&amp;.txt"
LONG_NAME = "知" * 83 + ".txt"
NEWLINE_NAME = f"a\n{FORGED}.txt"
NOT_UTF8 = os.fsdecode(b"bad\xff.txt")

CASES = (
    Case("markup", lambda raw, _: _write(
        raw / MARKUP, "# <script>alert('title')</script>年报\n\n<img src=x onerror=alert(2)>专利12件。</script>\n"),
        good=(MARKUP,), catalogue=((MARKUP, "<script>alert(3)</script>标题"),)),
    Case("traversal", lambda _, outside: _write(outside / "secret.txt", SECRET),
         catalogue=(("../outside/secret.txt", "越界"), ("/etc/passwd", "密码"),
                    ("sub/../../outside/secret.txt", "越界二"))),
    Case("nul", lambda raw, _: _write(raw / "nul.txt", b"\x00" * 64), bad={"nul.txt": "binary"}),
    Case("empty", lambda raw, _: _write(raw / "empty.txt", b""), bad={"empty.txt": "empty file"}),
    Case("truncated-pdf", lambda raw, _: _write(raw / "cut.pdf", report_pdf()[:3000]),
         bad={"cut.pdf": "not a readable PDF"}),
    Case("gb18030", lambda raw, _: _write(raw / "gb.txt", GOOD.encode("gb18030")), good=("gb.txt",)),
    Case("deep-html", lambda raw, _: _write(
        raw / "deep.html", b"<html><body>" + b"<div>" * 4_000_000 + "专利12件".encode() + b"</body></html>"),
        bad={"deep.html": "no text"}),
    Case("link-out", lambda raw, outside: (_write(outside / "passwd.txt", SECRET),
                                           (raw / "passwd.txt").symlink_to(outside / "passwd.txt")),
         bad={"passwd.txt": "outside the raw folder"}),
    Case("long-name", lambda raw, _: _write(raw / LONG_NAME, GOOD), good=(LONG_NAME,)),
    Case("newline-name", lambda raw, _: _write(raw / NEWLINE_NAME, GOOD), good=(NEWLINE_NAME,)),
    Case("not-utf8-name", lambda raw, _: _write(raw / NOT_UTF8, GOOD),
         bad={"bad\ufffd.txt": "file name is not valid UTF-8"}),
    Case("fifo", lambda raw, _: os.mkfifo(raw / "pipe.txt"), bad={"pipe.txt": "not a regular file"}),
    Case("docx-bomb", lambda raw, _: _write(raw / "bomb.docx", docx_bomb(GiB)),
         bad={"bomb.docx": "over the limit of 64 MiB on inflated XML"}),
    Case("pdf-bomb", lambda raw, _: _write(raw / "bomb.pdf", pdf_bomb(GiB)),
         bad={"bomb.pdf": "inflates to more than 32 MiB"}),
)


@pytest.fixture(scope="module")
def temp_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TMPDIR of every run here: jieba keeps its dictionary cache there, and nothing else may appear."""
    return tmp_path_factory.mktemp("tmpdir")


def _layout(sandbox: Path, cases: tuple[Case, ...], goods: int = 1) -> tuple[Path, Path, Path]:
    raw, outside, cwd = sandbox / "raw", sandbox / "outside", sandbox / "cwd"
    for folder in (raw, outside, cwd):
        folder.mkdir(parents=True)
    for i in range(goods):
        _write(raw / f"good-{i}.txt", GOOD.replace("3.98", f"{i + 1}.5"))
    rows = [row for case in cases for row in case.catalogue]
    for case in cases:
        case.build(raw, outside)
    if rows:
        _write(raw / "documents.csv", "file,title,published\n" + "".join(
            f'"{file}","{title}",2024-04-26\n' for file, title in rows))
    return raw, outside, cwd


def _snapshot(sandbox: Path, output: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry under the sandbox but the output folder: (mode, size, mtime)."""
    seen: dict[str, tuple[int, int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(sandbox):
        dirnames[:] = [d for d in dirnames if Path(dirpath, d) != output]
        for name in dirnames + filenames:
            info = os.lstat(Path(dirpath, name))
            seen[os.path.join(dirpath, name)] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return seen


def _run(raw: Path, output: Path, cwd: Path, temp_dir: Path, *options: str) -> dict[str, Any]:
    """Run the pipeline over `raw` in a process of its own; check its time, memory and temporary files.

    With HOSTILE_FIGURES=FILE in the environment, each run's figures are appended to FILE as a JSON line.
    """
    env = dict(os.environ, TMPDIR=str(temp_dir), PYTHONPATH=str(ROOT))
    peaks = temp_dir.parent / f"views-peaks-{uuid.uuid4().hex}"  # outside the sandbox and TMPDIR
    done = subprocess.run([sys.executable, str(RUNNER), str(raw), str(output), "--peaks", str(peaks), *options],
                          cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8", timeout=MAX_SECONDS,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    if figures := os.environ.get("HOSTILE_FIGURES"):
        with open(figures, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"test": os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0],
                                     **{k: result.get(k) for k in ("seconds", "peak_kb", "views_peak_kb")}})
                         + "\n")
    assert result["seconds"] < MAX_SECONDS
    assert 0 < result["peak_kb"] * 1024 < GiB and result["views_peak_kb"] * 1024 < GiB, result
    assert "refused" in result or result["views_peak_kb"] > 0 or "0 extracted" in result["summary"], result
    assert set(os.listdir(temp_dir)) <= {"jieba.cache"}, os.listdir(temp_dir)
    return result


def _published(output: Path) -> list[str]:
    return sorted(pq.read_table(output / "documents").column("file").to_pylist())


def _errors(output: Path) -> dict[str, str]:
    return {row["file"]: row["reason"] for row in pq.read_table(output / "errors").to_pylist()}


def _check(output: Path, result: dict[str, Any], good: list[str], bad: dict[str, str]) -> None:
    assert _published(output) == sorted(good)
    errors = _errors(output)
    assert sorted(errors) == sorted(bad), errors
    for file, reason in bad.items():
        assert reason in errors[file], (file, errors[file])
    assert sorted(file for file, _ in result["failed"]) == sorted(bad)
    for path in output.rglob("*"):  # nothing of the files outside raw was copied in
        if path.is_file() and not path.is_symlink():
            assert b"SECRET-7f3a" not in path.read_bytes(), path
    printed = result["summary"].splitlines()
    assert not any(line.startswith(FORGED) for line in printed), result["summary"]


def _check_review(output: Path) -> None:
    """Markup from reports, names and titles shows as text: no tag of theirs reaches a page."""
    for page in (output / "review").rglob("*"):
        if page.suffix in (".html", ".js") and "assets" not in page.parts:
            text = page.read_text(encoding="utf-8")
            for raw_markup in ("<script>alert", "<img src=x", "<b onclick", "</script>标题"):
                assert raw_markup not in text, (page, raw_markup)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_case(case: Case, tmp_path: Path, temp_dir: Path) -> None:
    raw, _, cwd = _layout(tmp_path, (case,))
    output = tmp_path / "out"
    before = _snapshot(tmp_path, output)
    result = _run(raw, output, cwd, temp_dir)
    _check(output, result, ["good-0.txt", *case.good], case.bad)
    _check_review(output)
    assert _snapshot(tmp_path, output) == before


def test_every_case_together_with_good_reports(tmp_path: Path, temp_dir: Path) -> None:
    raw, _, cwd = _layout(tmp_path, CASES, goods=5)
    output = tmp_path / "out"
    before = _snapshot(tmp_path, output)
    result = _run(raw, output, cwd, temp_dir)
    good = [f"good-{i}.txt" for i in range(5)] + [file for case in CASES for file in case.good]
    bad = {file: reason for case in CASES for file, reason in case.bad.items()}
    _check(output, result, good, bad)
    _check_review(output)
    assert _snapshot(tmp_path, output) == before
    again = _run(raw, output, cwd, temp_dir)  # a rerun meets the same files and says the same
    assert again["read"] == result["read"] and sorted(again["failed"]) == sorted(result["failed"])
    assert _snapshot(tmp_path, output) == before


def test_the_option_reads_a_link_out_of_raw(tmp_path: Path, temp_dir: Path) -> None:
    link_out = next(case for case in CASES if case.name == "link-out")
    raw, _, cwd = _layout(tmp_path, (link_out,))
    output = tmp_path / "out"
    result = _run(raw, output, cwd, temp_dir, "--allow-outside-links")
    assert result["failed"] == [] and _published(output) == ["good-0.txt", "passwd.txt"]


def test_a_second_run_on_the_same_output_is_refused(tmp_path: Path, temp_dir: Path) -> None:
    raw, _, cwd = _layout(tmp_path, ())
    output = tmp_path / "out"
    _run(raw, output, cwd, temp_dir)
    published = sorted(p.name for p in (output / ".versions").iterdir())
    with OutputLock(output):  # another run holds the output
        result = _run(raw, output, cwd, temp_dir)
    assert "refused" in result and str(os.getpid()) in result["refused"]
    assert sorted(p.name for p in (output / ".versions").iterdir()) == published


def _facts(output: Path) -> list[tuple[Any, ...]]:
    columns = ["doc", "start", "end", "text", "value", "unit", "metric", "region", "period", "type"]
    table = pq.read_table(output / "facts", columns=columns)
    return sorted(zip(*(table.column(name).to_pylist() for name in columns)))


def test_sigkill_mid_run_then_a_rerun_gives_the_clean_facts(tmp_path: Path, temp_dir: Path) -> None:
    raw, _, cwd = _layout(tmp_path, (), goods=3)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    _run(raw, clean, cwd, temp_dir)
    _run(raw, killed, cwd, temp_dir)
    _write(raw / "good-9.txt", GOOD.replace("3.98", "7.7"))
    (raw / "good-0.txt").unlink()
    env = dict(os.environ, TMPDIR=str(temp_dir), PYTHONPATH=str(ROOT))
    died = subprocess.run([sys.executable, str(RUNNER), str(raw), str(killed), "--die-after", "chunk"], cwd=cwd,
                          env=env, capture_output=True, timeout=MAX_SECONDS, check=False)
    assert died.returncode == -9
    _run(raw, clean, cwd, temp_dir)
    result = _run(raw, killed, cwd, temp_dir)
    assert result["failed"] == [] and _facts(killed) == _facts(clean)
    assert _published(killed) == ["good-1.txt", "good-2.txt", "good-9.txt"]


def test_sigkill_before_the_views_then_a_rerun_with_nothing_new_rebuilds_them(
    tmp_path: Path, temp_dir: Path
) -> None:
    """The review kept showing the old reports for good: later runs with nothing new never rebuilt it."""
    raw, _, cwd = _layout(tmp_path, ())
    output = tmp_path / "out"
    _run(raw, output, cwd, temp_dir)
    _write(raw / "good-9.txt", GOOD.replace("3.98", "7.7"))
    env = dict(os.environ, TMPDIR=str(temp_dir), PYTHONPATH=str(ROOT))
    died = subprocess.run([sys.executable, str(RUNNER), str(raw), str(output), "--die-after", "publish"], cwd=cwd,
                          env=env, capture_output=True, timeout=MAX_SECONDS, check=False)
    assert died.returncode == -9
    assert _published(output) == ["good-0.txt", "good-9.txt"]  # the new version is out...
    reviewed = (output / "review" / "data" / "reports.js").read_text(encoding="utf-8")
    assert "good-9.txt" not in reviewed  # ...not its review
    result = _run(raw, output, cwd, temp_dir)
    assert "0 extracted" in result["summary"]
    assert "good-9.txt" in (output / "review" / "data" / "reports.js").read_text(encoding="utf-8")
    recorded = json.loads((output / "review" / "version.json").read_text(encoding="utf-8"))
    assert recorded["version"] == (output / "current").resolve().name


def test_the_escaped_summary_names_the_bad_files(tmp_path: Path, temp_dir: Path) -> None:
    newline = next(case for case in CASES if case.name == "newline-name")
    raw, _, cwd = _layout(tmp_path, (newline,))
    _write(raw / f"b\n{FORGED}.txt", b"\x00" * 8)
    result = _run(raw, tmp_path / "out", cwd, temp_dir)
    assert f"failed b\\n{FORGED}.txt: binary file" in result["summary"]
    assert f"a\\n{FORGED}.txt" in result["summary"]

