"""Text of an HTML report through lxml's HTML parser, page chrome dropped.

lxml (libxml2) is a real, error-tolerant parser: broken markup from old
government sites still gives a tree, and it is fast. The walk keeps what a
reader of the page reads: headings as `#` lines, paragraphs and list items
as blocks, table rows as tab lines (merged cells repeated so columns stay
aligned), and drops scripts, styles, navigation and hidden elements.
Whitespace follows HTML rendering: runs collapse to one space, and a line
break in the source between two CJK characters disappears (as CSS Text
says), so `增长\\n31.7%` reads `增长 31.7%` and `全市\\n新增` reads `全市新增`.
"""
from __future__ import annotations

import codecs
import contextlib
import re

import lxml.html
from lxml import etree

from pipeline.ingest.formats.errors import CorruptError

SNIFF_BYTES = 4096
SKIP = frozenset({
    "script", "style", "noscript", "template", "nav", "iframe", "frame", "frameset", "svg", "math", "canvas",
    "object", "embed", "button", "select", "option", "input", "textarea", "head",
})
BLOCKS = frozenset({
    "p", "div", "section", "article", "main", "header", "footer", "aside", "blockquote", "address", "figure",
    "figcaption", "ul", "ol", "li", "dl", "dt", "dd", "pre", "center", "form", "fieldset", "hr", "body", "html",
})
HEADINGS = {f"h{level}": level for level in range(1, 7)}
_BREAK = "\x0b"  # stands for <br> while whitespace collapses
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_CJK = r"\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"
_CJK_BREAK = re.compile(rf"(?<=[{_CJK}])[ \t\r\f]*\n[ \t\r\n\f]*(?=[{_CJK}])")
_SPACE_RUN = re.compile(r"[ \t\r\n\f]+")
_AROUND_BREAK = re.compile(rf" ?{_BREAK} ?")
_GB = frozenset({"gb2312", "gbk", "gb_2312-80", "x-gbk", "cp936", "euc-cn", "hz-gb-2312"})


def html_text(data: bytes) -> str:
    """Blocks of the page's body separated by blank lines; the <title> heads it if no <h1> does."""
    text = _XML_DECLARATION.sub("", decode_html(data), count=1)
    try:
        root = lxml.html.document_fromstring(text, parser=lxml.html.HTMLParser(remove_comments=True))
    except (etree.ParserError, ValueError) as exc:
        raise CorruptError(None, f"not parseable as HTML ({exc})") from None
    walker = _Walker()
    body = root.find("body")
    walker.walk(body if body is not None else root)
    blocks = walker.blocks
    title = _collapse(root.findtext(".//title") or "")
    if title and not (blocks and blocks[0].startswith("# ")) and root.find(".//h1") is None:
        blocks.insert(0, "# " + title)
    return "\n\n".join(blocks)


def decode_html(data: bytes) -> str:
    """Decode by BOM, then the declared charset, then UTF-8, then GB18030 (GBK's superset)."""
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data[3:], "utf-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16")
    if b"\x00" in data:
        raise CorruptError(None, "binary data (contains NUL bytes), not HTML")
    declared = _META_CHARSET.search(data[:SNIFF_BYTES])
    candidates = ["utf-8", "gb18030"]
    if declared:
        name = declared.group(1).decode("ascii").lower()
        name = "gb18030" if name in _GB else name
        with contextlib.suppress(LookupError):  # an unknown charset label: guess like a browser would
            candidates.insert(0, codecs.lookup(name).name)
    for encoding in dict.fromkeys(candidates):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CorruptError(None, "undecodable bytes (neither the declared charset, UTF-8 nor GB18030)")


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise CorruptError(None, f"invalid {encoding} at byte offset {exc.start}") from None


def _collapse(text: str) -> str:
    """HTML whitespace rules on one run of inline text; <br> markers become newlines."""
    text = _CJK_BREAK.sub("", text)
    text = _SPACE_RUN.sub(" ", text)
    text = _AROUND_BREAK.sub(_BREAK, text).strip(" ")
    return "\n".join(line.strip() for line in text.split(_BREAK)).strip("\n")


