"""Tests for reading raw reports: discovery, decoding, catalogue and dates."""
from __future__ import annotations

import codecs
from datetime import date
from pathlib import Path

import pytest

from pipeline.ingest import (
    CatalogueError,
    UnreadableError,
    date_from_text,
    decode,
    discover,
    doc_id_for,
    iter_documents,
    load_catalogue,
    read_document,
)
from pipeline.records import Document, ReadError

RAW = Path(__file__).parent.parent / "raw"
CHINESE = "金华市2023年发明专利授权量达到1.2万件，同比增长15%。\n"


def _read(tmp_path: Path, name: str, data: bytes) -> Document | ReadError:
    path = tmp_path / name
    path.write_bytes(data)
    return read_document(path, tmp_path, {})


def _doc(result: Document | ReadError) -> Document:
    assert isinstance(result, Document), result
    return result


def test_utf8(tmp_path: Path) -> None:
    doc = _doc(_read(tmp_path, "a.txt", CHINESE.encode("utf-8")))
    assert (doc.text, doc.encoding) == (CHINESE, "utf-8")


def test_utf8_bom_is_dropped(tmp_path: Path) -> None:
    doc = _doc(_read(tmp_path, "a.txt", codecs.BOM_UTF8 + CHINESE.encode("utf-8")))
    assert (doc.text, doc.encoding) == (CHINESE, "utf-8-sig")
    assert not doc.text.startswith("\ufeff")


@pytest.mark.parametrize("codec", ["gbk", "gb2312", "gb18030"])
def test_gb_family(tmp_path: Path, codec: str) -> None:
    doc = _doc(_read(tmp_path, "a.txt", CHINESE.encode(codec)))
    assert (doc.text, doc.encoding) == (CHINESE, "gb18030")


def test_gb18030_only_character() -> None:
    text = "吉祥物𠮷的专利12件"  # U+20BB7 exists in GB18030 but not GBK
    assert decode(text.encode("gb18030")) == (text, "gb18030")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_bom(codec: str) -> None:
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(codec, b"")
    assert decode(bom + CHINESE.encode(codec)) == (CHINESE, "utf-16")


def test_crlf_is_kept() -> None:
    text = "第一行\r\n第二行\r\n"
    assert decode(text.encode("utf-8"))[0] == text


@pytest.mark.parametrize("data", [b"", b"  \r\n\t", codecs.BOM_UTF8, "\u3000\n".encode()])
def test_empty_file(tmp_path: Path, data: bytes) -> None:
    assert _read(tmp_path, "empty.txt", data) == ReadError("empty.txt", "empty file")


