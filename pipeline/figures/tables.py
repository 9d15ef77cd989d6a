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

import regex

from pipeline.figures.finder import FigureFinder
from pipeline.records import Dimension, FactType, Figure, Qualifier
from pipeline.rules.word_rules import Tables
from pipeline.text.normalise import is_table_line

_CELL_NUMBER = regex.compile(r"[-−]?\d+(?:,\d{3})*(?:\.\d+)?%?")
_BRACKET = regex.compile(r"[（(]\s*([^（()）]{1,12}?)\s*[）)]\s*$")
_YEAR = regex.compile(r"((?:1[89]|20)\d{2})\s*年?")
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
        self._row_number = frozenset(tables.words["row_number"])
        self._per = (tables.words["per_prefix"] or ("",))[0]

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

    def find(self, text: str) -> list[TableFigure]:
        """Figures of every table in `text` (offsets into `text`)."""
        out: list[TableFigure] = []
        for rows in _blocks(text):
            first_data = next((i for i, r in enumerate(rows) if _is_data_row(r)), None)
            if not first_data:
                continue  # no header rows, or no data: a layout artefact, not a table
            width = max(len(r) for r in rows)
            headers = [" ".join(r[i].text for r in rows[:first_data] if i < len(r) and r[i].text)
                       for i in range(width)]
            skip = {i for i, h in enumerate(headers) if h.strip() in self._row_number}
            label_col = next((i for i in range(width) if i not in skip and not _is_number(rows[first_data][i])), 0)
            span = (rows[0][0].start, rows[-1][-1].end)
            for row in rows[first_data:]:
                if label_col >= len(row):
                    continue
                label = row[label_col].text
                row_text = " ".join(c.text for c in row)
                for i, cell in enumerate(row):
                    if i in skip or i == label_col or not _is_number(cell):
                        continue
                    fig = self._cell_figure(cell, label, headers[i])
                    if fig is not None:
                        out.append(TableFigure(fig[0], fig[1], fig[2], fig[3], row_text, span, label,
                                               _YEAR.sub("", _BRACKET.sub("", headers[i])).strip() or None))
        return out

    def _cell_figure(self, cell: Cell, label: str, header: str
                     ) -> tuple[Figure, str | None, str | None, FactType] | None:
        text = cell.text.replace(" ", "").replace("−", "-")
        is_rank = any(w in header for w in self._rank)
        unit = self.read_unit(label) or self.read_unit(header)
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
        kind = FactType.RANK if is_rank else FactType.TARGET if any(w in header for w in self._target) \
            else FactType.LEVEL
        fig = Figure(cell.start, cell.end, value, unit.unit, unit.dimension, Qualifier.EXACT, self.cell_rule)
        return fig, metric, year[1] if year else None, kind