def _skipped(element: etree._Element) -> bool:
    if not isinstance(element.tag, str) or element.tag.lower() in SKIP:
        return True
    attrs = element.attrib
    return (
        "hidden" in attrs
        or attrs.get("aria-hidden") == "true"
        or attrs.get("role") == "navigation"
        or bool(_HIDDEN_STYLE.search(attrs.get("style", "")))
    )


class _Walker:
    """Collects blocks in document order; inline text accumulates until a block ends."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self._inline: list[str] = []

    def walk(self, element: etree._Element) -> None:
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if tag in HEADINGS:
            self._flush()
            self._inline_of(element)
            heading = " ".join(self._take().split("\n"))
            if heading:
                self.blocks.append("#" * HEADINGS[tag] + " " + heading)
        elif tag == "table":
            self._flush()
            table = table_text(element)
            if table:
                self.blocks.append(table)
        elif tag == "pre":
            self._flush()
            pre = "".join(str(part) for part in element.itertext()).strip("\n")
            if pre.strip():
                self.blocks.append(pre)
        elif tag in BLOCKS:
            self._flush()
            self._children(element)
            self._flush()
        else:
            self._children(element)

    def _children(self, element: etree._Element) -> None:
        self._inline.append(element.text or "")
        for child in element:
            if not _skipped(child):
                if isinstance(child.tag, str) and child.tag.lower() == "br":
                    self._inline.append(_BREAK)
                else:
                    self.walk(child)
            self._inline.append(child.tail or "")

    def _inline_of(self, element: etree._Element) -> None:
        """A heading's text: its inline content, blocks inside it flattened."""
        inner = _Walker()
        inner._children(element)
        inner._flush()
        self._inline.append(" ".join(inner.blocks))

    def _take(self) -> str:
        text = _collapse("".join(self._inline))
        self._inline = []
        return text

    def _flush(self) -> None:
        text = self._take()
        if text:
            self.blocks.append(text)


def table_text(table: etree._Element) -> str:
    """Rows as tab lines; colspan repeats a cell, rowspan carries it down, a full-width cell is a caption."""
    rows = [row for row in table.iter("tr") if _owner(row) is table]
    grid: list[list[str]] = []
    carried: dict[int, tuple[str, int]] = {}  # column -> (text, rows still to cover)
    for row in rows:
        cells: list[str] = []
        for cell in row:
            if not isinstance(cell.tag, str) or cell.tag.lower() not in ("td", "th") or _skipped(cell):
                continue
            while len(cells) in carried:
                cells.append(_carry(carried, len(cells)))
            text = cell_text(cell)
            span, down = _span(cell, "colspan"), _span(cell, "rowspan")
            for _ in range(span):
                if down > 1:
                    carried[len(cells)] = (text, down - 1)
                cells.append(text)
        while len(cells) in carried:
            cells.append(_carry(carried, len(cells)))
        grid.append(cells)
    width = max((len(cells) for cells in grid), default=0)
    lines: list[str] = []
    caption = table.find("caption")
    if caption is not None and cell_text(caption):
        lines.append(cell_text(caption))
    for cells in grid:
        if not any(cells):
            continue
        if width > 1 and len(set(cells)) == 1 and len(cells) == width:
            lines.append(cells[0])  # one cell across the table: a caption or section label
        else:
            lines.append("\t".join(cells))
    return "\n".join(lines)


def cell_text(cell: etree._Element) -> str:
    """A cell's visible text on one line (nested tables and blocks flattened)."""
    walker = _Walker()
    walker._children(cell)
    walker._flush()
    return " ".join(" ".join(walker.blocks).split())


def _owner(row: etree._Element) -> etree._Element | None:
    """The nearest enclosing table, so rows of nested tables are left to their cell."""
    parent = row.getparent()
    while parent is not None and not (isinstance(parent.tag, str) and parent.tag.lower() == "table"):
        parent = parent.getparent()
    return parent


def _span(cell: etree._Element, name: str) -> int:
    try:
        return max(1, min(int(cell.get(name, "1")), 1000))
    except ValueError:
        return 1


def _carry(carried: dict[int, tuple[str, int]], column: int) -> str:
    text, left = carried.pop(column)
    if left > 1:
        carried[column] = (text, left - 1)
    return text
