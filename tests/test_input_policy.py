"""The input policy (pipeline.ingest.policy): only regular files under raw are read, links out of it are refused."""
from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType, SimpleNamespace

import pyarrow.parquet as pq
import pytest
from stand_in import count_facts, use_extractor

import pipeline.rules.compiler
from pipeline.ingest.policy import InputPolicy
from pipeline.ingest.reports import iter_documents, read_document
from pipeline.records import Document, ReadError
from pipeline.runs.run import run

SECRET = "root:x:0:0:秘密12件\n"
REPORT = "新增商标12件。\n"



@pytest.fixture()
def stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline.rules.compiler, "load_rules", lambda rules_dir: SimpleNamespace(version="rv"))
    use_extractor(monkeypatch, count_facts)


@pytest.fixture()
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """raw/ with a good report, a link out of raw, a link within raw; outside/ with a secret."""
    raw, outside = tmp_path / "raw", tmp_path / "outside"
    (raw / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "passwd.txt").write_text(SECRET, encoding="utf-8")
    (raw / "good.txt").write_text(REPORT, encoding="utf-8")
    (raw / "x.txt").symlink_to(outside / "passwd.txt")
    (raw / "sub" / "alias.txt").symlink_to(Path("..") / "good.txt")  # relative, stays inside raw
    return raw, outside


@pytest.fixture()
def no_hang() -> Iterator[None]:
    """Fail instead of hanging forever (a blocking open of a pipe waits for a writer)."""
    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError("the run hung")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(60)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _error(result: Document | ReadError) -> ReadError:
    assert isinstance(result, ReadError), result
    return result


def test_a_link_out_of_raw_is_refused_with_its_target(layout: tuple[Path, Path]) -> None:
    raw, outside = layout
    results = {r.file: r for r in iter_documents(raw)}
    reason = _error(results["x.txt"]).reason
    assert str(outside / "passwd.txt") in reason and "outside the raw folder" in reason
    assert "--allow-outside-links" in reason
    assert isinstance(results["good.txt"], Document)
    alias = results["sub/alias.txt"]
    assert isinstance(alias, Document) and alias.text == REPORT  # a link within raw is followed


def test_the_option_reads_links_out_of_raw(layout: tuple[Path, Path]) -> None:
    raw, _ = layout
    result = read_document(raw / "x.txt", raw, {}, policy=InputPolicy(links_outside=True))
    assert isinstance(result, Document) and result.text == SECRET


def test_a_raw_folder_that_is_itself_a_link_is_read(layout: tuple[Path, Path], tmp_path: Path) -> None:
    raw, _ = layout
    (tmp_path / "raw-link").symlink_to(raw)
    result = read_document(tmp_path / "raw-link" / "good.txt", tmp_path / "raw-link", {})
    assert isinstance(result, Document) and result.text == REPORT


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="no /proc here to see what was opened")
def test_a_folder_swapped_for_a_link_after_the_check_is_refused(
    layout: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path is checked, then a folder on it becomes a link out of raw before the open."""
    raw, outside = layout
    (raw / "late").mkdir()
    (raw / "late" / "passwd.txt").write_text(REPORT, encoding="utf-8")
    real_open = os.open

    def swap_then_open(path: str | os.PathLike[str], flags: int, mode: int = 0o777, *,
                       dir_fd: int | None = None) -> int:
        if "late" in os.fspath(path) and not (raw / "late").is_symlink():
            (raw / "late").rename(raw / "late-moved")
            (raw / "late").symlink_to(outside)
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", swap_then_open)
    reason = _error(read_document(raw / "late" / "passwd.txt", raw, {})).reason
    assert "outside the raw folder" in reason


def test_a_run_refuses_the_link_and_copies_nothing_of_its_target(
    stand_in: None, layout: tuple[Path, Path], tmp_path: Path
) -> None:
    raw, _ = layout
    out = tmp_path / "out"
    summary = run(raw, out, tmp_path / "rules")
    assert [(e.file, "outside the raw folder" in e.reason) for e in summary.failed] == [("x.txt", True)]
    errors = pq.read_table(out / "errors").to_pylist()
    assert [row["file"] for row in errors] == ["x.txt"] and "outside the raw folder" in errors[0]["reason"]
    assert sorted(pq.read_table(out / "documents").column("file").to_pylist()) == ["good.txt", "sub/alias.txt"]
    leaked = [p for p in out.rglob("*") if p.is_file() and b"root:x:0:0" in p.read_bytes()]
    assert leaked == []


def test_a_run_with_the_option_reads_the_link(stand_in: None, layout: tuple[Path, Path], tmp_path: Path) -> None:
    raw, _ = layout
    summary = run(raw, tmp_path / "out", tmp_path / "rules", policy=InputPolicy(links_outside=True))
    assert summary.failed == () and summary.read == 3


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_in_raw_does_not_hang_the_run(stand_in: None, no_hang: None, tmp_path: Path) -> None:
    """Planning hashed every new file with a blocking open: a pipe waited for a writer forever."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "good.txt").write_text(REPORT, encoding="utf-8")
    os.mkfifo(raw / "pipe.txt")
    summary = run(raw, tmp_path / "out", tmp_path / "rules")
    assert [(e.file, e.reason) for e in summary.failed] == [
        ("pipe.txt", "not a regular file (a pipe, socket or device)")]
    assert summary.read == 1


def test_a_name_that_is_not_utf8_fails_alone(stand_in: None, tmp_path: Path) -> None:
    """Keying the report encoded its name: the whole run failed with UnicodeEncodeError."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "good.txt").write_text(REPORT, encoding="utf-8")
    (raw / os.fsdecode(b"bad\xff.txt")).write_text(REPORT, encoding="utf-8")
    out = tmp_path / "out"
    summary = run(raw, out, tmp_path / "rules")
    assert [(e.file, e.reason) for e in summary.failed] == [
        ("bad\ufffd.txt", "file name is not valid UTF-8; rename the file")]
    assert pq.read_table(out / "errors").column("file").to_pylist() == ["bad\ufffd.txt"]
    assert summary.read == 1


def test_the_command_line_option_reaches_the_flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib

    import flows

    passed: list[dict[str, object]] = []

    class Flow:
        def with_options(self, **options: object) -> Flow:
            return self

        def __call__(self, **parameters: object) -> SimpleNamespace:
            passed.append(parameters)
            return SimpleNamespace(report=lambda: "ran", crashed=())

    monkeypatch.setattr(flows, "extract_reports", Flow())
    monkeypatch.setattr(flows, "shared_server", contextlib.nullcontext)
    rules = Path(__file__).resolve().parent.parent / "rules"
    base = ["--raw", str(tmp_path), "--output", str(tmp_path / "out"), "--rules", str(rules)]
    assert flows.main(base) == 0
    assert flows.main([*base, "--allow-outside-links"]) == 0
    assert [p["links_outside"] for p in passed] == [False, True]
