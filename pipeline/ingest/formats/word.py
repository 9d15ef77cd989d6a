"""Text of a Word .docx report through python-docx, body paragraphs and tables in order.

python-docx is the maintained reader of the OOXML package: it resolves
styles (so `Heading 2` becomes a `##` line) and merged table cells (a cell
merged down repeats in each row it covers, as the pipeline's table reader
needs its row labels). Page headers, footers and text boxes are page chrome
and are left out.
"""
from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator

import docx
from docx.document import Document as DocxDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from pipeline.ingest.formats.errors import CorruptError, EncryptedError
from pipeline.ingest.formats.inflation import check_docx

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")  # how Office stores an encrypted .docx
_HEADING_STYLE = re.compile(r"(?:heading|标题)\s*([1-6])", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\n\r\xa0]+")


def docx_text(data: bytes) -> str:
    """Paragraphs (blank line between), headings as `#` lines, table rows as tab lines."""
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTION_STREAM in data:
            raise EncryptedError(None, "encrypted Word file (needs a password to open)")
        raise CorruptError(None, "legacy Word .doc (OLE) file, not .docx: save it as .docx")
    check_docx(data)  # before python-docx inflates every part into memory
    try:
        document = docx.Document(io.BytesIO(data))
        return "\n\n".join(_blocks(document.iter_inner_content(), _StyleNames(document)))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise CorruptError(None, f"not a readable .docx ({type(exc).__name__}: {exc})") from None


class _StyleNames:
    """Paragraph style names by style id, read once.

    `Paragraph.style` looks the default style up with an XPath over every
    style, for each paragraph without one: ~2 ms each, 17 s for 4,000
    paragraphs (and minutes for a long report).
    """

    def __init__(self, document: DocxDocument) -> None:
        paragraph_styles = [style for style in document.styles if style.type == WD_STYLE_TYPE.PARAGRAPH]
        self.names = {style.style_id: style.name or "" for style in paragraph_styles}
        default = document.styles.default(WD_STYLE_TYPE.PARAGRAPH)
        self.default = default.name or "" if default is not None else ""

    def of(self, paragraph: Paragraph) -> str:
        """What `paragraph.style.name` says: its style's name, the default one's if it names none or a wrong one."""
        style_id = paragraph._p.style
        return self.names.get(style_id, self.default) if style_id is not None else self.default


def _blocks(items: Iterator[Paragraph | Table], styles: _StyleNames) -> Iterator[str]:
    for item in items:
        block = _paragraph(item, styles) if isinstance(item, Paragraph) else _table(item)
        if block:
            yield block


def _paragraph(paragraph: Paragraph, styles: _StyleNames) -> str:
    text = paragraph.text.strip(" \t\n\r\xa0")
    if not text:
        return ""
    style = styles.of(paragraph)
    if style == "Title":
        return "# " + _one_line(text)
    match = _HEADING_STYLE.match(style or "")
    return "#" * int(match.group(1)) + " " + _one_line(text) if match else text


def _table(table: Table) -> str:
    """One line per row; a cell spanning the whole row is a caption line, not a row."""
    lines: list[str] = []
    for row in table.rows:
        cells = row.cells
        texts = [_cell_text(cell) for cell in cells]
        if len(cells) > 1 and all(cell._tc is cells[0]._tc for cell in cells):
            lines.append(texts[0])  # merged across the row: a caption or section label
        elif any(texts):
            lines.append("\t".join(texts))
    return "\n".join(line for line in lines if line)


def _cell_text(cell: _Cell) -> str:
    """A cell's paragraphs and nested tables on one line (tabs would split the row)."""
    parts: list[str] = []
    for item in cell.iter_inner_content():
        if isinstance(item, Paragraph):
            parts.append(item.text)
        else:
            parts.extend(_cell_text(inner) for row in item.rows for inner in row.cells)
    return _one_line(" ".join(parts))


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()
