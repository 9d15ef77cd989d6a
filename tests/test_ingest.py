"""Tests for reading raw reports: discovery, decoding, catalogue and dates."""
from __future__ import annotations

import codecs
import errno
import gzip
import hashlib
import io
import os
import random
import zipfile
from datetime import date
from pathlib import Path

import pytest

import pipeline.ingest.reports as ingest
from pipeline.ingest.catalogue import CatalogueError, date_from_text, load_catalogue
from pipeline.ingest.decode import UnreadableError, decode
from pipeline.ingest.policy import InputPolicy
from pipeline.ingest.reports import MAX_REPORT_BYTES, discover, doc_id_for, iter_documents, read_document
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
                "a/.cache/y.txt", "documents.csv", "notes.docx", "sheet.xlsx", "a/readme", "p.PDF"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("内容")
    found = [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path)]
    assert found == ["a/Y.TXT", "a/z.md", "b.txt", "c.Md", "notes.docx", "p.PDF"]


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
    assert _doc(doc).title == "东阳市工作方案"


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


# --- bad input: a clear ReadError for the file, and every other file still read ----------

SAMPLE = "\n".join(p.read_text(encoding="utf-8") for p in sorted(RAW.glob("*.txt")))


def _error(result: Document | ReadError) -> ReadError:
    assert isinstance(result, ReadError), result
    return result


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("report.txt", CHINESE * 20)
    return buffer.getvalue()


@pytest.mark.parametrize("data", [
    gzip.compress(CHINESE.encode() * 20, mtime=0),
    _zip_bytes(),
    b"\x7fELF\x02\x01\x01" + bytes(9) + random.Random(1).randbytes(2000),
    random.Random(0).randbytes(4096),
], ids=["gzip", "zip", "elf", "random"])
def test_binary_with_text_extension(tmp_path: Path, data: bytes) -> None:
    error = _error(_read(tmp_path, "report.txt", data))
    assert error.file == "report.txt" and "binary" in error.reason


def test_binary_without_nul_bytes_is_undecodable(tmp_path: Path) -> None:
    data = bytes(b for b in random.Random(2).randbytes(4096) if b >= 0x80)
    assert "undecodable bytes" in _error(_read(tmp_path, "r.txt", data)).reason


def test_corrupt_utf8_is_refused_not_read_as_gb18030() -> None:
    """GB18030 accepts almost any bytes: one lost byte must not turn a UTF-8 report into mojibake."""
    data = "同时搭建知识产权区块链公共存证平台，5家企业从金融机构获得2000万元数据知识产权质押贷款。\n".encode()
    corrupt = data[:126] + data[127:]  # one byte of 贷 lost
    assert corrupt.decode("gb18030").startswith("鍚屾椂")  # the trap: this "works"
    with pytest.raises(UnreadableError, match="invalid UTF-8 at byte offset 125 "):
        decode(corrupt)


def test_long_gbk_report_still_decodes() -> None:
    assert decode(SAMPLE.encode("gb18030")) == (SAMPLE, "gb18030")


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_detected(codec: str) -> None:
    assert decode(SAMPLE.encode(codec)) == (SAMPLE, codec)
    assert decode(CHINESE.encode(codec)) == (CHINESE, codec)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_many_nul_low_bytes(codec: str) -> None:
    """一 is U+4E00: its zero byte sits on the other side from ASCII's."""
    text = "第一，统一，一流，唯一，一一对应，1件\n" * 10
    assert decode(text.encode(codec)) == (text, codec)


def test_utf16_without_bom_odd_length_is_binary() -> None:
    with pytest.raises(UnreadableError, match="binary"):
        decode(CHINESE.encode("utf-16-le") + b"x")


def test_nul_pattern_that_is_not_text_is_binary() -> None:
    """ASCII-like NULs on one side, but the other characters are private-use junk."""
    rng = random.Random(3)
    junk = b"".join(b"a\x00" + rng.randrange(0xE000, 0xF900).to_bytes(2, "little") for _ in range(500))
    with pytest.raises(UnreadableError, match="not UTF-16 text"):
        decode(junk)


