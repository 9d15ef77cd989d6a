"""Keys, chunks, manifest and segment store: the parts incremental runs stand on."""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from pipeline.records import Fact
from pipeline.runs.keys import FACT_MAKERS, chunk_key, code_digest, report_key
from pipeline.runs.manifest import Entry, Manifest, read_manifest, write_manifest
from pipeline.runs.plan import chunk
from pipeline.runs.segments import Segments
from pipeline.storage.parquet import documents_table, facts_table
from pipeline.storage.versions import StagedOutput


def files(names: list[str]) -> list[SimpleNamespace]:
    return [SimpleNamespace(file=name) for name in names]


def test_chunk_boundaries_depend_on_names_only() -> None:
    names = [f"{i:05d}.txt" for i in range(2000)]
    before = [[m.file for m in group] for group in chunk(files(names), 20)]
    assert sum(map(len, before)) == 2000
    assert 40 < len(before) < 200  # about 2000 / 20
    assert max(map(len, before)) <= 80
    # A new report disturbs its own chunk only; every other chunk is the same.
    after = [[m.file for m in group] for group in chunk(files(sorted([*names, "00500a.txt"])), 20)]
    changed = [g for g in after if g not in before]
    assert len(changed) == 1 and "00500a.txt" in changed[0]
    # So does a removed one.
    after = [[m.file for m in group] for group in chunk(files([n for n in names if n != "01000.txt"]), 20)]
    assert len([g for g in after if g not in before]) <= 2


def test_chunk_rejects_bad_size() -> None:
    with pytest.raises(ValueError):
        chunk(files(["a"]), 0)


def test_report_key_covers_everything_facts_depend_on() -> None:
    base = {"code": "c", "rules": "r", "file": "a.txt", "sha256": "s", "title": "t", "published": date(2024, 1, 1)}
    key = report_key(**base)  # type: ignore[arg-type]
    for name, other in [("code", "c2"), ("rules", "r2"), ("file", "b.txt"), ("sha256", "s2"),
                        ("title", None), ("published", None)]:
        assert report_key(**{**base, name: other}) != key, name  # type: ignore[arg-type]
    assert chunk_key(["a", "b"]) != chunk_key(["b", "a"]) != chunk_key(["ab"])


def test_code_version_hashes_the_language_folders_not_plumbing(tmp_path: Path) -> None:
    package = tmp_path / "pipeline"
    for folder in ("figures", "runs", "views/review", "ingest/formats"):
        (package / folder).mkdir(parents=True)
    (package / "figures" / "finder.py").write_text("x = 1\n")
    (package / "runs" / "run.py").write_text("y = 1\n")
    first = code_digest(package)
    (package / "runs" / "run.py").write_text("y = 2\n")  # plumbing: keeps the cache
    assert code_digest(package) == first
    (package / "views" / "review" / "pages.py").write_text("html = 1\n")
    assert code_digest(package) == first
    (package / "figures" / "finder.py").write_text("x = 2\n")  # a language stage
    assert code_digest(package) != first
    changed = code_digest(package)
    (package / "ingest" / "formats" / "pdf.py").write_text("z = 1\n")  # nested folders count too
    assert code_digest(package) != changed
    changed = code_digest(package)
    (package / "records.py").write_text("r = 1\n")
    assert code_digest(package) != changed
    assert set(FACT_MAKERS) >= {"ingest", "text", "figures", "attribute", "facts", "rules"}


def test_manifest_round_trip_and_trust(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_text("x")
    stat = path.stat()
    entry = Entry("report.txt", stat.st_size, stat.st_mtime_ns, stat.st_ino, "sha", "key", "seg", 4)
    write_manifest(tmp_path / "manifest.parquet", [entry], stat.st_mtime_ns + 10**10, "rv", "cv")
    manifest = read_manifest(tmp_path)
    assert manifest.entries == {"report.txt": entry}
    assert (manifest.rules_version, manifest.code_version) == ("rv", "cv")
    assert manifest.trusted_hash("report.txt", stat) == "sha"
    assert manifest.trusted_hash("other.txt", stat) is None
    # A file modified right before the run that hashed it might change again unseen: rehash.
    racy = Manifest(manifest.entries, stat.st_mtime_ns + 10**9)
    assert racy.trusted_hash("report.txt", stat) is None
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - 10))
    assert manifest.trusted_hash("report.txt", path.stat()) is None
    assert read_manifest(None).entries == {} and read_manifest(tmp_path / "missing").entries == {}


def make_fact(doc: str, start: int) -> Fact:
    return Fact(doc=doc, doc_id="id", start=start, end=start + 2, text="1件", value=1.0, unit="件",
                dimension="count", qualifier="exact", type="level", metric=None, metric_id=None, region=None,
                region_code=None, period=None, sentence="s", rule="r", rules_version="rv")


def doc_row(file: str) -> dict[str, object]:
    return {"doc_id": "id", "file": file, "title": None, "published": None, "sha256": "x", "characters": 1,
            "facts": 1, "encoding": "utf-8"}


def test_segments_store_read_filter_and_collect(tmp_path: Path) -> None:
    out = tmp_path / "out"
    segments = Segments(out)
    facts = facts_table([make_fact("a.txt", 0), make_fact("b.txt", 0), make_fact("a.txt", 5)])
    segments.write("k1", facts, documents_table([doc_row("a.txt"), doc_row("b.txt")]), "rv")
    assert segments.has("k1") and not segments.has("k2")
    only_a, docs_a = segments.read("k1", ["a.txt"])
    assert only_a.column("start").to_pylist() == [0, 5] and docs_a.column("file").to_pylist() == ["a.txt"]
    nothing, _ = segments.read("k1", [])
    assert nothing.num_rows == 0
    assert not list((segments.root / "facts").glob(".*.tmp"))
    # Linked into a version, then collected: the linked one stays, the other goes.
    segments.write("k2", facts, documents_table([doc_row("a.txt")]), "rv")
    with StagedOutput(out, "rv") as staged:
        staged.link("facts", segments.root / "facts" / "k1.parquet")
        staged.link("documents", segments.root / "documents" / "k1.parquet")
        version = staged.commit()
    assert segments.collect([version]) == 2
    assert segments.has("k1") and not segments.has("k2")
    # The published version still finds a segment whose store copy is gone.
    (segments.root / "facts" / "k1.parquet").unlink()
    assert not segments.has("k1") and Segments(out, version).has("k1")


def test_half_written_segment_does_not_count(tmp_path: Path) -> None:
    segments = Segments(tmp_path)
    segments.write("k", facts_table([]), documents_table([]), "rv")
    (segments.root / "facts" / "k.parquet").unlink()  # as if killed between the two files
    assert not segments.has("k")


def test_staged_link_shares_the_file(tmp_path: Path) -> None:
    source = tmp_path / "s.parquet"
    source.write_bytes(b"x")
    with StagedOutput(tmp_path / "out", "rv") as staged:
        target = staged.link("facts", source, "k.parquet")
        assert target.stat().st_ino == source.stat().st_ino
        assert staged.link("facts", source, "k.parquet") == target  # linking twice is harmless
        staged.abort()
    assert source.exists()
