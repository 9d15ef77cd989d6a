"""Limits on what a compressed report inflates to, checked before it is parsed.

A report is at most 64 MiB on disk, but compressed parts inflate: a 1 MB
.docx whose `word/document.xml` inflates to 1 GiB took one process to 2.1 GB
(python-docx reads every part whole, then lxml builds a tree of it). So the
inflated size is checked first, from what the file declares or by inflating
it into a counter, never into memory:

- `.docx` (a zip): the sizes its central directory declares. Python's
  zipfile never gives more bytes of a member than declared (reading past
  them fails the CRC check), so the declared sizes bound what python-docx
  can read. The parts parsed as XML have a lower limit than all parts
  together: a tree costs ~5 bytes per byte of XML (measured with python-docx
  1.2: 64 MiB of document.xml, 504 MB peak), media only their size.
- `.pdf`: PDFium inflates content streams, fonts, object and cross-reference
  streams while reading the text; images are inflated only when drawn, which
  text extraction never does. Every Flate stream that is not an image is
  inflated here through zlib into a byte count, in bounded pieces, and the
  count stops at the limit: on each stream, and on all of them. ASCII85 or hex armour before the Flate filter is
  taken off first. LZW streams (rare since PDF 1.2) are not counted.

Over a limit the report is refused with a `TooLargeError` naming it.
"""
from __future__ import annotations

import base64
import binascii
import io
import re
import struct
import zipfile
import zlib

from pipeline.ingest.formats.errors import CorruptError, TooLargeError

MiB = 2**20
DOCX_MAX_INFLATED = 128 * MiB  # all parts of a .docx together
DOCX_MAX_XML = 64 * MiB  # its parts parsed as XML (*.xml, *.rels)
DOCX_MAX_MEMBERS = 10_000  # parts of a .docx (a report has tens; each costs memory to list)
PDF_MAX_INFLATED = 256 * MiB  # Flate streams of a PDF that are not images, together (bounds the time)
# One such stream: PDFium's objects for dense page content cost ~16 bytes per
# byte of it (32 MiB of text operators: 555 MB peak); a full embedded CJK font
# is 10-30 MiB.
PDF_MAX_STREAM = 32 * MiB
INFLATE_PIECE = MiB  # zlib output taken at a time while counting

_END_OF_DIRECTORY = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_END = b"PK\x06\x06"
_STREAM = re.compile(rb"(?<!end)stream\r?\n")
_END_STREAM = b"endstream"
_OBJECT_START = re.compile(rb"\d+\s+\d+\s+obj\b")
_DICTIONARY_WINDOW = 4096  # bytes before `stream` searched for the stream's dictionary
_FILTER = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[A-Za-z0-9]+)")
_NAME = re.compile(rb"/([A-Za-z0-9]+)")
_IMAGE = re.compile(rb"/Subtype\s*/Image\b")
_FLATE = frozenset({b"FlateDecode", b"Fl"})
_ARMOUR = {b"ASCII85Decode": "85", b"A85": "85", b"ASCIIHexDecode": "hex", b"AHx": "hex"}


def check_docx(data: bytes) -> None:
    """Refuse a .docx whose parts would inflate past the limits (TooLargeError); CorruptError if not a zip."""
    declared = _declared_members(data)
    if declared is not None and declared > DOCX_MAX_MEMBERS:
        raise _too_many(declared)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise CorruptError(None, f"not a readable .docx ({type(exc).__name__}: {exc})") from None
    if len(members) > DOCX_MAX_MEMBERS:
        raise _too_many(len(members))
    total = sum(member.file_size for member in members)
    xml = sum(member.file_size for member in members if member.filename.lower().endswith((".xml", ".rels")))
    if xml > DOCX_MAX_XML:
        raise TooLargeError(None, f"Word file's XML parts inflate to {_mib(xml)}, over the limit of"
                                  f" {_mib(DOCX_MAX_XML)} on inflated XML (a zip bomb, or split the report)")
    if total > DOCX_MAX_INFLATED:
        raise TooLargeError(None, f"Word file inflates to {_mib(total)}, over the limit of"
                                  f" {_mib(DOCX_MAX_INFLATED)} on inflated size (a zip bomb, or split the report)")


