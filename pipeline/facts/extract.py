"""Per-report extraction: one document in, its facts out.

The stages in order: normalise the text (with a map back to raw offsets),
segment it, find the figures (prose and tables), attach type, metric,
region and period, and build facts whose offsets point at the raw file.
A long report runs through them window by window (pipeline.text.windows).
Every stage reads only the compiled `Rules` it is given and the document.
"""
from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from itertools import accumulate

from pipeline.attribute.fact_type import Kind
from pipeline.attribute.gazetteer import Region
from pipeline.attribute.metric import pair_respectively
from pipeline.attribute.period import (
    PeriodReader,
    dominant_year,
    opens_section,
    section_year_counts,
    section_years,
    year_at,
)
from pipeline.attribute.region import SCOPE_CHARS, RegionIndex
from pipeline.figures.tables import TableFigure
from pipeline.records import Dimension, Document, Fact, FactType, Figure, record
from pipeline.rules.compiler import Rules
from pipeline.text import windows
from pipeline.text.normalise import TextView, fold_chars, normalise, without_glosses
from pipeline.text.segment import ClauseStarts, sentences

Span = tuple[int, int]


def extract_text(text: str, rules: Rules, *, doc: str = "-", doc_id: str = "-",
                 published: date | None = None, title: str | None = None,
                 window: int | None = None) -> list[Fact]:
    """Facts of one text; the pure function behind `extract_document`, handy in tests."""
    return [fact for part in extract_windows(text, rules, doc=doc, doc_id=doc_id, published=published,
                                             title=title, window=window) for fact in part]


def extract_windows(text: str, rules: Rules, *, doc: str = "-", doc_id: str = "-",
                    published: date | None = None, title: str | None = None,
                    window: int | None = None) -> Iterator[list[Fact]]:
    """Facts of one text, window by window (pipeline.text.windows), in text order.

    A window is extracted as the whole text would be: it is given the
    document's region, the region in effect where it starts, and its
    sections' years counted over the whole of each section. `window`: about
    how many characters a window holds (default `windows.WINDOW_CHARS`).
    """
    starts = [0, *windows.cuts(text, window or windows.WINDOW_CHARS)]
    spans = list(zip(starts, [*starts[1:], len(text)]))
    context = _Context(rules, doc, doc_id, published, rules.plans.end_year(title), title)
    years = _first_pass(text, spans, context) if len(spans) > 1 else [None]
    for (a, b), sections in zip(spans, years):
        yield _extract_window(text[a:b], a, context, sections)


@dataclass
class _Context:
    """What every window of one text shares; `scope` and `opening` are carried from window to window."""

    rules: Rules
    doc: str
    doc_id: str
    published: date | None
    plan_year: int | None
    title: str | None
    scope: Region | None = None  # the document's region
    opening: Region | None = None  # the section region in effect where the next window starts

    def periods(self) -> PeriodReader:
        """How years read in this document: with its region's era where it has one (ROC years)."""
        scope, gazetteer = self.scope, self.rules.regions.gazetteer
        if scope is not None:
            for region, reader in self.rules.eras:
                if gazetteer.within(scope, region):
                    return reader
        return self.rules.periods


@record
class Attributed:
    """A prose figure with everything attached to it, before it becomes a fact."""

    figure: Figure
    kind: Kind
    metric: str | None
    region: Region | None
    period: str | None
    sentence: Span


def _first_pass(text: str, spans: list[Span], context: _Context) -> list[list[tuple[int, str | None]] | None]:
    """What no one window sees: the document's region, read from the opening of
    the whole normalised text, and each window's sections with their years, a
    section cut by a window's end counted over all its windows. (Normalising
    the text twice is cheap next to extracting it.)

    The whole normalised text is the windows' ones joined by line breaks,
    since windows are cut between paragraphs.
    """
    head = ""  # the opening of the whole normalised text
    per_window: list[list[tuple[int, dict[str, int]]]] = []
    totals: list[dict[str, int]] = []  # year counts of each section of the whole text
    owners: list[list[int]] = []  # per window: the whole-text section of each of its sections
    for a, b in spans:
        norm = normalise(text[a:b]).text
        if len(head) < SCOPE_CHARS:
            head = f"{head}\n{norm}" if head else norm
        sections = section_year_counts(norm)
        ids = []
        for j, (_, counts) in enumerate(sections):
            if j == 0 and owners and not opens_section(norm):  # continues the last window's last section
                total = totals[owners[-1][-1]]
                for year, n in counts.items():
                    total[year] = total.get(year, 0) + n
                ids.append(owners[-1][-1])
            else:
                ids.append(len(totals))
                totals.append(counts)
        per_window.append(sections)
        owners.append(ids)
    context.scope = context.rules.regions.document_scope(context.title, head)
    return [[(start, dominant_year(totals[i])) for (start, _), i in zip(sections, ids)]
            for sections, ids in zip(per_window, owners)]


