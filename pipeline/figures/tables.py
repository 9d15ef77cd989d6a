"""Tables: tab-separated, pipe and Markdown tables become facts cell by cell.

A table is a run of lines split by tabs or pipes (blank lines may stand
between its rows, as PDF conversion leaves them). Leading rows without
figures are its header; each column's header is the text of those rows
joined (`基期值 2021 年`). Each number cell of a data row is a figure, its
mention the bare cell: the unit comes from the row or column header's
bracket (`有效发明专利数量（件）`, `常住人口（万人）`), the metric is the row
header without it, period and type from the column header. A row-number
column (`序号`) and `-` cells are not figures. The header words (target,
rank and row-number columns) are in rules/tables.yaml.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import regex

from pipeline.figures.finder import FigureFinder
from pipeline.figures.numbers import DIGITS, SMALL_UNITS
from pipeline.records import Dimension, FactType, Figure, Qualifier
from pipeline.rules.patterns import alternation
from pipeline.rules.word_rules import Tables
from pipeline.text.normalise import PINYIN_GLOSS, is_table_line

_CELL_NUMBER = regex.compile(r"[-−]?\d+(?:,\d{3})*(?:\.\d+)?%?")
_CELL_NUMBER_PREFIX = regex.compile(r"\d+(?:,\d{3})*(?:\.\d+)?(?![\d.])")  # a figure's number, as a cell writes it
_BRACKET = regex.compile(r"[（(]\s*([^（()）]{1,12}?)\s*[）)]\s*$")
_YEAR = regex.compile(r"((?:1[89]|20)\d{2})\s*年?")
_CAPTION_YEAR = regex.compile(r"((?:1[89]|20)\d{2})\s*年")
_CAPTION_YEAR_MONTH = regex.compile(r"(?:1[89]|20)\d{2}\s*年(?:\s*\d{1,2}\s*月份?)?(?:度)?")

_SEPARATOR = regex.compile(r"^\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?$")


@dataclass(frozen=True)
class Cell:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class TableFigure:
    """A figure from a table cell, with what its headers say about it."""

    figure: Figure
    metric: str | None
    period: str | None
    type: FactType
    row_text: str
    span: tuple[int, int]  # the whole table, raw offsets
    label: str = ""  # the row header (地区 rows name the region: 杭州市, 全省, 其他)
    column_metric: str | None = None  # the column header without unit or year, for rows that are places
    caption: str | None = None  # what the table's caption says it counts (发明专利授权情况表 -> …授权)


@dataclass(frozen=True)
class HeaderUnit:
    """What a header's bracket says of its cells: 亿元 -> CNY x1e8; 件/万人 -> 件 per 每万人."""

    unit: str
    dimension: Dimension
    multiplier: float
    per: str


def _cells(text: str, start: int, end: int) -> list[Cell] | None:
    """Split one line into cells; None if it is not a table line."""
    line = text[start:end]
    if not is_table_line(line):
        return None
    sep = "\t" if "\t" in line else "|"
    if sep == "|" and _SEPARATOR.match(line.strip()):
        return []
    cells, pos = [], start
    parts = line.split(sep)
    if sep == "|" and line.strip().startswith("|"):
        pos += line.index("|") + 1
        parts = line[line.index("|") + 1:].split(sep)
        if parts and not parts[-1].strip():
            parts = parts[:-1]
    for part in parts:
        lead = len(part) - len(part.lstrip())
        value = part.strip()
        cells.append(Cell(pos + lead, pos + lead + len(value), value))
        pos += len(part) + 1
    return cells


def _blocks(text: str) -> list[list[list[Cell]]]:
    """Runs of table lines, blank lines allowed between rows."""
    blocks: list[list[list[Cell]]] = []
    if "\t" not in text and text.count("|") < 2:
        return blocks  # no line can be a table line (most reports)
    current: list[list[Cell]] = []
    for m in regex.finditer(r"[^\n]*", text):
        if not m[0].strip():
            continue
        cells = _cells(text, m.start(), m.end())
        if cells is None:
            if current:
                blocks.append(current)
            current = []
        elif cells:
            current.append(cells)
    if current:
        blocks.append(current)
    return [b for b in blocks if len(b) >= 2]