def check_pdf(data: bytes) -> None:
    """Refuse a PDF one of whose Flate streams (images aside) inflates past PDF_MAX_STREAM, or all past
    PDF_MAX_INFLATED."""
    budget = PDF_MAX_INFLATED
    for match in _STREAM.finditer(data):
        armour = _armour(data, match.start())
        if armour is None:
            continue
        if armour:
            end = data.find(_END_STREAM, match.end())
            stream, start = _unarmour(data[match.end():end if end >= 0 else len(data)], armour), 0
        else:
            stream, start = data, match.end()
        size = _inflated_size(stream, start, min(budget, PDF_MAX_STREAM) + 1)
        if size > PDF_MAX_STREAM:
            raise TooLargeError(None, f"a PDF stream inflates to more than {_mib(PDF_MAX_STREAM)}, the limit"
                                      " on one stream's inflated size (a compression bomb?)")
        budget -= size
        if budget < 0:
            raise TooLargeError(None, f"PDF streams inflate to more than {_mib(PDF_MAX_INFLATED)}, the limit"
                                      " on inflated size (a compression bomb, or split the report)")


def _armour(data: bytes, stream_at: int) -> list[str] | None:
    """For a Flate stream that is no image: the ASCII filters before Flate (often none); None for other streams.

    Read from the stream's dictionary, which ends where `stream` starts.
    """
    window = data[max(0, stream_at - _DICTIONARY_WINDOW):stream_at]
    starts = list(_OBJECT_START.finditer(window))
    dictionary = window[starts[-1].end():] if starts else window
    found = _FILTER.search(dictionary)
    if found is None or _IMAGE.search(dictionary) is not None:
        return None
    armour: list[str] = []
    for name in _NAME.findall(found.group(1)):
        if name in _FLATE:
            return armour
        if name not in _ARMOUR:
            return None  # another filter before Flate: not one we count
        armour.append(_ARMOUR[name])
    return None


def _unarmour(raw: bytes, armour: list[str]) -> bytes:
    """Take ASCII85 and hex encodings off, in filter order; what does not decode gives nothing to count."""
    try:
        for kind in armour:
            if kind == "85":
                raw = base64.a85decode(raw.strip().removesuffix(b"~>"), ignorechars=b" \t\n\r\x0b\x0c")
            else:
                text = bytes(c for c in raw.split(b">", 1)[0] if c not in b" \t\n\r\x0c\x00")
                raw = binascii.unhexlify(text + b"0" * (len(text) % 2))
    except (ValueError, binascii.Error):
        return b""
    return raw


def _inflated_size(data: bytes, start: int, limit: int) -> int:
    """Bytes the zlib stream at `start` inflates to, counted up to `limit`; a broken stream counts what it gave."""
    inflater = zlib.decompressobj()
    size, position = 0, start
    pending = b""
    while size < limit:
        if inflater.unconsumed_tail:
            pending = inflater.unconsumed_tail
        elif position < len(data) and not inflater.eof:
            pending = data[position:position + INFLATE_PIECE]
            position += INFLATE_PIECE
        else:
            break
        try:
            size += len(inflater.decompress(pending, INFLATE_PIECE))
        except zlib.error:
            break  # PDFium reads what a damaged stream gives, and so do we
        if inflater.eof:
            break
    return size


def _declared_members(data: bytes) -> int | None:
    """The member count in the zip's end record (zip64's if there is one), before zipfile lists them all."""
    end = data.rfind(_END_OF_DIRECTORY, max(0, len(data) - 22 - 0xFFFF))
    if end < 0 or end + 22 > len(data):
        return None
    count: int = struct.unpack_from("<H", data, end + 10)[0]
    locator = end - 20
    if count == 0xFFFF and locator >= 0 and data.startswith(_ZIP64_LOCATOR, locator):
        offset: int = struct.unpack_from("<Q", data, locator + 8)[0]
        if offset + 56 <= len(data) and data.startswith(_ZIP64_END, offset):
            count = struct.unpack_from("<Q", data, offset + 32)[0]
    return count


def _too_many(count: int) -> TooLargeError:
    return TooLargeError(None, f"Word file has {count:,} parts, over the limit of {DOCX_MAX_MEMBERS:,}"
                               " (a zip bomb?)")


def _mib(size: int) -> str:
    return f"{size / MiB:,.1f} MiB" if size % MiB else f"{size // MiB:,} MiB"
