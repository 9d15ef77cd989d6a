"""Every run saves the text fact offsets index under OUTPUT/text, switched with the facts."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from pipeline.runs.run import run
from pipeline.storage.texts import TextStore

ROOT = Path(__file__).resolve().parent.parent


def test_texts_are_saved_linked_and_collected(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text("2023年，全市新增注册商标3.98万件。", encoding="utf-8")
    (raw / "sub").mkdir()
    (raw / "sub" / "b.md").write_text("# 标题\n\n专利授权量1.2万件。", encoding="utf-8")
    out = tmp_path / "out"
    run(raw, out, ROOT / "rules")
    facts = pd.read_parquet(out / "facts")
    for row in facts.itertuples():
        text = (out / "text" / f"{row.doc}.txt").read_text(encoding="utf-8")
        assert text[row.start:row.end] == row.text
    assert (out / "review" / "index.html").is_file() and (out / "facts.duckdb").is_file()
    (raw / "a.txt").write_text("2024年，全市新增注册商标4.1万件。", encoding="utf-8")
    (raw / "sub" / "b.md").unlink()
    run(raw, out, ROOT / "rules")
    assert (out / "text" / "a.txt.txt").read_text(encoding="utf-8").startswith("2024年")
    assert not (out / "text" / "sub" / "b.md.txt").exists()
    run(raw, out, ROOT / "rules")  # the first version's texts are no longer linked by any kept version
    stored = sorted(p.name for p in (out / ".state" / "text").iterdir())
    assert len(stored) == 1


def test_sample_reports_text_matches_raw(tmp_path: Path) -> None:
    out = tmp_path / "out"
    raw = tmp_path / "raw"
    shutil.copytree(ROOT / "raw", raw)
    run(raw, out, ROOT / "rules")
    for path in raw.glob("*.txt"):
        assert (out / "text" / f"{path.name}.txt").read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


def test_a_text_that_changed_for_the_same_bytes_replaces_the_stored_one(tmp_path: Path) -> None:
    """Converter code changed: the same report decodes to another text, which the new facts index."""
    store = TextStore(tmp_path / "out")
    store.save("f" * 64, "old converter text")
    version = tmp_path / "version.txt"
    version.hardlink_to(store.path("f" * 64))
    inode = store.path("f" * 64).stat().st_ino
    store.save("f" * 64, "old converter text")
    assert store.path("f" * 64).stat().st_ino == inode  # the same text is not written again
    store.save("f" * 64, "new converter text\r\n")
    assert store.path("f" * 64).read_bytes() == b"new converter text\r\n"
    assert version.read_text(encoding="utf-8") == "old converter text"  # a published version keeps its text
