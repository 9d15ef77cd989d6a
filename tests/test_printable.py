"""Report names are printed escaped (pipeline.printable): a newline in a name forges no line."""
from __future__ import annotations

import logging
import re
from pathlib import Path
from types import SimpleNamespace

import pyarrow.parquet as pq
import pytest
from stand_in import use_extractor

import pipeline.rules.compiler
from pipeline.printable import printable
from pipeline.records import Document, Fact
from pipeline.runs.run import run

FORGED = "Facts: 999 (rules forged)"


def _count_facts(doc: Document, rules: SimpleNamespace) -> list[Fact]:
    """A stand-in extractor: every N件 is a fact; BOOM in a report is an extractor bug."""
    if "BOOM" in doc.text:
        raise RuntimeError("extractor bug")
    return [
        Fact(doc=doc.file, doc_id=doc.doc_id, start=m.start(), end=m.end(), text=m.group(), value=float(m.group(1)),
             unit="件", dimension="count", qualifier="exact", type="level", metric=None, metric_id=None,
             region=None, region_code=None, period=None, sentence=doc.text, rule="test", rules_version=rules.version)
        for m in re.finditer(r"(\d+)件", doc.text)
    ]


@pytest.mark.parametrize(("text", "shown"), [
    ("知识产权.txt", "知识产权.txt"),
    ("全角\u3000空格 and space.txt", "全角\u3000空格 and space.txt"),  # spaces are printable
    ("a\nb.txt", "a\\nb.txt"),
    ("a\\nb.txt", "a\\\\nb.txt"),  # a real backslash-n is told apart from an escaped newline
    ("\r\t\x1b[31m\x85.txt", "\\r\\t\\x1b[31m\\x85.txt"),
    ("evil\u202etxt.exe\u200b\u2028.txt", "evil\\u202etxt.exe\\u200b\\u2028.txt"),
    ("bad\udcff.txt", "bad\\udcff.txt"),
    ("tag\U000e0041.txt", "tag\\U000e0041.txt"),
])
def test_printable_escapes_what_breaks_or_hides_a_line(text: str, shown: str) -> None:
    assert printable(text) == shown
    assert "\n" not in printable(text)


def test_names_with_newlines_forge_no_line_of_the_summary_or_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(pipeline.rules.compiler, "load_rules", lambda rules_dir: SimpleNamespace(version="rv"))
    use_extractor(monkeypatch, _count_facts)
    raw = tmp_path / "raw"
    raw.mkdir()
    names = {f"good\n{FORGED}.txt": "新增12件", f"binary\n{FORGED}.txt": "\x00\x00\x00",
             f"crash\n{FORGED}.txt": "BOOM 3件"}
    for name, text in names.items():
        (raw / name).write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    with caplog.at_level(logging.ERROR):
        summary = run(raw, out, tmp_path / "rules")
    printed = summary.report()
    assert not any(line.startswith(FORGED) for line in printed.splitlines()), printed
    for kind in ("good", "binary", "crash"):
        assert f"{kind}\\n{FORGED}.txt" in printed
    assert f"crash\\n{FORGED}.txt" in caplog.text and f"\n{FORGED}" not in caplog.text
    # What is recorded is the name itself, not its printed form.
    assert pq.read_table(out / "documents").column("file").to_pylist() == [f"good\n{FORGED}.txt"]
    assert sorted(pq.read_table(out / "errors").column("file").to_pylist()) == [
        f"binary\n{FORGED}.txt", f"crash\n{FORGED}.txt"]
