"""HTML of the review: the index and one page per report, every string escaped.

Reports are untrusted text, so nothing from them reaches the page unescaped:
markup goes through `html.escape`, data for scripts through `script_json`
(which also escapes `<`, so `</script>` in a report cannot end the block).
Highlights are built here, not in the browser, so a report page shows its
facts (with a tooltip per fact) even with scripts off.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape as _html_escape
from itertools import pairwise
from typing import Any

from pipeline.views.review.data import Report, ReportText

STYLESHEET = "review.css"
INDEX_SCRIPT = "index.js"
REPORT_SCRIPT = "report.js"
LEGEND = '<p class="legend">' + "".join(
    f'<mark class="fact t-{kind}">{kind}</mark> ' for kind in ("level", "change", "share", "rank", "target")
) + "</p>"
FACT_FIELDS = ("value", "unit", "metric", "region", "period", "type", "qualifier", "rule", "dimension")
# The fact columns a report page reads (a subset of data.FACT_COLUMNS).
PAGE_COLUMNS = ("start", "end", "text", *FACT_FIELDS)
# A report's page shows at most this much of its text and this many of its
# facts, the first ones. One 50 MB report's whole page was 129 million
# characters, which no browser opens, and rendering it took its worker from
# 673 to 1,013 MB. The facts table has every fact; the page says what it left out.
PAGE_TEXT_MAX = 2_000_000  # characters
PAGE_FACTS_MAX = 20_000


_MARKUP = re.compile(r"[&<>\"']")  # what html.escape replaces


def escape(text: str, quote: bool = True) -> str:
    """html.escape, returning most strings (no markup characters) without its five replaces."""
    return _html_escape(text, quote) if _MARKUP.search(text) else text


@dataclass(frozen=True)
class PageStatus:
    """What writing a report page found, for the index's reports table."""

    text: bool  # the text was available
    mismatched: int  # facts whose offsets do not slice their mention out of the text


