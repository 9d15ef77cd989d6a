"""Hostile and broken reports, built here byte by byte (the hostile-input suite and the format tests use them).

The compression bombs are made without inflating them: a deflate segment
of 1 MiB that ends in a full flush depends on nothing before it, so the
segment repeated N times is a valid stream of N MiB; only its checksum is
computed over the whole (about half a second per GiB).
"""
from __future__ import annotations

import io
import struct
import zlib

import docx

MiB = 2**20
_PIECE = MiB


def deflate_repeated(piece: bytes, count: int) -> bytes:
    """A raw deflate stream of `piece` repeated `count` times, built from one compressed copy."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = compressor.compress(piece) + compressor.flush(zlib.Z_FULL_FLUSH)
    return segment * count + zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty final block


def _checksum(function: str, head: bytes, piece: bytes, count: int, tail: bytes) -> int:
    update = zlib.crc32 if function == "crc32" else zlib.adler32
    value = update(head, 0 if function == "crc32" else 1)
    for _ in range(count):
        value = update(piece, value)
    return update(tail, value)


def _deflate_parts(head: bytes, piece: bytes, count: int, tail: bytes) -> bytes:
    """Raw deflate of head + piece * count + tail."""
    first = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = first.compress(head) + first.flush(zlib.Z_FULL_FLUSH)
    middle = deflate_repeated(piece, count)[:-2] if count else b""  # without its empty final block
    last = zlib.compressobj(9, zlib.DEFLATED, -15)
    return start + middle + last.compress(tail) + last.flush()


def zip_file(members: dict[str, bytes], bomb: tuple[str, bytes, bytes, bytes, int] | None = None) -> bytes:
    """A zip of `members` (deflated), plus `bomb` = (name, head, piece, tail, count): head + piece * count + tail."""
    entries: list[tuple[str, bytes, int, int]] = []  # name, deflated data, crc, size
    for name, data in members.items():
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        entries.append((name, compressor.compress(data) + compressor.flush(), zlib.crc32(data), len(data)))
    if bomb is not None:
        name, head, piece, tail, count = bomb
        entries.append((name, _deflate_parts(head, piece, count, tail), _checksum("crc32", head, piece, count, tail),
                        len(head) + len(piece) * count + len(tail)))
    out = io.BytesIO()
    central = io.BytesIO()
    for name, data, crc, size in entries:
        encoded = name.encode()
        offset = out.tell()
        out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(data), size,
                              len(encoded), 0) + encoded + data)
        central.write(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(data),
                                  size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    directory = central.getvalue()
    start = out.tell()
    out.write(directory)
    out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), start, 0))
    return out.getvalue()


def _template_parts() -> dict[str, bytes]:
    """The parts of python-docx's default document."""
    import zipfile

    buffer = io.BytesIO()
    docx.Document().save(buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def docx_bomb(inflated: int) -> bytes:
    """A valid .docx (about inflated / 1000 bytes) whose word/document.xml is one paragraph of `inflated` bytes."""
    parts = _template_parts()
    xml = parts.pop("word/document.xml")
    start, body_end = xml.index(b"<w:body>") + len(b"<w:body>"), xml.index(b"</w:body>")
    head = xml[:start] + b"<w:p><w:r><w:t>"
    tail = b"</w:t></w:r></w:p>" + xml[body_end:]
    return zip_file(parts, ("word/document.xml", head, b"x" * _PIECE, tail, max(1, inflated // _PIECE)))


def docx_with_parts(count: int) -> bytes:
    """A .docx with `count` extra empty parts besides the template's."""
    parts = _template_parts()
    parts.update({f"customXml/item{i}.bin": b"" for i in range(count)})
    return zip_file(parts)


def pdf_file(content: bytes, filters: str = "/FlateDecode") -> bytes:
    """A one-page PDF whose page content stream is `content`, already encoded for `filters`."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} /Filter {filters} >>\nstream\n".encode() + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    out.write(b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets))
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def pdf_bomb(inflated: int, piece: bytes = b" " * _PIECE) -> bytes:
    """A one-page PDF whose content stream inflates to about `inflated` bytes of `piece`s."""
    count = max(1, inflated // len(piece))
    head, tail = b"BT /F1 12 Tf 72 720 Td (bomb) Tj ET\n", b"\n"
    raw = _deflate_parts(head, piece, count, tail)
    stream = b"\x78\xda" + raw + struct.pack(">I", _checksum("adler32", head, piece, count, tail))
    return pdf_file(stream)


def pdf_text(text: str) -> bytes:
    """A one-page PDF with one line of Latin text (Helvetica, Flate-compressed)."""
    return pdf_file(zlib.compress(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET\n".encode()))
