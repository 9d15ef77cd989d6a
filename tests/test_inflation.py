"""Compressed reports are checked against limits on what they inflate to, before parsing (formats.inflation)."""
from __future__ import annotations

import base64
import io
import zlib
from pathlib import Path

import docx
import pytest
from docx.text.paragraph import Paragraph
from hostile_inputs import MiB, deflate_repeated, docx_bomb, docx_with_parts, pdf_bomb, pdf_file, pdf_text, zip_file

from pipeline.ingest.formats import TooLargeError, inflation, to_text
from pipeline.ingest.formats.inflation import check_pdf


def _stream_object(number: int, dictionary: bytes, data: bytes) -> bytes:
    return f"{number} 0 obj\n".encode() + dictionary + b"\nstream\n" + data + b"\nendstream\nendobj\n"


def _zlib_of_spaces(mib: int) -> bytes:
    """A zlib stream of `mib` MiB of spaces (its checksum is not checked by the counter)."""
    return b"\x78\xda" + deflate_repeated(b" " * MiB, mib) + b"\0\0\0\0"


def test_a_docx_bomb_is_refused_before_parsing_naming_the_limit() -> None:
    data = docx_bomb(2**30)
    assert len(data) < 2 * MiB  # a 1 MB file that inflates to 1 GiB
    with pytest.raises(TooLargeError) as caught:
        to_text(Path("bomb.docx"), data)
    assert "XML parts inflate to 1,024.8 MiB, over the limit of 64 MiB on inflated XML" in caught.value.reason
    assert "bomb.docx" in str(caught.value)


def test_a_docx_whose_parts_together_inflate_too_far_is_refused() -> None:
    media = ("word/media/image1.png", b"", b"\0" * MiB, b"", 200)  # 200 MiB of "image", small XML
    data = zip_file({}, media)
    with pytest.raises(TooLargeError, match="inflates to 200 MiB, over the limit of 128 MiB on inflated size"):
        to_text(Path("media.docx"), data)


def test_a_docx_of_too_many_parts_is_refused_from_its_end_record(monkeypatch: pytest.MonkeyPatch) -> None:
    data = docx_with_parts(100)
    monkeypatch.setattr(inflation, "DOCX_MAX_MEMBERS", 100)
    listed: list[object] = []
    monkeypatch.setattr(inflation.zipfile, "ZipFile", lambda *args: listed.append(args))  # never reached
    with pytest.raises(TooLargeError, match="has 117 parts, over the limit of 100"):
        to_text(Path("parts.docx"), data)
    assert listed == []


def test_a_docx_within_the_limits_is_read() -> None:
    document = docx.Document()
    document.add_paragraph("2023年，全市新增注册商标3.98万件。")
    buffer = io.BytesIO()
    document.save(buffer)
    assert to_text(Path("ok.docx"), buffer.getvalue()) == "2023年，全市新增注册商标3.98万件。\n"


def test_docx_styles_are_read_once_not_per_paragraph(monkeypatch: pytest.MonkeyPatch) -> None:
    """Paragraph.style searched every style for each paragraph: 17 s for 4,000 paragraphs."""
    document = docx.Document()
    document.add_heading("知识产权", level=2)
    document.add_paragraph("正文12件。")

    def refuse(self: Paragraph) -> None:
        raise AssertionError("Paragraph.style looked up")

    buffer = io.BytesIO()
    document.save(buffer)
    monkeypatch.setattr(Paragraph, "style", property(refuse))
    assert to_text(Path("styled.docx"), buffer.getvalue()) == "## 知识产权\n\n正文12件。\n"


def test_a_pdf_stream_bomb_is_refused_before_pdfium_reads_it() -> None:
    data = pdf_bomb(2**30)
    assert len(data) < 2 * MiB
    with pytest.raises(TooLargeError, match="a PDF stream inflates to more than 32 MiB"):
        to_text(Path("bomb.pdf"), data)


def test_pdf_streams_are_limited_together() -> None:
    data = b"%PDF-1.4\n" + b"".join(
        _stream_object(n, b"<< /Filter /FlateDecode >>", _zlib_of_spaces(30)) for n in range(1, 10))
    with pytest.raises(TooLargeError, match="PDF streams inflate to more than 256 MiB"):
        check_pdf(data)
    check_pdf(b"%PDF-1.4\n" + _stream_object(1, b"<< /Filter /FlateDecode >>", _zlib_of_spaces(30)))


def test_armoured_pdf_streams_are_counted_and_images_are_not() -> None:
    bomb = _zlib_of_spaces(40)
    with pytest.raises(TooLargeError):
        check_pdf(_stream_object(1, b"<< /Filter [/ASCII85Decode /FlateDecode] >>", base64.a85encode(bomb) + b"~>"))
    with pytest.raises(TooLargeError):
        check_pdf(_stream_object(1, b"<< /Filter [/AHx /Fl] >>", bomb.hex().encode() + b">"))
    check_pdf(_stream_object(1, b"<< /Type /XObject /Subtype /Image /Filter /FlateDecode >>", bomb))  # never drawn
    check_pdf(_stream_object(1, b"<< /Filter /DCTDecode >>", bomb))


def test_a_pdf_within_the_limits_is_read() -> None:
    assert to_text(Path("ok.pdf"), pdf_text("patents 12 items")) == "patents 12 items\n"
    assert to_text(Path("plain.pdf"), pdf_file(zlib.compress(b"BT /F1 12 Tf 72 720 Td (ok 3) Tj ET"))) == "ok 3\n"