def script_json(value: Any) -> str:
    """JSON safe inside <script>: no `<`, `>` or `&` that HTML could read as markup."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _head(title: str, assets: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f'<link rel="stylesheet" href="{assets}/{STYLESHEET}"></head>\n'
    )


def fact_tooltip(fact: dict[str, Any]) -> str:
    """One line per field: what a hover shows without scripts."""
    value = fact["value"]
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    return "\n".join(
        [
            f"{fact['text']} = {shown} {fact['unit']}",
            f"metric: {fact['metric'] or '—'}",
            f"region: {fact['region'] or '—'}",
            f"period: {fact['period'] or '—'}",
            f"type: {fact['type']} ({fact['qualifier']})",
            f"rule: {fact['rule']}",
        ]
    )


def highlight(text: str, facts: Sequence[dict[str, Any]]) -> tuple[str, list[int]]:
    """The text as HTML with a <mark> per run of characters covered by facts.

    Facts may overlap: the text is cut at every fact boundary and each piece
    lists all facts covering it (`data-f`). Returns the HTML and the indices
    of facts whose offsets do not slice their mention out of this text.
    """
    starts: dict[int, list[int]] = {}
    ends: dict[int, list[int]] = {}
    bad: list[int] = []
    for k, fact in enumerate(facts):
        start, end = fact["start"], fact["end"]
        if not (0 <= start < end <= len(text)) or text[start:end] != fact["text"]:
            bad.append(k)
            continue
        starts.setdefault(start, []).append(k)
        ends.setdefault(end, []).append(k)
    cuts = sorted({0, len(text), *starts, *ends})
    active: list[int] = []
    out: list[str] = []
    for a, b in pairwise(cuts):
        active = [k for k in active if k not in ends.get(a, ())] + starts.get(a, [])
        piece = escape(text[a:b], quote=False)
        if not active:
            out.append(piece)
            continue
        opening = starts.get(a, [])
        out.extend(f'<span class="anchor" id="f{k}"></span>' for k in opening[1:])
        ident = f' id="f{opening[0]}"' if opening else ""
        kinds = " ".join(sorted({f"t-{facts[k]['type']}" for k in active}))
        multi = " multi" if len(active) > 1 else ""
        tip = "\n\n".join(fact_tooltip(facts[k]) for k in active)
        out.append(
            f'<mark{ident} class="fact {escape(kinds)}{multi}" tabindex="0" '
            f'data-f="{" ".join(map(str, active))}" title="{escape(tip)}">{piece}</mark>'
        )
    return "".join(out), bad


def report_page(report: Report, facts: Sequence[dict[str, Any]], text: ReportText) -> tuple[str, PageStatus]:
    """A report's page: its text with highlights, a detail panel and the list of its facts."""
    title = report.title or report.doc
    full = text.text
    shown = full[:PAGE_TEXT_MAX] if full is not None else None
    text_cut = full is not None and len(full) > PAGE_TEXT_MAX
    if text_cut:
        facts = [fact for fact in facts if fact["end"] <= PAGE_TEXT_MAX]
    facts = facts[:PAGE_FACTS_MAX]
    cut = ""
    if text_cut or len(facts) < report.facts:
        of_text = f" and {PAGE_TEXT_MAX:,} of its {len(full or ''):,} characters" if text_cut else ""
        cut = (f'<p class="warning" id="cut">This page shows the first {len(facts):,} of the report\'s '
               f"{report.facts:,} facts{of_text}: the facts table has them all.</p>")
    if shown is not None:
        body, bad = highlight(shown, facts)
        article = f'<div class="text" id="text">{body}</div>'
    else:
        bad = list(range(len(facts)))
        article = f'<p class="warning">Text not available: {escape(text.source)}.</p>'
    warning = ""
    if shown is not None and bad:
        warning = (
            f'<p class="warning" id="mismatch">{len(bad)} fact(s) do not match this text '
            "(text[start:end] differs from the mention): the text is not the one they were extracted from.</p>"
        )
    bad_set = set(bad)
    rows = "".join(_fact_row(k, fact, k in bad_set) for k, fact in enumerate(facts))
    meta = [escape(report.doc), f"published {escape(report.published)}" if report.published else "",
            f"{len(facts)} facts", f"{report.characters} characters" if report.characters is not None else ""]
    data = [{"k": k, "start": f["start"], "end": f["end"], "text": f["text"], **{n: f[n] for n in FACT_FIELDS}}
            for k, f in enumerate(facts)]
    html = (
        _head(f"{title} – review", "../assets")
        + '<body class="report">\n<header><a href="../index.html">← all reports</a>'
        f"<h1>{escape(title)}</h1><p class=\"meta\">{' · '.join(m for m in meta if m)}</p>"
        f'<p class="meta">text: {escape(text.source)}</p>{LEGEND}</header>\n'
        f'<main><article>{cut}{warning}{article}</article>\n<aside><div id="detail" class="detail">'
        "<p>Hover or click a highlighted figure to see what was extracted.</p></div>"
        '<table class="facts" id="report-facts"><thead><tr><th>#</th><th>mention</th><th class="num">value</th>'
        "<th>unit</th><th>metric</th><th>region</th><th>period</th><th>type</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></aside></main>\n"
        f'<script id="facts-data" type="application/json">{script_json(data)}</script>\n'
        f'<script src="../assets/{REPORT_SCRIPT}"></script>\n</body></html>\n'
    )
    return html, PageStatus(text=text.text is not None, mismatched=len(bad))


def _fact_row(k: int, fact: dict[str, Any], bad: bool) -> str:
    marked = ' class="bad"' if bad else ""
    return (f'<tr data-k="{k}"{marked}><td><a href="#f{k}">{k + 1}</a></td><td>{_cell(fact["text"])}</td>'
            f'<td class="num">{escape(_value(fact["value"]))}</td><td>{_cell(fact["unit"])}</td>'
            f'<td>{_cell(fact["metric"])}</td><td>{_cell(fact["region"])}</td><td>{_cell(fact["period"])}</td>'
            f'<td>{_cell(fact["type"])}</td></tr>')