def test_utf8_with_a_stray_nul_is_not_read_as_utf16() -> None:
    """Paired ASCII bytes look like CJK in UTF-16 ("Bush hid the facts"); one NUL proves nothing."""
    data = ("The report: " * 50).encode() + b"\x00\x00"
    with pytest.raises(UnreadableError, match="binary"):
        decode(data)


@pytest.mark.parametrize("codec", ["utf-32", "utf-32-le", "utf-32-be"])
def test_utf32_with_bom(codec: str) -> None:
    bom = {"utf-32-le": codecs.BOM_UTF32_LE, "utf-32-be": codecs.BOM_UTF32_BE}.get(codec, b"")
    assert decode(bom + CHINESE.encode(codec)) == (CHINESE, "utf-32")


def test_utf16_bom_then_invalid_is_refused() -> None:
    with pytest.raises(UnreadableError, match="invalid utf-16 at byte offset"):
        decode(codecs.BOM_UTF16_LE + CHINESE.encode("utf-16-le") + b"\x00\xd8")  # lone surrogate


@pytest.mark.parametrize("data", [codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE + " \n".encode("utf-16-be"),
                                  "\u3000\n".encode("utf-16-le")])
def test_empty_utf16_file(tmp_path: Path, data: bytes) -> None:
    assert _read(tmp_path, "e.txt", data) == ReadError("e.txt", "empty file")