_FLAT_CELL_MAX = 16  # a line longer than this is prose or a caption, never a cell of a flat table
_LINES = regex.compile(r"(?m)^.*$")  # every line, blank ones too
_NOT_A_CELL = regex.compile(r"\s|[:：]")  # a caption (单位：件) or a label line, not one cell
_CELL_SEPARATORS = frozenset({"|", "｜"})  # a line holding only a separator between cells
# Pinyin a converter inserted after characters (創(chuàng)新): dropped before a line is split at spaces.
_SPACED_MIN_ROWS = 3
_NUMBERING = "".join(DIGITS) + "".join(SMALL_UNITS)  # numerals a caption is numbered with (表三)
# A line of a space-separated table: short, several tokens, one a number after a space.
_SPACED_CANDIDATE = regex.compile(
    r"(?m)^[^\S\n]*(?=[^\n]{0,80}$)\S+[^\S\n]+[^\n]*?(?<=\s)[-−+]?\d[\d.,%]*(?:[^\S\n]|$)")
_TOKEN = regex.compile(r"\S+")


def _spaced_blocks(text: str) -> list[list[list[Cell]]]:
    """Tables whose columns are separated by spaces (排序 城市 效用值 / 1 广东 59.49): runs of at
    least three lines that split into the same number (3 or more) of cells, numbers among them,
    with the line above as the header when it splits into as many cells."""
    # Where candidate lines start: one scan of the text, not a match per line (the pattern
    # reads nothing beyond its line, so it matches a line within the text as it does alone).
    starts = {m.start() for m in _SPACED_CANDIDATE.finditer(text)}
    if not starts:
        return []  # no line has a number standing between spaces (most reports)
    lines = [(m.start(), m[0]) for m in _LINES.finditer(text)]
    rows: list[list[Cell]] = []  # the cells of candidate lines, [] for every other line
    for start, line in lines:
        candidate = start in starts and line.strip() and "\t" not in line and "|" not in line
        cells = _split_spaced(line, start) if candidate else []
        rows.append(cells if any(_is_number(c) for c in cells) else [])
    blocks: list[list[list[Cell]]] = []
    i = 0
    while i < len(rows):
        cells = rows[i]
        j = i
        while j < len(rows) and rows[j] and len(rows[j]) == len(cells) >= 3:
            j += 1
        if j - i >= _SPACED_MIN_ROWS:
            header = next((_split_spaced(lines[k][1], lines[k][0]) for k in range(i - 1, max(-1, i - 3), -1)
                           if lines[k][1].strip()), [])
            if len(header) == len(cells) and not any(_is_number(c) for c in header):
                blocks.append([header, *rows[i:j]])
            i = j
        else:
            i += 1
    return blocks


def _split_spaced(line: str, base: int) -> list[Cell]:
    """A line's cells, split at runs of spaces, pinyin glosses left out (same offsets)."""
    clean = PINYIN_GLOSS.sub(lambda m: "\0" * len(m[0]), line)  # keep offsets: glosses become NULs
    cells = []
    for m in _TOKEN.finditer(clean):
        text = m[0].replace("\0", "")
        if text:
            cells.append(Cell(base + m.start(), base + m.end(), text))
    return cells


def _flat_blocks(text: str) -> list[list[list[Cell]]]:
    """Tables copied from a web page one cell per line (header cells each on a line, then each
    row's cells), blank lines allowed between cells: rows are rebuilt from the period at which
    row labels (the non-number cells) recur, which must match the count of header cells (a
    row-number column may come without a header)."""
    blocks: list[list[list[Cell]]] = []
    run: list[Cell] = []
    start = 0
    # (only a line short enough to be a cell becomes a Cell: most lines are prose)
    for line in [*text.split("\n"), "x" * (_FLAT_CELL_MAX + 1)]:  # the last line ends the last run
        at, start = start, start + len(line) + 1
        value = line.strip()
        if not value or value in _CELL_SEPARATORS:
            continue
        if len(value) <= _FLAT_CELL_MAX and not is_table_line(value) and not _NOT_A_CELL.search(value):
            run.append(Cell(at + len(line) - len(line.lstrip()), at + len(line.rstrip()), value))
            continue
        if len(run) >= 6:
            block = _flat_table(run)
            if block:
                blocks.append(block)
        run = []
    return blocks