def _cell(value: object) -> str:
    return escape(str(value)) if value is not None else "—"


def _value(value: float | int | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.6g}" if isinstance(value, float) and not value.is_integer() else f"{int(value):,}"


def index_page(
    reports: Sequence[Report],
    status: Sequence[PageStatus],
    facts: int,
    chart_svgs: Sequence[str],
    data_files: Sequence[str],
    generated: str,
) -> str:
    """The index: summary, charts, the reports table (static) and the facts table (built by script)."""
    rows = "".join(_report_row(report, page) for report, page in zip(reports, status))
    missing = sum(not s.text for s in status)
    mismatched = sum(s.mismatched for s in status)
    notes = ""
    if missing:
        notes += f'<p class="warning">{missing} report(s) have no text to show.</p>'
    if mismatched:
        notes += f'<p class="warning">{mismatched} fact(s) do not match their report\'s text.</p>'
    scripts = "".join(f'<script src="data/{escape(name)}"></script>\n' for name in data_files)
    charts = "".join(chart_svgs) or "<p>No facts to chart.</p>"
    return (
        _head(f"Review: {len(reports)} reports, {facts} facts", "assets")
        + '<body class="index">\n<header><h1>Extracted facts: review</h1>'
        f'<p class="meta" id="summary"><span id="report-total">{len(reports)}</span> reports · '
        f'<span id="fact-total">{facts}</span> facts · generated {escape(generated)}</p>{notes}'
        '<nav><a href="#reports">Reports</a> · <a href="#charts">Charts</a> · '
        '<a href="#facts">Facts</a></nav></header>\n'
        '<section id="reports"><h2>Reports</h2>'
        '<p><input id="report-filter" type="search" placeholder="filter by file or title"></p>'
        '<table class="sortable" id="reports-table"><thead><tr><th>file</th><th>title</th><th>published</th>'
        '<th class="num">characters</th><th class="num">facts</th><th>text</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></section>\n"
        f'<section id="charts"><h2>Charts</h2><div class="charts">{charts}</div></section>\n'
        '<section id="facts"><h2>Facts</h2>'
        '<form id="filters" autocomplete="off">'
        '<label>metric <input name="metric" list="metric-list" type="search"></label>'
        '<label>region <input name="region" list="region-list" type="search"></label>'
        '<label>period <select name="period"><option value="">all</option></select></label>'
        '<label>type <select name="type"><option value="">all</option></select></label>'
        '<button type="reset">clear</button></form>'
        '<datalist id="metric-list"></datalist><datalist id="region-list"></datalist>'
        '<p id="fact-count" class="meta">Loading facts…</p>'
        '<table id="facts-table"><thead><tr><th data-sort="report">report</th><th data-sort="text">mention</th>'
        '<th data-sort="value" class="num">value</th><th data-sort="unit">unit</th><th data-sort="metric">metric</th>'
        '<th data-sort="region">region</th><th data-sort="period">period</th><th data-sort="type">type</th>'
        '<th data-sort="qualifier">qualifier</th><th data-sort="rule">rule</th></tr></thead><tbody></tbody></table>'
        '<p class="pager" id="pager"></p>'
        '<noscript><p class="warning">The facts table needs JavaScript; '
        "each report's page shows its facts without it.</p></noscript>"
        "</section>\n"
        f'{scripts}<script src="assets/{INDEX_SCRIPT}"></script>\n</body></html>\n'
    )


def _report_row(report: Report, status: PageStatus) -> str:
    text = "ok" if status.text and not status.mismatched else (
        "missing" if not status.text else f"{status.mismatched} mismatched")
    cells = (
        f'<td><a href="reports/{escape(report.page)}">{escape(report.doc)}</a></td>'
        f"<td>{escape(report.title or '')}</td><td>{escape(report.published or '')}</td>"
        f'<td class="num">{report.characters if report.characters is not None else ""}</td>'
        f'<td class="num">{report.facts}</td><td class="{"ok" if text == "ok" else "warn"}">{text}</td>'
    )
    return f"<tr>{cells}</tr>"
