"""Whole runs without Prefect, with a stand-in extractor and stand-in rules (milliseconds).

The stand-in extractor makes a count fact of every `N件`; `Stubs.version`
plays the rules version, so a "rule edit" is one assignment.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
from output_snapshot import inodes, reader_view, rules_versions, table
from stand_in import use_extractor

import pipeline.rules.compiler
import pipeline.runs.chunks
import pipeline.runs.plan
import pipeline.runs.run
from pipeline.records import Document, Fact
from pipeline.rules.files import RuleError
from pipeline.runs.chunks import ChunkOutcome
from pipeline.runs.run import run

COUNT = re.compile(r"(\d+)(件|项)")


@dataclass
class Stubs:
    version: str = "rv-1"
    extracted: list[str] = field(default_factory=list)  # files the extractor saw, in order

    def extract(self, doc: Document, rules: SimpleNamespace) -> list[Fact]:
        """Every `N件`/`N项` is a count fact; a report containing BOOM crashes the extractor."""
        self.extracted.append(doc.file)
        if "BOOM" in doc.text:
            raise RuntimeError("extractor bug")
        return [
            Fact(
                doc=doc.file, doc_id=doc.doc_id, start=m.start(), end=m.end(), text=m.group(),
                value=float(m.group(1)), unit=m.group(2), dimension="count", qualifier="exact",
                type="level", metric=None, metric_id=None, region=None, region_code=None,
                period=None, sentence=doc.text, rule=f"test.{m.group(2)}", rules_version=rules.version,
            )
            for m in COUNT.finditer(doc.text)
        ]


@pytest.fixture()
def stubs(monkeypatch: pytest.MonkeyPatch) -> Stubs:
    stub = Stubs()
    monkeypatch.setattr(pipeline.rules.compiler, "load_rules", lambda rules_dir: SimpleNamespace(version=stub.version))
    use_extractor(monkeypatch, stub.extract)
    return stub


@pytest.fixture()
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    (folder / "sub").mkdir(parents=True)
    (folder / "000_a.txt").write_text("新增商标12件，专利3件。", encoding="utf-8")
    (folder / "001_b.txt").write_bytes("授权5件".encode("gb18030"))
    (folder / "002_broken.txt").write_bytes(b"\x00\x00binary\x00")
    (folder / "003_boom.txt").write_text("BOOM 7件", encoding="utf-8")
    (folder / "sub" / "004_c.txt").write_text("没有数字。", encoding="utf-8")
    (folder / "documents.csv").write_text(
        "file,title,published\n000_a.txt,金华报告,2024-04-26\n", encoding="utf-8"
    )
    return folder


@pytest.fixture()
def clean_raw(tmp_path: Path) -> Path:
    """Twelve good reports, one figure each (report i has i件)."""
    folder = tmp_path / "clean"
    folder.mkdir()
    for i in range(12):
        (folder / f"{i:03d}.txt").write_text(f"报告{i}：新增{i + 1}件。", encoding="utf-8")
    return folder


def go(raw: Path, out: Path, **options: object):
    return run(raw, out, raw.parent / "rules", **options)  # type: ignore[arg-type]


# --- one run ---------------------------------------------------------------------


def test_run_writes_output_and_counts(stubs: Stubs, raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "output"
    summary = go(raw, out, batch_size=2)

    assert (summary.seen, summary.read, summary.extracted, summary.skipped) == (5, 3, 3, 0)
    assert summary.facts == 3
    assert [error.file for error in summary.failed] == ["002_broken.txt"]
    assert [error.file for error in summary.crashed] == ["003_boom.txt"]
    assert "extractor bug" in summary.crashed[0].reason
    assert summary.rules_version == "rv-1"

    facts = table(out, "facts")
    assert sorted((f["doc"], f["text"], f["value"]) for f in facts) == [
        ("000_a.txt", "12件", 12.0), ("000_a.txt", "3件", 3.0), ("001_b.txt", "5件", 5.0),
    ]
    documents = {d["file"]: d for d in table(out, "documents")}
    assert set(documents) == {"000_a.txt", "001_b.txt", "sub/004_c.txt"}
    assert documents["000_a.txt"]["title"] == "金华报告" and documents["000_a.txt"]["facts"] == 2
    assert documents["001_b.txt"]["encoding"] == "gb18030"
    assert documents["sub/004_c.txt"]["facts"] == 0

    errors = table(out, "errors")
    assert {(e["run_id"], e["file"]) for e in errors} == {
        (summary.run_id, "002_broken.txt"), (summary.run_id, "003_boom.txt")}
    assert any("binary" in e["reason"] for e in errors)

    (runs,) = table(out, "runs")
    assert runs["run_id"] == summary.run_id and runs["rules_version"] == "rv-1"
    assert {k: runs[k] for k in ("seen", "extracted", "skipped", "failed", "facts", "added", "removed",
                                 "changed")} == {"seen": 5, "extracted": 3, "skipped": 0, "failed": 2, "facts": 3,
                                                     "added": 3, "removed": 0, "changed": 0}
    assert runs["started"] <= runs["finished"]

    text = summary.report()
    assert "5 reports seen, 3 extracted, 0 unchanged, 2 failed" in text and "Facts: 3" in text
    assert "+3 added" in text
    assert "failed 002_broken.txt: binary" in text and "failed 003_boom.txt" in text


def test_empty_raw_folder_publishes_empty_tables(stubs: Stubs, tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    summary = go(tmp_path / "raw", tmp_path / "output")
    assert (summary.read, summary.facts, summary.failed, summary.crashed) == (0, 0, (), ())
    for name in ("facts", "documents", "diffs", "errors"):
        assert table(tmp_path / "output", name) == []
    assert len(table(tmp_path / "output", "runs")) == 1


def test_rule_error_aborts_before_writing(stubs: Stubs, monkeypatch: pytest.MonkeyPatch, raw: Path,
                                          tmp_path: Path) -> None:
    def broken(rules_dir: Path) -> None:
        raise RuleError("rules/units.yaml", 12, "unit.wan", "bad pattern")

    monkeypatch.setattr(pipeline.rules.compiler, "load_rules", broken)
    out = tmp_path / "output"
    with pytest.raises(RuleError, match="units.yaml:12: rule 'unit.wan'"):
        go(raw, out)
    assert not out.exists()


# --- incremental reruns ------------------------------------------------------------


def test_rerun_with_nothing_changed_extracts_nothing(stubs: Stubs, clean_raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "output"
    go(clean_raw, out, batch_size=3)
    before = table(out, "facts")
    files = inodes(out / "facts")
    stubs.extracted.clear()

    summary = go(clean_raw, out, batch_size=3)

    assert stubs.extracted == []
    assert (summary.extracted, summary.skipped, summary.facts) == (0, 12, 12)
    runs = table(out, "runs")
    assert [(r["extracted"], r["skipped"], r["added"], r["removed"], r["changed"]) for r in runs] == [
        (12, 0, 12, 0, 0), (0, 12, 0, 0, 0)]
    assert sorted(table(out, "facts"), key=str) == sorted(before, key=str)
    assert inodes(out / "facts") == files  # the same files, hard-linked, not rewritten
    assert "Changes: none" in summary.report()
    assert len(list((out / "diffs").glob("*.parquet"))) == 1  # only the first run changed anything


def test_new_report_is_the_only_one_extracted(stubs: Stubs, clean_raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "output"
    go(clean_raw, out, batch_size=3)
    files = inodes(out / "facts")
    stubs.extracted.clear()
    (clean_raw / "005b.txt").write_text("新增88件和9项。", encoding="utf-8")

    summary = go(clean_raw, out, batch_size=3)

    assert stubs.extracted == ["005b.txt"]
    assert (summary.extracted, summary.skipped, summary.facts) == (1, 12, 14)
    assert summary.reasons == {"new or retried": 1}
    diff = [d for d in table(out, "diffs") if d["run_id"] == summary.run_id]
    assert sorted((d["change"], d["doc"], d["text"], d["value"], d["rule"]) for d in diff) == [
        ("added", "005b.txt", "88件", 88.0, "test.件"), ("added", "005b.txt", "9项", 9.0, "test.项")]
    # Only the new report's chunk got a new segment; the other chunks are the same files.
    new_files = inodes(out / "facts")
    assert len(set(new_files) - set(files)) == 1
    assert len(set(files) - set(new_files)) == 1
    assert all(new_files[name] == ino for name, ino in files.items() if name in new_files)


def test_removed_report_loses_its_facts(stubs: Stubs, clean_raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "output"
    go(clean_raw, out, batch_size=3)
    (clean_raw / "004.txt").unlink()

    summary = go(clean_raw, out, batch_size=3)

    assert summary.gone == 1 and summary.extracted == 0 and summary.facts == 11
    assert "004.txt" not in {f["doc"] for f in table(out, "facts")}
    assert "004.txt" not in {d["file"] for d in table(out, "documents")}
    diff = [d for d in table(out, "diffs") if d["run_id"] == summary.run_id]
    assert [(d["change"], d["doc"], d["old_text"], d["old_value"]) for d in diff] == [
        ("removed", "004.txt", "5件", 5.0)]
    assert table(out, "runs")[-1]["removed"] == 1


def test_edited_report_is_reextracted_and_diffed(stubs: Stubs, clean_raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "output"
    go(clean_raw, out, batch_size=3)
    stubs.extracted.clear()
    (clean_raw / "002.txt").write_text("报告2：新增30件。另有7项。", encoding="utf-8")

    summary = go(clean_raw, out, batch_size=3)

    assert stubs.extracted == ["002.txt"] and summary.reasons == {"edited": 1}
    diff = [d for d in table(out, "diffs") if d["run_id"] == summary.run_id]
    assert sorted((d["change"], d["old_text"], d["text"], d["old_value"], d["value"]) for d in diff) == [
        ("added", None, "7项", None, 7.0), ("changed", "3件", "30件", 3.0, 30.0)]
    assert summary.changes.by_doc["002.txt"] == {"added": 1, "changed": 1}


def test_rule_edit_reruns_everything_and_never_mixes_versions(
    stubs: Stubs, clean_raw: Path, tmp_path: Path
) -> None:
    out = tmp_path / "output"
    go(clean_raw, out, batch_size=3)
    stubs.extracted.clear()
    stubs.version = "rv-2"

    summary = go(clean_raw, out, batch_size=3)

    assert sorted(stubs.extracted) == sorted(p.name for p in clean_raw.iterdir())
    assert (summary.extracted, summary.skipped) == (12, 0)
    assert summary.reasons == {"rules changed": 12} and "(extracted: 12 rules changed)" in summary.report()
    assert {f["rules_version"] for f in table(out, "facts")} == {"rv-2"}
    assert rules_versions(out) == {"rv-2"}
    assert table(out, "runs")[-1]["rules_version"] == "rv-2"
    # Back to the first rules: their segments are still stored, nothing is extracted.
    stubs.extracted.clear()
    stubs.version = "rv-1"
    summary = go(clean_raw, out, batch_size=3)
    assert stubs.extracted == [] and summary.skipped == 12
    assert {f["rules_version"] for f in table(out, "facts")} == {"rv-1"}


def test_code_change_invalidates_every_report(
    stubs: Stubs, monkeypatch: pytest.MonkeyPatch, clean_raw: Path, tmp_path: Path
) -> None:
    out = tmp_path / "output"
    go(clean_raw, out, batch_size=3)
    stubs.extracted.clear()
    monkeypatch.setattr(pipeline.runs.plan, "code_version", lambda: "another-extractor")
    summary = go(clean_raw, out, batch_size=3)
    assert summary.extracted == 12 and summary.reasons == {"code changed": 12}


def test_catalogue_edit_reextracts_that_report(stubs: Stubs, raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "output"
    go(raw, out)
    stubs.extracted.clear()
    (raw / "documents.csv").write_text(
        "file,title,published\n000_a.txt,金华报告,2023-04-26\n", encoding="utf-8")
    summary = go(raw, out)
    # 003_boom crashed last time, so it is retried; 000_a's date changed.
    assert sorted(stubs.extracted) == ["000_a.txt", "003_boom.txt"]
    assert summary.reasons == {"catalogue changed": 1, "new or retried": 2}  # 002_broken is retried too
    documents = {d["file"]: d for d in table(out, "documents")}
    assert str(documents["000_a.txt"]["published"]) == "2023-04-26"


def test_full_rerun_extracts_everything_and_changes_nothing(
    stubs: Stubs, clean_raw: Path, tmp_path: Path
) -> None:
    out = tmp_path / "output"
    go(clean_raw, out, batch_size=3)
    stubs.extracted.clear()
    summary = go(clean_raw, out, batch_size=3, force=True)
    assert len(stubs.extracted) == 12 and summary.extracted == 12
    assert (summary.changes.added, summary.changes.removed, summary.changes.changed) == (0, 0, 0)


def test_untouched_files_are_not_read_to_be_hashed(
    stubs: Stubs, monkeypatch: pytest.MonkeyPatch, clean_raw: Path, tmp_path: Path
) -> None:
    out = tmp_path / "output"
    old = 1_600_000_000_000_000_000  # mtimes well before the run: trusted next time
    for path in clean_raw.iterdir():
        os.utime(path, ns=(old, old))
    go(clean_raw, out, batch_size=3)
    hashed: list[str] = []
    real = pipeline.runs.plan.hash_report
    monkeypatch.setattr(pipeline.runs.plan, "hash_report",
                        lambda path, *args: hashed.append(path.name) or real(path, *args))
    stubs.extracted.clear()
    os.utime(clean_raw / "003.txt", ns=(old + 10**9, old + 10**9))  # touched, content the same

    summary = go(clean_raw, out, batch_size=3)

    assert hashed == ["003.txt"]
    assert stubs.extracted == [] and summary.skipped == 12


def test_unreadable_report_is_listed_and_loses_its_facts(stubs: Stubs, clean_raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "output"
    go(clean_raw, out, batch_size=3)
    (clean_raw / "001.txt").write_bytes(b"\x00\x00binary\x00")

    summary = go(clean_raw, out, batch_size=3)

    assert [e.file for e in summary.failed] == ["001.txt"]
    assert "001.txt" not in {f["doc"] for f in table(out, "facts")}
    runs = table(out, "runs")
    assert runs[-1]["failed"] == 1 and runs[-1]["removed"] == 1
    errors = table(out, "errors")
    assert [(e["run_id"], e["file"]) for e in errors] == [(summary.run_id, "001.txt")]
    # Fixed on disk: picked up again by the next run.
    (clean_raw / "001.txt").write_text("报告1：新增20件。", encoding="utf-8")
    assert go(clean_raw, out, batch_size=3).extracted == 1
    assert "001.txt" in {f["doc"] for f in table(out, "facts")}
    assert len(table(out, "errors")) == 1  # history kept, no new errors


# --- crashes ------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["pipeline.runs.run.write_runs", "pipeline.runs.run.write_manifest",
                                   "pipeline.storage.versions._switch", "pipeline.runs.history.write_file"])
def test_crash_while_publishing_keeps_previous_output(
    stubs: Stubs, monkeypatch: pytest.MonkeyPatch, clean_raw: Path, tmp_path: Path, where: str
) -> None:
    out = tmp_path / "output"
    go(clean_raw, out, batch_size=3)
    (clean_raw / "011.txt").unlink()
    (clean_raw / "020.txt").write_text("新增1件", encoding="utf-8")
    before = reader_view(out)

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # not an Exception: escapes every guard

    module, name = where.rsplit(".", 1)
    monkeypatch.setattr(f"{module}.{name}", crash)
    with pytest.raises(KeyboardInterrupt):
        go(clean_raw, out, batch_size=3)
    assert reader_view(out) == before
    monkeypatch.undo()
    stubs.extracted.clear()
    monkeypatch.setattr(pipeline.rules.compiler, "load_rules", lambda rules_dir: SimpleNamespace(version="rv-1"))
    use_extractor(monkeypatch, stubs.extract)
    summary = go(clean_raw, out, batch_size=3)
    assert summary.gone == 1 and "020.txt" in {f["doc"] for f in table(out, "facts")}


def test_crash_mid_extraction_keeps_output_and_next_run_resumes(
    stubs: Stubs, monkeypatch: pytest.MonkeyPatch, clean_raw: Path, tmp_path: Path
) -> None:
    out = tmp_path / "output"
    go(clean_raw, out, batch_size=3)
    before = reader_view(out)
    stubs.version = "rv-2"
    stubs.extracted.clear()
    real = stubs.extract

    def dies_on_the_tenth(doc: Document, rules: SimpleNamespace) -> list[Fact]:
        if len(stubs.extracted) == 9:
            raise KeyboardInterrupt
        return real(doc, rules)

    use_extractor(monkeypatch, dies_on_the_tenth)
    with pytest.raises(KeyboardInterrupt):
        go(clean_raw, out, batch_size=3)
    assert reader_view(out) == before
    assert len([p for p in (out / ".versions").iterdir() if p.is_dir()]) == 1
    # The chunks finished before the crash were stored: the next run links them.
    groups = pipeline.runs.plan.chunk([SimpleNamespace(file=p.name) for p in sorted(clean_raw.iterdir())], 3)
    finished, seen = 0, 0
    for group in groups:
        seen += len(group)
        if seen > 9:
            break
        finished += len(group)
    assert finished > 0
    use_extractor(monkeypatch, real)
    stubs.extracted.clear()
    summary = go(clean_raw, out, batch_size=3)
    assert (summary.extracted, summary.skipped, summary.facts) == (12 - finished, finished, 12)
    assert {f["rules_version"] for f in table(out, "facts")} == {"rv-2"}


def test_staged_diffs_never_outlive_a_run(
    stubs: Stubs, monkeypatch: pytest.MonkeyPatch, clean_raw: Path, tmp_path: Path
) -> None:
    """Chunks stage their diff rows under .state/diffs/RUN; a run removes its own, and a killed run's."""
    out = tmp_path / "output"
    staging = out / ".state" / "diffs"
    killed = staging / "20260101T000000Z-killed"
    killed.mkdir(parents=True)
    (killed / "chunk-000000.arrows").write_bytes(b"left by a run killed mid-way")
    summary = go(clean_raw, out, batch_size=3)
    assert summary.changes.added == 12 and len(table(out, "diffs")) == 12
    assert list(staging.iterdir()) == []
    for i in range(12):  # every fact changes value: every chunk has diff rows to stage
        (clean_raw / f"{i:03d}.txt").write_text(f"报告{i}：新增{i + 50}件。", encoding="utf-8")
    staged_when_killed: list[str] = []
    add = pipeline.runs.run.RunWriter.add

    def dies_collecting_the_second_chunk(writer: pipeline.runs.run.RunWriter, outcome: ChunkOutcome) -> None:
        if outcome.index == 1:  # staged, not yet collected
            staged_when_killed.extend(p.name for p in staging.glob("*/*.arrows"))
            raise KeyboardInterrupt
        add(writer, outcome)

    monkeypatch.setattr(pipeline.runs.run.RunWriter, "add", dies_collecting_the_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        go(clean_raw, out, batch_size=3)
    assert staged_when_killed == ["chunk-000001.arrows"]
    assert list(staging.iterdir()) == []
