"""Any legal report name publishes: output paths made from report names are bounded (pipeline.storage.texts)."""
from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from pipeline.runs.run import run
from pipeline.storage.texts import NAME_MAX_BYTES, text_file
from pipeline.views.review import text_path

ROOT = Path(__file__).resolve().parent.parent
LONGEST = "知" * 83 + ".txt"  # 253 bytes: a legal name, 257 with .txt appended
DEEP = "/".join(["目录" * 40] * 5) + "/深.txt"  # 1,208 bytes of path, every part legal
REPORT = "2023年，全市新增注册商标3.98万件，同比增长12.5%。\n"


def test_short_names_keep_their_path_and_long_ones_are_bounded() -> None:
    assert text_file("sub/a.txt") == "sub/a.txt.txt"
    assert text_file("知" * 82 + ".txt") == "知" * 82 + ".txt.txt"  # 254 bytes with .txt: fits
    bounded = text_file(LONGEST)
    assert len(bounded.encode()) <= NAME_MAX_BYTES and "/" not in bounded
    assert bounded.startswith("知" * 32) and bounded.endswith(".txt")
    deep = text_file(DEEP)
    assert "/" not in deep and deep.startswith("深.txt~")
    assert len({text_file(LONGEST), text_file("x" + LONGEST), text_file(DEEP)}) == 3


def test_a_report_with_the_longest_name_is_published_with_its_text(tmp_path: Path) -> None:
    """Publishing linked OUTPUT/text/<doc>.txt: File name too long, and the whole run failed, every time."""
    raw = tmp_path / "raw"
    (raw / Path(DEEP).parent).mkdir(parents=True)
    for name in (LONGEST, DEEP, "a.txt"):
        (raw / name).write_text(REPORT, encoding="utf-8")
    out = tmp_path / "out"
    for _ in range(2):  # a later run too
        summary = run(raw, out, ROOT / "rules")
        assert summary.failed == () and summary.read == 3
    facts = pq.read_table(out / "facts").to_pylist()
    assert {fact["doc"] for fact in facts} == {LONGEST, DEEP, "a.txt"}
    for fact in facts:
        text = text_path(out, fact["doc"]).read_text(encoding="utf-8")
        assert text[fact["start"]:fact["end"]] == fact["text"]
    pages = [page.read_text(encoding="utf-8") for page in (out / "review" / "reports").glob("*.html")]
    assert len(pages) == 3 and all("3.98万件" in page for page in pages)  # each page found its text