def _extract_window(text: str, base: int, context: _Context,
                    years: list[tuple[int, str | None]] | None) -> list[Fact]:
    """Facts of one window starting at raw offset `base` (`years`: None to count them here)."""
    rules = context.rules
    folded = fold_chars(text)
    view = normalise(text, folded)
    norm = view.text
    if years is None:  # the whole text in one window
        years = section_years(norm)
        context.scope = rules.regions.document_scope(context.title, norm)
    figures = rules.finder.find(norm)
    tables = rules.tables.find(folded, rules.tables.units_written(figures, norm))
    table_spans = sorted({t.span for t in tables})
    if table_spans:  # table cells are read by the table reader, with their row and column
        reach = list(accumulate((e for _, e in table_spans), max))
        figures = [f for f in figures if not _in_spans(view.to_raw[f.start], table_spans, reach)]
    regions = rules.regions.index(norm, context.scope, [f.start for f in figures], context.opening)
    context.opening = regions.sections[-1][1]
    where = _Where(text, base, context.doc, context.doc_id, rules, context.title)
    title_year = context.periods().title_year(context.title, context.published)  # 去年… -> the year before
    facts = [_table_fact(_dated(_in_plan(t, context.plan_year), view, years, title_year), where, regions, view)
             for t in tables]
    attached = _attribute(norm, figures, regions, context, years, title_year)
    groups = _respectively_groups(norm, attached, rules.metrics.respectively)
    attached = _places_respectively(norm, attached, groups, regions, rules)
    metrics = pair_respectively(groups, [a.metric for a in attached], rules.metrics.split_list)
    facts.extend(_fact(view, where, a, metric) for a, metric in zip(attached, metrics))
    return sorted(facts, key=lambda f: (f.start, f.end))


def _attribute(norm: str, figures: list[Figure], regions: RegionIndex, context: _Context,
               years: list[tuple[int, str | None]], title_year: str | None) -> list[Attributed]:
    """Type, metric, region and period of every prose figure, in text order."""
    rules = context.rules
    sents = sentences(norm)
    clause_at = ClauseStarts(norm)
    previous: Attributed | None = None
    referent: str | None = None  # metric a change, share or rank refers to (durations never are one)
    in_target, entity_from = False, 0  # what holds for the current sentence
    periods = context.periods()
    targets = rules.types.target_marks(norm)
    out: list[Attributed] = []
    for fig in figures:
        sent = sents.span_at(fig.start)
        clause_from = clause_at(fig.start, sent[0])
        before = previous if previous and previous.sentence == sent else None
        if before is None:  # the sentence's first figure: read what holds for all of it once
            referent = None
            in_target = rules.types.target_sentence(targets, sent)
            entity_from = rules.regions.entity_end(norm, sent)
        kind = rules.types.classify(norm, fig, clause_from, (before.figure, before.kind) if before else None,
                                    _plan_year(periods, norm, fig, sent, context), in_target)
        metric_from = max(clause_from, before.figure.end if before else 0)
        metric = rules.metrics.read(norm, fig.start, fig.end, fig.dimension, metric_from, referent,
                                    strip_regions=rules.regions.strip_places, unit=fig.unit)
        rank = fig.dimension == Dimension.RANK
        if rules.metrics.is_vague(metric, rank):  # 依然稳居第2, 年减3.1%: what the sentence or paragraph is about
            metric = rules.metrics.instead_of_vague(norm, fig.start, rank, referent, context.title,
                                                    rules.regions.strip_places, clause_from, sent[0]) or metric
        elif rank and metric != referent:  # 某排行，某集群位居第二: the ranking the sentence names
            metric = rules.metrics.ranking_of(norm, sent[0], fig.start, metric, rules.regions.strip_places) or metric
        period = periods.resolve(norm, fig.start, sent, context.published,
                                 default_year=context.plan_year if kind.type == FactType.TARGET else None,
                                 sections=years, document_year=title_year)
        region = rules.regions.region_for(regions, norm, fig.start, sent, entity_from)
        previous = Attributed(fig, kind, metric, region, period, sent)
        out.append(previous)
        if not (fig.dimension == Dimension.DURATION and rules.metrics.is_streak(norm[metric_from:fig.start])):
            referent = metric
    return out


