"""Text layer of a PDF through PDFium (pypdfium2), rebuilt into paragraphs and tab rows.

Why PDFium: it is Chrome's PDF engine, so it reads what viewers read (CJK
fonts through ToUnicode maps and the predefined Adobe-GB1 CMaps, damaged
files), gives the text in content order with each visual line ending in a
generated line break, and is compiled (a 72-page Chinese report reads in
0.65 s here; pure-Python readers are many times slower). pdfminer.six was tried: its
layout analysis split table rows into column blocks (`金华市 12345` then,
much later, `12.5`); pypdf put every table cell on a line of its own.

From PDFium's lines, baselines, font sizes and loose character boxes (the
PDF's own metrics, never the outlines of a font found on this machine: `_box`)
this module decides what a text file would have said: a wide gap inside a line separates table cells (a tab),
lines of one paragraph are joined, a paragraph break is a blank line (a
vertical gap, a first-line indent or a short previous line), a line in a
clearly larger font is a `#` heading, and bare page numbers are dropped.
"""
from __future__ import annotations

import ctypes
import re
import statistics
import threading
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from pipeline.ingest.formats.errors import CorruptError, EncryptedError, NoTextError
from pipeline.ingest.formats.inflation import check_pdf

TAB_GAP_EM = 0.8  # a gap this many font sizes wide inside a line separates table cells
WORD_GAP_EM = 1.5  # ... but between two Latin letters (justified English stretches spaces)
PARAGRAPH_GAP_EM = 0.8  # extra vertical space (beyond the line's height) that ends a paragraph
INDENT_EM = 1.2  # a line starting this much right of the one above opens a paragraph
SHORT_LINE_EM = 2.0  # a line ending at least this much left of its column's text edge ends its paragraph
EM_ASCENT, EM_DESCENT = 0.8, 0.2  # of the font size, above and below the baseline: the em box
EDGE_TOLERANCE = 0.01  # points: measures from different characters that are equal on paper
FRAME_WINDOW = 8  # lines either side that tell a line's column margins
HEADING_RATIO = 1.25  # font size over the body's that makes a short line a heading
HEADING_MAX_CHARS = 60
UNMAPPED_MAX_RATIO = 0.3  # above this share of unmappable characters the text layer is garbage

# PDFium is not thread-safe, and ctypes calls release the GIL: one document at a time.
_PDFIUM_LOCK = threading.Lock()
_PAGE_NUMBER = re.compile(
    r"[\s\-—–－·]*(?:第\s*)?\d{1,3}(?:\s*页)?(?:\s*(?:/|共)\s*\d{1,4}\s*页?)?[\s\-—–－·]*"
)
_LATIN_END = re.compile(r"[A-Za-z]$")
_LATIN_START = re.compile(r"^[A-Za-z]")
_WORD_CHARS = re.compile(r"[0-9A-Za-z.,%]")
_SENTENCE_END = frozenset("。！？；：!?;:")
_WHITESPACE = frozenset(" \t\r\n\u3000\xa0")


@dataclass(frozen=True)
class Line:
    """One visual line of a page, with its box in PDF points (y grows upwards)."""

    page: int
    text: str  # cells separated by tabs when the line is a table row
    left: float
    right: float
    top: float
    bottom: float
    size: float  # font size of its first character
    lead: float  # width of its first word (an ASCII run like 102345, else its first character)


def pdf_text(data: bytes) -> str:
    """The text of a PDF's text layer; raises EncryptedError, CorruptError, NoTextError or TooLargeError."""
    check_pdf(data)  # before PDFium inflates its streams
    with _PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
                raise EncryptedError(None, "encrypted PDF (needs a password to open)") from None
            raise CorruptError(None, f"not a readable PDF ({exc})") from None
        try:
            pages = len(pdf)
            lines = [line for index in range(pages) for line in _page_lines(pdf, index)]
        finally:
            pdf.close()
    if not lines:
        raise NoTextError(
            None, f"PDF has no text layer ({pages} page{'s' * (pages != 1)}, scanned images?): OCR it first"
        )
    unmapped = sum(_unmapped(ch) for line in lines for ch in line.text)
    if unmapped > UNMAPPED_MAX_RATIO * sum(len(line.text) for line in lines):
        raise NoTextError(None, "PDF text layer has no usable character map (fonts without ToUnicode)")
    return assemble(lines)