def _flat_table(run: list[Cell]) -> list[list[Cell]] | None:
    """The rows of one run of short lines, or None if it is no regular table."""
    labels = [i for i, c in enumerate(run) if not _is_number(c) and c.text not in ("-", "—")]
    gaps = [b - a for a, b in pairwise(labels)]
    if len(gaps) < 3:
        return None
    period = max(set(gaps), key=lambda g: (gaps.count(g), g))  # (header cells run in 1s)
    if period < 2 or gaps.count(period) < 3:
        return None
    # the data: the longest stretch of labels `period` apart
    best: tuple[int, int] = (0, 0)
    start = 0
    for k in range(1, len(gaps) + 1):
        if k == len(gaps) or gaps[k] != period:
            if k - start > best[1] - best[0]:
                best = (start, k)
            start = k + 1
    first_label, last_label = labels[best[0]], labels[best[1]]
    lead = 0  # numbers before a row's label (a row-number column)
    while lead < period - 1 and first_label - lead - 1 >= 0 and _is_number(run[first_label - lead - 1]) \
            and _is_small_integer(run[first_label - lead - 1]):
        lead += 1
    row_start = first_label - lead
    header = run[:row_start]
    width = period
    if len(header) < width - lead or len(header) < 2:
        return None
    header = header[len(header) - (width - lead):]
    if any(len(c.text) > _FLAT_CELL_MAX for c in header):
        return None
    rows = [[Cell(header[0].start, header[0].start, "") for _ in range(lead)] + header] if lead else [header]
    end = min(len(run), last_label - lead + period)
    for i in range(row_start, end - period + 1, period):
        rows.append(run[i:i + period])
    return rows if len(rows) >= 3 else None


def _is_small_integer(cell: Cell) -> bool:
    return cell.text.isdigit() and int(cell.text) < 1000


def _is_number(cell: Cell) -> bool:
    return bool(_CELL_NUMBER.fullmatch(cell.text.replace(" ", "")))


def _is_data_row(row: list[Cell]) -> bool:
    numbers = [c for c in row if _is_number(c)]
    return bool(numbers) and not all(_YEAR.fullmatch(c.text) for c in numbers) and any(
        c.text and not _is_number(c) and not c.text.startswith("-") for c in row)