def test_fifty_megabyte_report_is_read_whole(tmp_path: Path) -> None:
    """Size policy: up to MAX_REPORT_BYTES a report is read whole, date and title included."""
    body = SAMPLE.encode()
    data = body * -(-50 * 10**6 // len(body)) + "\n发布日期：2024年3月5日\n".encode()
    assert len(data) >= 50 * 10**6
    (tmp_path / "big.txt").write_bytes(data)
    [doc] = list(iter_documents(tmp_path))
    doc = _doc(doc)
    assert len(doc.text) == len(data.decode()) and doc.text.endswith("2024年3月5日\n")
    assert doc.sha256 == hashlib.sha256(data).hexdigest()
    assert doc.published == date(2024, 3, 5)  # the only labelled date, at the very end
    assert doc.title == _doc(read_document(RAW / "000_5d7395224a19708a.txt", RAW, {})).title


def test_too_large_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:  # sparse: no data written, nothing read
        handle.truncate(MAX_REPORT_BYTES + 1)
    error = _error(read_document(path, tmp_path, {}))
    assert "too large: 64.0 MiB (limit 64 MiB)" in error.reason


def test_size_limit_is_a_parameter(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"x" * 11)
    (tmp_path / "b.txt").write_bytes(b"x" * 10)
    results = list(iter_documents(tmp_path, max_bytes=10))
    assert "too large" in _error(results[0]).reason
    assert _doc(results[1]).text == "x" * 10


def test_million_character_line(tmp_path: Path) -> None:
    line = "金华市专利授权量达到1.2万件，" * 70_000  # 1.05 M characters, no newline
    text = line + "\n2022年10月26日\n"
    doc = _doc(_read(tmp_path, "long.txt", text.encode()))
    assert doc.text == text
    assert doc.title == line[:200]
    assert doc.published == date(2022, 10, 26)


def test_vanished_mid_run(tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(CHINESE, encoding="utf-8")
    results = iter_documents(tmp_path)
    assert _doc(next(results)).file == "a.txt"
    (tmp_path / "b.txt").unlink()  # after discovery, before it is read
    rest = list(results)
    assert _error(rest[0]) == ReadError("b.txt", "cannot read file: No such file or directory")
    assert _doc(rest[1]).file == "c.txt"


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulated with a failing open: this suite may run as root, which reads any file."""
    (tmp_path / "locked.txt").write_text(CHINESE, encoding="utf-8")
    (tmp_path / "open.txt").write_text(CHINESE, encoding="utf-8")
    real_open = os.open

    def deny(path: str | os.PathLike[str], flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if os.fspath(path).endswith("locked.txt"):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", deny)
    results = list(iter_documents(tmp_path))
    assert _error(results[0]) == ReadError("locked.txt", "cannot read file: Permission denied")
    assert _doc(results[1]).file == "open.txt"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_permission_denied_for_real(tmp_path: Path) -> None:
    path = tmp_path / "locked.txt"
    path.write_text(CHINESE, encoding="utf-8")
    path.chmod(0)
    try:
        assert _error(read_document(path, tmp_path, {})).reason == "cannot read file: Permission denied"
    finally:
        path.chmod(0o644)


def test_unlistable_folder_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports in a folder that cannot be listed must not vanish silently."""
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked/a.txt").write_text(CHINESE, encoding="utf-8")
    (tmp_path / "z.txt").write_text(CHINESE, encoding="utf-8")
    real_scandir = os.scandir

    def deny(path: str | os.PathLike[str] = ".") -> object:
        if os.fspath(path).endswith("locked"):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", deny)
    results = list(iter_documents(tmp_path))
    assert _error(results[0]) == ReadError("locked", "cannot list folder: Permission denied")
    assert _doc(results[1]).file == "z.txt"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_named_pipe_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")  # opening it blocking would wait for a writer forever
    error = _error(read_document(tmp_path / "pipe.txt", tmp_path, {}))
    assert error.reason == "not a regular file (a pipe, socket or device)"


def test_links_that_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    (tmp_path / "loop.txt").symlink_to(tmp_path / "loop.txt")
    (tmp_path / "device.txt").symlink_to(os.devnull)
    (tmp_path / "ok.txt").write_text(CHINESE, encoding="utf-8")
    results = {r.file: r for r in iter_documents(tmp_path, policy=InputPolicy(links_outside=True))}
    assert results["dangling.txt"] == ReadError("dangling.txt", "cannot read file: No such file or directory")
    assert _error(results["loop.txt"]).reason.startswith("cannot read file: Too many levels of symbolic links")
    assert _error(results["device.txt"]).reason.startswith("not a regular file")  # even where links may leave raw
    assert _doc(results["ok.txt"]).text == CHINESE


def test_file_name_not_utf8(tmp_path: Path) -> None:
    (tmp_path / os.fsdecode(b"bad\xff.txt")).write_text(CHINESE, encoding="utf-8")
    [error] = list(iter_documents(tmp_path))
    assert _error(error) == ReadError("bad\ufffd.txt", "file name is not valid UTF-8; rename the file")


def test_unexpected_error_stops_only_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(name + CHINESE, encoding="utf-8")
    real = ingest.date_from_text

    def broken(text: str) -> date | None:
        if text.startswith("a.txt"):
            raise RuntimeError("boom")
        return real(text)

    monkeypatch.setattr(ingest, "date_from_text", broken)
    results = list(iter_documents(tmp_path))
    assert _error(results[0]) == ReadError("a.txt", "unexpected error while reading: RuntimeError: boom")
    assert _doc(results[1]).file == "b.txt"


def test_every_bad_file_reported_and_the_rest_read(tmp_path: Path) -> None:
    """One folder holding every kind of bad input: each file gives exactly one result."""
    good = {"good-utf8.txt": CHINESE.encode(), "good-gbk.md": CHINESE.encode("gbk"),
            "good-utf16le.txt": CHINESE.encode("utf-16-le"),
            "good-utf16bom.txt": codecs.BOM_UTF16_BE + CHINESE.encode("utf-16-be")}
    bad = {"bad-empty.txt": b"", "bad-blank.txt": b" \n\n", "bad-png.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
           "bad-bytes.txt": b"abc\xff\xfe\xfd", "bad-bom.txt": codecs.BOM_UTF8 + b"\xff"}
    for name, data in {**good, **bad}.items():
        (tmp_path / name).write_bytes(data)
    results = {r.file: r for r in iter_documents(tmp_path)}
    assert set(results) == set(good) | set(bad)
    assert all(_doc(results[name]).text == CHINESE for name in good)
    assert all(_error(results[name]).reason for name in bad)