def _unmapped(ch: str) -> bool:
    """Characters a font without a Unicode map decodes to: private use, replacement, controls."""
    code = ord(ch)
    return 0xE000 <= code <= 0xF8FF or code == 0xFFFD or (code < 0x20 and ch != "\t")


def _page_lines(pdf: pdfium.PdfDocument, index: int) -> list[Line]:
    """The page's non-blank lines in content order, page-number lines dropped."""
    page = pdf[index]
    textpage = page.get_textpage()
    try:
        raw = textpage.raw
        count = textpage.count_chars()
        chars = _characters([pdfium_c.FPDFText_GetUnicode(raw, i) for i in range(count)])
        lines: list[Line] = []
        start = 0
        for i in range(count + 1):
            if i == count or chars[i] == "\n":
                line = _line(textpage, chars, start, i, index)
                if line is not None:
                    lines.append(line)
                start = i + 1
    finally:
        textpage.close()
        page.close()
    while lines and _PAGE_NUMBER.fullmatch(lines[-1].text):
        lines.pop()
    while lines and _PAGE_NUMBER.fullmatch(lines[0].text):
        lines.pop(0)
    return lines


def _characters(codes: list[int]) -> list[str]:
    """One string per PDFium character (indices must stay aligned with its boxes).

    A character beyond the BMP may come as a UTF-16 surrogate pair: the pair is
    joined into the first slot and the second left empty; a lone surrogate or
    a missing code becomes U+FFFD, so the text always encodes as UTF-8.
    """
    chars = ["\ufffd" if code == 0 or 0xD800 <= code <= 0xDFFF else chr(code) for code in codes]
    for i in range(len(codes) - 1):
        if 0xD800 <= codes[i] <= 0xDBFF and 0xDC00 <= codes[i + 1] <= 0xDFFF:
            chars[i] = chr(0x10000 + ((codes[i] - 0xD800) << 10) + (codes[i + 1] - 0xDC00))
            chars[i + 1] = ""
    return chars


def _line(textpage: pdfium.PdfTextPage, chars: list[str], start: int, end: int, page: int) -> Line | None:
    """Build one line from chars[start:end]; runs of spaces across a wide gap become a tab.

    Every measure comes from the PDF itself, never from a font of this
    machine: horizontal extents from loose boxes (the glyph's origin and
    advance width, which the PDF's width tables give), the vertical extent
    from the first character's baseline and font size (`_em_box`).
    """
    while start < end and chars[start] in _WHITESPACE:
        start += 1
    while end > start and chars[end - 1] in _WHITESPACE:
        end -= 1
    if start == end:
        return None
    size = pdfium_c.FPDFText_GetFontSize(textpage.raw, start) or 10.0
    out: list[str] = []
    i = start
    while i < end:
        if chars[i] not in _WHITESPACE:
            out.append(chars[i])
            i += 1
            continue
        j = i
        while chars[j] in _WHITESPACE:
            j += 1  # the line ends on a non-space, so this stops inside it
        gap = _box(textpage, j)[0] - _box(textpage, i - 1)[2]
        words = chars[i - 1].isascii() and chars[i - 1].isalpha() and chars[j].isascii() and chars[j].isalpha()
        out.append("\t" if gap > (WORD_GAP_EM if words else TAB_GAP_EM) * size else " ")
        i = j
    first, last = _box(textpage, start), _box(textpage, end - 1)
    word = start
    while word + 1 < end and _WORD_CHARS.match(chars[word]) and _WORD_CHARS.match(chars[word + 1]):
        word += 1
    top, bottom = _em_box(textpage, start, size)
    return Line(
        page=page,
        text="".join(out),
        left=first[0],
        right=last[2],
        top=top,
        bottom=bottom,
        size=size,
        lead=_box(textpage, word)[2] - first[0],
    )


def _box(textpage: pdfium.PdfTextPage, index: int) -> tuple[float, float, float, float]:
    """A character's loose box (left, bottom, right, top): origin to origin plus advance width.

    The tight box is the outline of whatever font PDFium found on this
    machine for a font the PDF does not embed (`一` was 1.3 points high on
    one machine, 0.01 on another), so nothing here is measured from it.
    """
    left, bottom, right, top = textpage.get_charbox(index, loose=True)
    return left, bottom, right, top