def _plan_year(periods: PeriodReader, norm: str, fig: Figure, sent: Span, context: _Context) -> int | None:
    """The plan's end year, whose targets a plan document's figures are, unless the figure's
    text dates it before the plan was published (2015年专利申请5.2万件 in a 2016-2020 plan
    published in 2016): what a plan reports as achieved is a level."""
    plan, published = context.plan_year, context.published
    if plan is None or published is None:  # (when it was written is unknown: 2017年达到 may be a goal)
        return plan
    decided, year = periods.stated(norm, fig.start, sent, published)
    return None if decided and year is not None and int(year) < min(plan, published.year) else plan


def _in_spans(pos: int, spans: list[Span], reach: list[int]) -> bool:
    """Is `pos` inside one of `spans` (sorted by start; `reach[i]`: the furthest end
    of spans[:i + 1])? A bisection, not a scan of every table for every figure."""
    i = bisect.bisect_right(spans, pos, key=lambda span: span[0]) - 1
    return i >= 0 and reach[i] > pos


def _respectively_groups(norm: str, attached: list[Attributed],
                         words: tuple[str, ...]) -> list[tuple[list[int], list[int]]]:
    """Figures listed after 分别 in a clause, and the same number of figures before them in the sentence."""
    groups: list[tuple[list[int], list[int]]] = []
    if not words:
        return groups
    clause_at = ClauseStarts(norm)
    i = 0
    while i < len(attached):
        first = attached[i]
        clause_from = clause_at(first.figure.start, first.sentence[0])
        if not any(w in norm[clause_from:first.figure.start] for w in words):
            i += 1
            continue
        listed = [i]
        while i + 1 < len(attached) and attached[i + 1].sentence == first.sentence and \
                clause_at(attached[i + 1].figure.start, first.sentence[0]) == clause_from:
            i += 1
            listed.append(i)
        before, j = [], listed[0] - 1  # the sentence's earlier figures (a sentence's figures are adjacent)
        while j >= 0 and attached[j].sentence == first.sentence:
            if attached[j].figure.dimension != Dimension.DURATION:
                before.append(j)
            j -= 1
        groups.append((before[::-1][-len(listed):], listed))
        i += 1
    return groups


def _places_respectively(norm: str, attached: list[Attributed], groups: list[tuple[list[int], list[int]]],
                         regions: RegionIndex, rules: Rules) -> list[Attributed]:
    """Figures listed after 分别 take, one each, the places listed before them in their
    sentence when the counts agree (西湖区和滨江区，分别有420家和380家); so do figures
    listed with joiners alone and places listed before them in their clause."""
    out = list(attached)
    clause_at = ClauseStarts(norm)
    lists = [(attached[listed[0]].sentence[0], listed) for _, listed in groups]  # from the sentence's start
    lists += [(clause_at(attached[run[0]].figure.start, attached[run[0]].sentence[0]), run)  # from the clause's
              for run in _joined_runs(norm, attached, rules.types.joiners)]
    for start, listed in lists:
        first = attached[listed[0]]
        places = rules.regions.listed_places(norm, start, first.figure.start, regions.scope_at(first.figure.start))
        if len(places) == len(listed):
            for i, place in zip(listed, places):
                out[i] = replace(out[i], region=place)
    return out


def _joined_runs(norm: str, attached: list[Attributed], joiners: frozenset[str]) -> list[list[int]]:
    """Figures of one sentence listed with nothing but joiners between them (第二、第三): with
    as many places listed before them in their clause (杭州和宁波的授权量为1.3万件、0.9万件), one each."""
    runs: list[list[int]] = []
    for i, a in enumerate(attached):
        prev = attached[i - 1] if i else None
        if prev is not None and prev.sentence == a.sentence and \
                norm[prev.figure.end:a.figure.start].strip() in joiners and runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return [run for run in runs if len(run) > 1]