def test_binary_with_nul_bytes(tmp_path: Path) -> None:
    result = _read(tmp_path, "junk.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert isinstance(result, ReadError)
    assert result.file == "junk.txt" and "binary" in result.reason


def test_binary_mostly_control_characters() -> None:
    with pytest.raises(UnreadableError, match="control"):
        decode(bytes(range(1, 32)) * 20 + b"abc")


def test_undecodable_names_offset() -> None:
    with pytest.raises(UnreadableError, match="offset 3"):
        decode(b"abc\xff\xfe\xfd")
    with pytest.raises(UnreadableError, match="offset 5"):
        decode(codecs.BOM_UTF8 + b"ab\xff")


def test_vanished_file_is_read_error(tmp_path: Path) -> None:
    result = read_document(tmp_path / "gone.txt", tmp_path, {})
    assert isinstance(result, ReadError) and result.file == "gone.txt"
    assert "cannot read" in result.reason


def test_discover_recursive_sorted_skips_hidden(tmp_path: Path) -> None:
    for rel in ["b.txt", "a/z.md", "a/Y.TXT", "c.Md", ".hidden.txt", ".git/x.txt",
                "a/.cache/y.txt", "documents.csv", "notes.docx", "a/readme"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("内容")
    found = [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path)]
    assert found == ["a/Y.TXT", "a/z.md", "b.txt", "c.Md"]


@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8])
def test_catalogue_applied(tmp_path: Path, bom: bytes) -> None:
    csv_text = (
        "file,title,published,publisher\n"
        "sub/a.txt,金华：创新引领,2024-04-26,报刊\n"
        "b.txt,台州报告,,报刊\n"
    )
    (tmp_path / "documents.csv").write_bytes(bom + csv_text.encode("utf-8"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/a.txt").write_text("# 别的标题\n2020年1月1日\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("正文\n2022年10月26日\n", encoding="utf-8")
    assert load_catalogue(tmp_path)["sub/a.txt"] == ("金华：创新引领", date(2024, 4, 26))
    docs = {d.file: d for d in map(_doc, iter_documents(tmp_path))}
    assert (docs["sub/a.txt"].title, docs["sub/a.txt"].published) == ("金华：创新引领", date(2024, 4, 26))
    # Matched by bare file name; empty published falls back to the text.
    assert (docs["b.txt"].title, docs["b.txt"].published) == ("台州报告", date(2022, 10, 26))


def test_missing_catalogue_uses_text(tmp_path: Path) -> None:
    (tmp_path / "r.md").write_text("\n\n## 东阳市工作方案\n\n正文。\n\n  2022年10月26日  \n", encoding="utf-8")
    assert load_catalogue(tmp_path) == {}
    [doc] = list(iter_documents(tmp_path))
    assert _doc(doc).published == date(2022, 10, 26)
    assert doc.title == "东阳市工作方案"


def test_fallback_title_is_first_line_and_capped(tmp_path: Path) -> None:
    doc = _doc(_read(tmp_path, "t.txt", ("\n  " + "长" * 300 + "\n正文").encode()))
    assert doc.title == "长" * 200


@pytest.mark.parametrize("row, reason", [
    ("a.txt,标题,2024/04/26", "YYYY-MM-DD"),
    ("a.txt,标题,2024-02-30", "invalid date"),
    (",标题,2024-04-26", "file"),
])
def test_bad_catalogue_row(tmp_path: Path, row: str, reason: str) -> None:
    (tmp_path / "documents.csv").write_text(
        f"file,title,published\nok.txt,好,2024-01-01\n{row}\n", encoding="utf-8")
    with pytest.raises(CatalogueError) as info:
        load_catalogue(tmp_path)
    assert "documents.csv:3:" in str(info.value) and reason in str(info.value)


def test_catalogue_missing_file_column(tmp_path: Path) -> None:
    (tmp_path / "documents.csv").write_text("name,title,published\na.txt,标题,\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"documents\.csv:1: missing column\(s\) file"):
        load_catalogue(tmp_path)


@pytest.mark.parametrize("text, expected", [
    ("正文\n发布日期：2024-04-26\n2022年10月26日\n", date(2024, 4, 26)),
    ("2022年10月26日\n发布时间:2024年4月26日 10:30\n", date(2024, 4, 26)),
    ("来源：本站 日期：2023.5.6\n", date(2023, 5, 6)),
    ("截止日期：2025年12月31日前完成。\n", None),  # a deadline, not a publication date
    ("正文\n**２０２２年１０月２６日**\n", date(2022, 10, 26)),  # full-width digits
    ("正文\n2022年10月27日印发\n", date(2022, 10, 27)),
    ("正文\n 2022-10-26 \n", date(2022, 10, 26)),
    ("正文\n2022年2月30日\n2022年3月1日\n", date(2022, 3, 1)),  # invalid date skipped
    ("2022年10月26日，金华获批示范城市。\n", None),  # date inside a sentence
    ("（2022-2025年）\n", None),
])
def test_date_from_text(text: str, expected: date | None) -> None:
    assert date_from_text(text) == expected


def test_doc_id_stable_and_path_based(tmp_path: Path) -> None:
    assert doc_id_for("sub/a.txt") == "f08ae66e3d0ccfc1"  # sha1 of the path, pinned
    assert len(doc_id_for("a.txt")) == 16 and doc_id_for("a.txt") != doc_id_for("b.txt")
    first = _doc(_read(tmp_path, "a.txt", "版本一".encode()))
    second = _doc(_read(tmp_path, "a.txt", "版本二".encode()))
    assert first.doc_id == second.doc_id == doc_id_for("a.txt")
    assert first.sha256 != second.sha256


def test_real_sample_folder() -> None:
    results = list(iter_documents(RAW))
    docs = {d.file: d for d in map(_doc, results)}
    assert len(docs) == 5
    doc = docs["004_cd3890bc85c3d6ca.txt"]
    assert doc.published == date(2022, 10, 26)
    assert doc.text == (RAW / "004_cd3890bc85c3d6ca.txt").read_bytes().decode("utf-8")
    assert doc.title and doc.title.startswith("东阳市国家知识产权强县")
    # The date is also stated in the text itself (standalone line 17).
    assert _doc(read_document(doc.path, RAW, {})).published == date(2022, 10, 26)