def _em_box(textpage: pdfium.PdfTextPage, index: int, size: float) -> tuple[float, float]:
    """(top, bottom) of a character's em box: from its baseline, EM_ASCENT and EM_DESCENT of its font size."""
    x, y = ctypes.c_double(), ctypes.c_double()
    if not pdfium_c.FPDFText_GetCharOrigin(textpage.raw, index, x, y):
        _, bottom, _, top = _box(textpage, index)
        return top, bottom
    return y.value + EM_ASCENT * size, y.value - EM_DESCENT * size


def assemble(lines: list[Line]) -> str:
    """Join lines into paragraphs (blank line between), headings and tab rows standing alone."""
    if not lines:
        return ""
    body = statistics.median([line.size for line in lines if not _is_row(line)] or [lines[0].size])
    frames = [_frame(lines, i) for i in range(len(lines))]
    blocks: list[str] = []
    current: list[str] = []
    for i, line in enumerate(lines):
        heading = _is_heading(line, body)
        if current and _continues(lines[i - 1], line, heading, body, frames[i - 1], frames[i]):
            current.append(_joiner(current[-1], line.text) + line.text)
        else:
            if current:
                blocks.append("".join(current))
            current = [("# " if heading else "") + line.text]
    if current:
        blocks.append("".join(current))
    return _join_blocks(blocks)


def _join_blocks(blocks: list[str]) -> str:
    """Blank lines between blocks, but consecutive table rows stay one table."""
    out: list[str] = []
    for block in blocks:
        if out:
            out.append("\n" if "\t" in block and "\t" in out[-1] else "\n\n")
        out.append(block)
    return "".join(out)


def _is_row(line: Line) -> bool:
    return "\t" in line.text


def _is_heading(line: Line, body: float) -> bool:
    return line.size >= HEADING_RATIO * body and len(line.text) <= HEADING_MAX_CHARS and not _is_row(line)


def _frame(lines: list[Line], index: int) -> tuple[float, float]:
    """(left margin, right edge) of the text column a line stands in.

    Taken from the body lines near it on its page that overlap it
    horizontally, so the lines of another column (which never overlap) do
    not count: the leftmost start is the margin, the furthest end the edge.
    """
    line = lines[index]
    near = [
        other
        for other in lines[max(0, index - FRAME_WINDOW) : index + FRAME_WINDOW + 1]
        if other.page == line.page and not _is_row(other) and other.left < line.right and other.right > line.left
    ] or [line]
    return min(other.left for other in near), max(other.right for other in near)


def _continues(
    previous: Line,
    line: Line,
    heading: bool,
    body: float,
    previous_frame: tuple[float, float],
    frame: tuple[float, float],
) -> bool:
    """Whether `line` goes on the paragraph `previous` belongs to."""
    if _is_row(previous) or _is_row(line):
        return False
    gap = previous.bottom - line.top  # space between the lines' font boxes
    if heading or _is_heading(previous, body):
        return heading and _is_heading(previous, body) and line.page == previous.page and (
            abs(line.size - previous.size) < 0.5 and 0 <= gap < PARAGRAPH_GAP_EM * line.size
        )
    em = max(line.size, 1.0)
    if line.text[0] == "\u3000" or _ends_short(previous, line, previous_frame[1], em):
        return False
    if line.left - frame[0] >= INDENT_EM * em:
        return False  # a first-line indent
    below = line.page == previous.page and line.top <= previous.bottom + 0.5 * em
    # Below in the same column: close enough; a new page or column: the full line above runs on.
    return gap < PARAGRAPH_GAP_EM * em if below else True


def _ends_short(previous: Line, line: Line, edge: float, em: float) -> bool:
    """The line above stops well before its column's edge, and not because the next word did not fit."""
    if previous.right > edge - SHORT_LINE_EM * em + EDGE_TOLERANCE:
        return False
    wrapped = previous.right + line.lead > edge and previous.text[-1] not in _SENTENCE_END
    return not wrapped


def _joiner(before: str, after: str) -> str:
    """A space between Latin words split across lines, nothing between CJK characters."""
    return " " if _LATIN_END.search(before) and _LATIN_START.search(after) else ""