@dataclass(frozen=True)
class _Where:
    """Where a window's facts come from: its raw text, the raw offset it starts at, the report."""

    raw: str
    base: int
    doc: str
    doc_id: str
    rules: Rules
    title: str | None


def _in_plan(t: TableFigure, plan_year: int | None) -> TableFigure:
    """In a plan, a table's cells of the plan's end year are targets (2015年 | 2020年: the base, the goal)."""
    if plan_year is not None and t.type == FactType.LEVEL and t.period == str(plan_year):
        return replace(t, type=FactType.TARGET)
    if plan_year is not None and t.type == FactType.TARGET and t.period is None:
        return replace(t, period=str(plan_year))
    return t


def _dated(t: TableFigure, view: TextView, sections: list[tuple[int, str | None]],
           title_year: str | None) -> TableFigure:
    """A cell whose table names no period takes the year of its section, else of the
    document, as a prose figure with no time expression does."""
    if t.period is not None:
        return t
    year = year_at(sections, _norm_pos(view, t.figure.start), title_year)
    return t if year is None else replace(t, period=year)


def _norm_pos(view: TextView, raw_pos: int) -> int:
    """About the normalised offset of a raw offset; raw offsets only go out of
    order where a caption was moved, which is close enough for finding a section."""
    return bisect.bisect_left(view.to_raw, raw_pos)


def _table_fact(t: TableFigure, where: _Where, regions: RegionIndex, view: TextView) -> Fact:
    rules = where.rules
    at = regions.scope_at(_norm_pos(view, t.figure.start))
    region, row_is_place = rules.regions.table_row_region(t.label, at)
    metric = t.metric
    if row_is_place:  # rows are places: the column, read with what the caption counts
        metric = (t.caption or "") + (t.column_metric or "") or None
    metric = without_glosses(metric) if metric else None  # (table cells are read from the raw text)
    if t.figure.dimension == Dimension.RANK and rules.metrics.is_vague(metric):  # a 排序 column
        metric = rules.metrics.topic("", 0, True, where.title, rules.regions.strip_places) or metric
    fig = t.figure  # table offsets are raw offsets already (folding keeps lengths)
    return Fact(doc=where.doc, doc_id=where.doc_id, start=where.base + fig.start, end=where.base + fig.end,
                text=where.raw[fig.start:fig.end], value=fig.value, unit=fig.unit, dimension=fig.dimension,
                qualifier=fig.qualifier, type=t.type, metric=metric, metric_id=rules.metrics.metric_id(metric),
                region=region.full_name if region else None, region_code=region.output_code if region else None,
                period=t.period, sentence=t.row_text, rule=fig.rule, rules_version=rules.version)


def _fact(view: TextView, where: _Where, a: Attributed, metric: str | None) -> Fact:
    """The fact of an attributed figure; `metric` as 分别 lists paired it (a.metric otherwise)."""
    fig, rules = a.figure, where.rules
    start, end = view.raw_span(fig.start, fig.end)
    value = -abs(fig.value) if a.kind.sign < 0 else fig.value
    return Fact(doc=where.doc, doc_id=where.doc_id, start=where.base + start, end=where.base + end,
                text=where.raw[start:end], value=value, unit=fig.unit, dimension=fig.dimension,
                qualifier=fig.qualifier, type=a.kind.type, metric=metric, metric_id=rules.metrics.metric_id(metric),
                region=a.region.full_name if a.region else None, region_code=a.region.output_code if a.region else None,
                period=a.period, sentence=view.text[a.sentence[0]:a.sentence[1]].strip(), rule=fig.rule,
                rules_version=rules.version)


def extract_document(doc: Document, rules: Rules) -> list[Fact]:
    """Run every stage on one report and return its facts, in text order."""
    return [fact for part in extract_document_windows(doc, rules) for fact in part]


def extract_document_windows(doc: Document, rules: Rules) -> Iterator[list[Fact]]:
    """`extract_document` window by window, for callers that turn each window's facts into
    a table before the next: a long report's facts never all exist as Python objects."""
    return extract_windows(doc.text, rules, doc=doc.file, doc_id=doc.doc_id, published=doc.published,
                           title=doc.title)
