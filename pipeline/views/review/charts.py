"""Inline SVG charts for the review page, drawn in Python: no script, no network.

Counts by metric, region and year show what the corpus covers; the small
line charts show the main metrics over the years for the regions reported
most, the picture a table of thousands of rows cannot give.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from html import escape

import pyarrow as pa
import pyarrow.compute as pc

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7")
TOP_BARS = 15
LINE_METRICS = 4  # line charts drawn
LINE_REGIONS = 5  # lines per chart
LABEL_CHARS = 14
YEARS = (1949, 2100)  # periods outside are not years


class Tally:
    """What the charts need, gathered table by table: the facts never have to fit in memory at once.

    Counts by metric, region and year are summed; the levels behind the line
    charts are kept as a value and a small integer key each (12 bytes, not the
    fact's strings), in the order they come, for one median per key at the end.
    """

    def __init__(self) -> None:
        self.rows = 0
        self.counts: dict[str, Counter[str]] = {"metric": Counter(), "region": Counter(), "period": Counter()}
        self._keys: dict[tuple[str, str, str, str], int] = {}  # (metric, unit, region, period) -> key
        self._key_ids: list[pa.Array] = []
        self._values: list[pa.Array] = []

    def add(self, facts: pa.Table) -> None:
        """Count a table of facts (columns metric, region, period, type, unit, value)."""
        self.rows += facts.num_rows
        for column, counter in self.counts.items():
            for row in pc.value_counts(pc.drop_null(facts[column])).to_pylist():
                counter[row["values"]] += row["counts"]
        mask = pc.and_(pc.equal(facts["type"], "level"), pc.is_valid(facts["metric"]))
        mask = pc.and_(mask, pc.and_(pc.is_valid(facts["region"]), pc.is_valid(facts["period"])))
        levels = facts.filter(mask)
        if levels.num_rows == 0:
            return
        names = ("metric", "unit", "region", "period")
        ids = [self._keys.setdefault(key, len(self._keys))
               for key in zip(*(levels[name].to_pylist() for name in names))]
        self._key_ids.append(pa.array(ids, pa.int32()))
        self._values.append(levels["value"].combine_chunks())

    def charts(self) -> list[str]:
        """All charts for the index, each an <svg> element (empty list for no facts)."""
        if self.rows == 0:
            return []
        out = [
            bar_chart("Facts by metric", _top(self.counts["metric"])),
            bar_chart("Facts by region", _top(self.counts["region"])),
            column_chart("Facts by year", _years(self.counts["period"])),
        ]
        out += [line_chart(title, unit, series) for title, unit, series in self._series()]
        return out

    def _medians(self) -> list[tuple[tuple[str, str, str, str], float]]:
        """Each key's median value, keys in order of first appearance."""
        if not self._key_ids:
            return []
        table = pa.table({"key": pa.chunked_array(self._key_ids, pa.int32()),
                          "value": pa.chunked_array(self._values, pa.float64())})
        grouped = table.group_by("key", use_threads=False).aggregate([("value", "approximate_median")])
        keys = list(self._keys)
        return [(keys[row["key"]], row["value_approximate_median"]) for row in grouped.to_pylist()]

    def _series(self) -> list[tuple[str, str, dict[str, list[tuple[int, float]]]]]:
        """(metric, unit, region -> [(year, median value)]) for the metrics with the most points.

        Only levels with a metric, region and year count; a metric's values in its
        most common unit; a repeated figure (several reports) is its median.
        """
        points: dict[tuple[str, str], dict[str, list[tuple[int, float]]]] = {}
        for (metric, unit, region, period), value in self._medians():
            year = _year(period)
            if year is not None:
                regions = points.setdefault((metric, unit), {})
                regions.setdefault(region, []).append((year, value))
        best: dict[str, tuple[str, dict[str, list[tuple[int, float]]]]] = {}
        for (metric, unit), regions in points.items():
            if metric not in best or _weight(regions) > _weight(best[metric][1]):
                best[metric] = (unit, regions)
        ranked = sorted(best.items(), key=lambda item: (-_weight(item[1][1]), item[0]))
        out: list[tuple[str, str, dict[str, list[tuple[int, float]]]]] = []
        for metric, (unit, regions) in ranked:
            if _weight(regions) == 0 or len(out) == LINE_METRICS:
                continue
            kept = sorted(regions.items(), key=lambda item: (-len(item[1]), item[0]))[:LINE_REGIONS]
            out.append((metric, unit, {region: sorted(values) for region, values in kept if len(values) > 1}))
        return out


def charts(facts: pa.Table) -> list[str]:
    """All charts for one table of facts (see Tally for facts read piece by piece)."""
    tally = Tally()
    tally.add(facts)
    return tally.charts()


def _top(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_BARS]


def _years(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted((period, n) for period, n in counts.items() if _year(period) is not None)


def _year(period: str | None) -> int | None:
    if period is None or not period.isdigit() or len(period) != 4:
        return None
    year = int(period)
    return year if YEARS[0] <= year <= YEARS[1] else None


def _weight(regions: dict[str, list[tuple[int, float]]]) -> int:
    """Points on lines: only regions with two years or more draw a line."""
    return sum(len(values) for values in regions.values() if len(values) > 1)


def _label(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _svg(title: str, width: int, height: int, body: list[str]) -> str:
    return (
        f'<figure class="chart"><figcaption>{escape(title)}</figcaption>'
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}">{"".join(body)}</svg></figure>'
    )


def bar_chart(title: str, items: Sequence[tuple[str, int]]) -> str:
    """Horizontal bars, largest first; the full label is the bar's tooltip."""
    label_width, bar_width, row = 170, 260, 20
    top = max((count for _, count in items), default=1)
    body: list[str] = []
    for i, (label, count) in enumerate(items):
        y = i * row
        width = max(1.0, bar_width * count / top)
        body.append(
            f'<g><title>{escape(label)}: {count}</title>'
            f'<text x="{label_width - 6}" y="{y + 14}" text-anchor="end">{escape(_label(label))}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{width:.1f}" height="{row - 6}" fill="{PALETTE[0]}"/>'
            f'<text x="{label_width + width + 4:.1f}" y="{y + 14}" class="n">{count}</text></g>'
        )
    return _svg(title, label_width + bar_width + 50, max(row, row * len(items)), body)


def column_chart(title: str, items: Sequence[tuple[str, int]]) -> str:
    """Vertical bars in label order (years left to right)."""
    height, column, base = 180, max(14, min(40, 440 // max(1, len(items)))), 150
    top = max((count for _, count in items), default=1)
    body: list[str] = []
    for i, (label, count) in enumerate(items):
        x = 30 + i * column
        h = max(1.0, (base - 20) * count / top)
        shown = label[-2:] if len(items) > 12 else label  # '23 when years crowd
        body.append(
            f'<g><title>{escape(label)}: {count}</title>'
            f'<rect x="{x + 2}" y="{base - h:.1f}" width="{column - 4}" height="{h:.1f}" fill="{PALETTE[1]}"/>'
            f'<text x="{x + column / 2}" y="{base - h - 4:.1f}" text-anchor="middle" class="n">{count}</text>'
            f'<text x="{x + column / 2}" y="{base + 16}" text-anchor="middle">{escape(shown)}</text></g>'
        )
    return _svg(title, 60 + column * len(items), height, body)


def line_chart(metric: str, unit: str, series: dict[str, list[tuple[int, float]]]) -> str:
    """One metric over the years, a line per region, with a legend."""
    width, height, left, right, top, bottom = 460, 240, 64, 28, 12, 60
    years = sorted({year for values in series.values() for year, _ in values})
    values = [value for points in series.values() for _, value in points]
    low, high = _range(values)
    span_x = max(1, years[-1] - years[0]) if years else 1

    def x(year: int) -> float:
        return left + (width - left - right) * ((year - years[0]) / span_x if len(years) > 1 else 0.5)

    def y(value: float) -> float:
        return top + (height - top - bottom) * (1 - (value - low) / (high - low))

    body = [f'<line x1="{left}" y1="{y(low):.1f}" x2="{width - right}" y2="{y(low):.1f}" class="axis"/>']
    for tick in _ticks(low, high):
        body.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{width - right}" y2="{y(tick):.1f}" class="grid"/>'
            f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" text-anchor="end" class="n">'
            f"{escape(format_value(tick, unit))}</text>"
        )
    for year in years:
        body.append(f'<text x="{x(year):.1f}" y="{height - bottom + 16}" text-anchor="middle">{year}</text>')
    for i, (region, points) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        path = " ".join(f"{x(year):.1f},{y(value):.1f}" for year, value in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for year, value in points:
            body.append(
                f'<circle cx="{x(year):.1f}" cy="{y(value):.1f}" r="3.5" fill="{colour}">'
                f"<title>{escape(region)} {year}: {escape(format_value(value, unit))}</title></circle>"
            )
        lx, ly = 8 + (i % 3) * 150, height - 26 + (i // 3) * 16
        body.append(
            f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="{ly}">{escape(_label(region))}</text>'
        )
    return _svg(f"{metric} ({unit}) by year", width, height + 16 * ((len(series) - 1) // 3), body)


def _range(values: list[float]) -> tuple[float, float]:
    low, high = min(*values, 0.0), max(*values, 0.0)
    if high == low:
        high = low + 1
    return low, high


def _ticks(low: float, high: float) -> list[float]:
    """About four round numbers spanning the range."""
    step = 10 ** math.floor(math.log10((high - low) / 4))
    for factor in (1, 2, 5, 10):
        if (high - low) / (step * factor) <= 5:
            step *= factor
            break
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def format_value(value: float, unit: str) -> str:
    """Readable Chinese magnitudes: 3.98万, 284亿."""
    for scale, word in ((1e8, "亿"), (1e4, "万")):
        if abs(value) >= scale:
            return f"{value / scale:.4g}{word}"
    return f"{value:.4g}" + (unit if unit in ("%", "pp") else "")