class TableReader:
    """Tables read with the units and scales of the figure finder and the header words of tables.yaml."""

    def __init__(self, finder: FigureFinder, tables: Tables) -> None:
        self.finder = finder
        self.cell_rule = tables.cell_rule
        self._target = tuple(tables.words["target_column"])
        self._rank = tuple(tables.words["rank_column"])
        self._change = tuple(tables.words["change_column"])
        self._share = tuple(tables.words["share_column"])
        # A caption's numbering and the words that only say it is a table (附表1.1.1-1, 状况表).
        label = alternation(tables.words["caption_label"]) or "(?!)"
        end = alternation(tables.words["caption_end"]) or "(?!)"
        self._caption_noise = regex.compile(rf"^(?:(?:{label})[\d.\-{_NUMBERING}]*\s*)|(?:{end})$|\s+")
        self._unit_caption = regex.compile(
            rf"(?:{alternation(tables.words['unit_label']) or '(?!)'})\s*[:：]\s*(?P<unit>[^\s，。,;；)）]{{1,6}})")
        self._row_number = frozenset(tables.words["row_number"])
        self._per = (tables.words["per_prefix"] or ("",))[0]
        index = finder.index_rule
        self._index_words = index.after_words if index else ()
        self._index_unit = HeaderUnit(index.unit or "index", index.dimension, 1.0, "") if index else None

    def read_unit(self, header: str) -> HeaderUnit | None:
        """The unit a header's bracket gives its cells, if any."""
        m = _BRACKET.search(header)
        if not m:
            return None
        written, _, per = m[1].partition("/")
        scale = 1.0
        for word in self.finder.scale_words:
            if written.startswith(word) and written[len(word):] in self.finder.units:
                scale, written = self.finder.scales[word], written[len(word):]
                break
        unit = self.finder.units.get(written)
        if unit is None:
            return None
        return HeaderUnit(unit.unit or written, unit.dimension, scale * unit.factor, (self._per + per if per else ""))

    def caption_unit(self, text: str, before: int) -> HeaderUnit | None:
        """The unit a caption line right above a table states (单位:件), if any."""
        line_start = text.rfind("\n", 0, max(0, before - 1))
        above = text[max(0, text.rfind("\n", 0, max(0, line_start)) - 200 if line_start > 0 else 0):before]
        found = list(self._unit_caption.finditer(above))
        return self.read_unit(f"（{found[-1]['unit']}）") if found else None

    @staticmethod
    def caption_year(text: str, before: int) -> str | None:
        """The year a caption in the two lines above a table names (2011年11月份…状况表), if any."""
        start = before
        for _ in range(3):  # the table's own line start, then two lines above it
            start = text.rfind("\n", 0, max(0, start - 1)) + 1 if start > 0 else 0
        found = _CAPTION_YEAR.findall(text, start, before)
        return found[-1] if found else None

    def caption_topic(self, text: str, before: int) -> str | None:
        """What a caption right above a table counts: the line without its numbering, years,
        unit and the word for a table (2030年5月份发明专利授权情况表 -> 发明专利授权)."""
        end = text.rfind("\n", 0, max(0, before))
        if end <= 0:
            return None
        start = text.rfind("\n", 0, end) + 1
        line = text[start:end].strip()
        for _ in range(3):  # skip blank lines between caption and table
            if line:
                break
            end, start = start - 1, text.rfind("\n", 0, max(0, start - 1)) + 1
            line = text[start:end].strip() if end > 0 else ""
        line = self._unit_caption.sub("", line)
        line = self._caption_noise.sub("", _CAPTION_YEAR_MONTH.sub("", line).strip())
        return line if 2 <= len(line) <= 24 else None

    def find(self, text: str, known: dict[str, HeaderUnit] | None = None) -> list[TableFigure]:
        """Figures of every table in `text` (offsets into `text`).

        `known` maps numbers the text writes with a count unit (31135项) to that
        unit: a table whose header and caption give no unit takes it from the
        numbers it shares with the text (`units_written`).
        """
        out: list[TableFigure] = []
        for rows in [*_blocks(text), *_flat_blocks(text), *_spaced_blocks(text)]:
            first_data = next((i for i, r in enumerate(rows) if self._is_data_row(r)), None)
            if not first_data:
                continue  # no header rows, or no data: a layout artefact, not a table
            caption = self.caption_unit(text, rows[0][0].start)
            learnt = next((known[c.text] for r in rows[first_data:] for c in r if c.text in known), None) \
                if known and caption is None else None
            caption_year = self.caption_year(text, rows[0][0].start)
            topic = self.caption_topic(text, rows[0][0].start)
            width = max(len(r) for r in rows)
            headers = [" ".join(r[i].text for r in rows[:first_data] if i < len(r) and r[i].text)
                       for i in range(width)]
            skip = {i for i, h in enumerate(headers) if h.strip() in self._row_number}
            label_col = next((i for i in range(width) if i not in skip and i < len(rows[first_data])
                              and not _is_number(rows[first_data][i])), 0)
            if label_col and not headers[0].strip() and \
                    all(_is_small_integer(r[0]) for r in rows[first_data:] if r):
                skip.add(0)  # a row-number column without a header
            span = (rows[0][0].start, rows[-1][-1].end)
            for row in rows[first_data:]:
                if label_col >= len(row):
                    continue
                label = row[label_col].text
                row_text = " ".join(c.text for c in row)
                for i, cell in enumerate(row):
                    if i in skip or i == label_col or i >= width:
                        continue
                    fig = self._cell_figure(cell, label, headers[i], caption, learnt) if _is_number(cell) \
                        else self._unit_cell(cell, label, headers[i])
                    if fig is not None:
                        out.append(TableFigure(fig[0], fig[1], fig[2] or caption_year, fig[3], row_text, span, label,
                                               _YEAR.sub("", _BRACKET.sub("", headers[i])).strip() or None, topic))
        return out

    @staticmethod
    def units_written(figures: list[Figure], text: str) -> dict[str, HeaderUnit]:
        """The count unit each plain number of 100 or more in `text` is written with
        (达31135项 -> 31135: 项)."""
        known: dict[str, HeaderUnit] = {}
        for fig in figures:
            if fig.dimension != Dimension.COUNT or fig.value < 100:  # (a small number says too little:
                continue  # 5个 and a 5 in a table)
            number = _CELL_NUMBER_PREFIX.match(text, fig.start)
            if number and float(number[0].replace(",", "")) == fig.value:
                known[number[0]] = HeaderUnit(fig.unit, fig.dimension, 1.0, "")
        return known

    def _is_data_row(self, row: list[Cell]) -> bool:
        numbers = [c for c in row if _is_number(c) or self._unit_figure(c) is not None]
        return bool(numbers) and not all(_YEAR.fullmatch(c.text) for c in numbers) and any(
            c.text and not _is_number(c) and self._unit_figure(c) is None and not c.text.startswith("-")
            for c in row)

    def _unit_figure(self, cell: Cell) -> Figure | None:
        """The one figure a cell holds whole, unit and all (2386家, 87.89%), if it is one."""
        if not cell.text or len(cell.text) > 24 or not any(ch.isdigit() for ch in cell.text):
            return None
        found = self.finder.find(cell.text)
        if len(found) == 1 and found[0].start == 0 and found[0].end == len(cell.text):
            return found[0]
        return None

    def _unit_cell(self, cell: Cell, label: str, header: str
                   ) -> tuple[Figure, str | None, str | None, FactType] | None:
        fig = self._unit_figure(cell)
        if fig is None:
            return None
        metric = _BRACKET.sub("", label).strip() or None
        year = _YEAR.search(header)
        placed = Figure(cell.start, cell.end, fig.value, fig.unit, fig.dimension, fig.qualifier, self.cell_rule)
        return placed, metric, year[1] if year else None, self._column_type(header, fig.dimension)

    def _index_column(self, header: str) -> HeaderUnit | None:
        """A column of values of a named index (创新能力效用值, 综合指数) has unit `index`."""
        return self._index_unit if any(w in header for w in self._index_words) else None

    def _column_type(self, header: str, dimension: Dimension) -> FactType:
        """What a column's header says its cells are."""
        if any(w in header for w in self._rank):
            return FactType.RANK
        if any(w in header for w in self._target):
            return FactType.TARGET
        if dimension in (Dimension.PERCENT, Dimension.PERCENTAGE_POINT) and any(w in header for w in self._change):
            return FactType.CHANGE
        if dimension == Dimension.PERCENT and any(w in header for w in self._share):
            return FactType.SHARE
        return FactType.LEVEL

    def _cell_figure(self, cell: Cell, label: str, header: str, caption: HeaderUnit | None = None,
                     learnt: HeaderUnit | None = None) -> tuple[Figure, str | None, str | None, FactType] | None:
        text = cell.text.replace(" ", "").replace("−", "-")
        is_rank = any(w in header for w in self._rank)
        unit = self.read_unit(label) or self.read_unit(header) or caption or self._index_column(header) or learnt
        if text.endswith("%"):
            unit, text = HeaderUnit("%", Dimension.PERCENT, 1.0, ""), text[:-1]
        if is_rank:
            unit = HeaderUnit("rank", Dimension.RANK, 1.0, "")
        if unit is None:
            return None
        value = float(text.replace(",", "")) * unit.multiplier
        metric = _BRACKET.sub("", label).strip() or None
        if unit.per and metric and unit.per not in metric:
            metric = unit.per + metric
        year = _YEAR.search(header)
        kind = self._column_type(header, unit.dimension)
        fig = Figure(cell.start, cell.end, value, unit.unit, unit.dimension, Qualifier.EXACT, self.cell_rule)
        return fig, metric, year[1] if year else None, kind
