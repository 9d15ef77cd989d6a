"""The one compile step: every rule file in, one immutable `Rules` out, that stages receive.

`load_rules` reads each rule file (syntax in its header), checks every entry
(file, line, rule id and reason on the first problem), refuses duplicate
ids across files, and builds what the stages run: the figure finder and
table reader, the type cues, the metric, region and period readers, and the
word segmenter they share. Nothing is compiled later or elsewhere, and no
stage keeps state between documents beyond memos of pure functions, so the
same report gives the same facts whatever ran before it in the process.

`Rules.version` hashes every rule file's name and bytes: it goes into each
fact, so a reader knows which rules made it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.attribute.fact_type import TypeCues
from pipeline.attribute.gazetteer import Region, build_gazetteer
from pipeline.attribute.metric import Attached, MetricReader
from pipeline.attribute.period import PeriodReader
from pipeline.attribute.plans import PlanTitles
from pipeline.attribute.region import RegionReader
from pipeline.figures.finder import FigureFinder
from pipeline.figures.tables import TableReader
from pipeline.rules.figure_rules import (
    Position,
    read_exclusions,
    read_forms,
    read_qualifiers,
    read_ranks,
    read_scales,
    read_units,
)
from pipeline.rules.files import RawRule, RuleError, check_unique
from pipeline.rules.region_rules import read_regions
from pipeline.rules.word_rules import CueKind, Era, PeriodKind, read_cues, read_metrics, read_periods, read_tables
from pipeline.text.words import Words

RULE_FILES = ("units.yaml", "scales.yaml", "forms.yaml", "qualifiers.yaml", "ranks.yaml", "exclusions.yaml",
              "cues.yaml", "periods.yaml", "metrics.yaml", "tables.yaml", "regions.yaml")


@dataclass(frozen=True, eq=False)
class Rules:
    """Every rule, checked and compiled; build with `load_rules`."""

    directory: Path
    version: str
    finder: FigureFinder
    tables: TableReader
    types: TypeCues
    metrics: MetricReader
    regions: RegionReader
    periods: PeriodReader
    eras: tuple[tuple[Region, PeriodReader], ...]  # where years count from an era, and how they read there
    plans: PlanTitles
    words: Words
    examples: tuple[RawRule, ...] = field(repr=False)  # every rule entry, for the example runner

    @property
    def ids(self) -> frozenset[str]:
        """Every rule id of every file: the values a fact's `rule` may take."""
        return frozenset(r.id for r in self.examples)


def rules_version(rules_dir: Path) -> str:
    """Hash of every rule file's name and bytes: changes whenever a rule does."""
    digest = hashlib.sha256()
    for path in sorted(rules_dir.glob("*.yaml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def unknown_files(rules_dir: Path) -> list[str]:
    """Files in the rules folder that are not rule files (and so are never read), README aside."""
    return sorted(p.name for p in rules_dir.iterdir()
                  if p.name not in RULE_FILES and p.name != "README.md" and not p.name.startswith("."))


def _era_regions(regions: RegionReader, era: Era) -> list[Region]:
    found = []
    for name in era.regions:
        region = regions.gazetteer.resolve(name)
        if region is None:
            raise era.rule.error(f"region {name!r} is unknown: use its full name or code")
        found.append(region)
    return found


def load_rules(rules_dir: Path) -> Rules:
    """Load, check and compile every rule file in `rules_dir`; raise RuleError if any is bad."""
    rules_dir = Path(rules_dir)
    for name in RULE_FILES:
        if not (rules_dir / name).is_file():
            raise RuleError(rules_dir / name, None, None, "rule file is missing")
    raw_units, units = read_units(rules_dir / "units.yaml")
    raw_scales, scales = read_scales(rules_dir / "scales.yaml")
    raw_forms, forms = read_forms(rules_dir / "forms.yaml")
    raw_quals, qualifiers = read_qualifiers(rules_dir / "qualifiers.yaml")
    raw_ranks, ranks = read_ranks(rules_dir / "ranks.yaml")
    raw_excl, exclusions = read_exclusions(rules_dir / "exclusions.yaml")
    raw_cues, cues = read_cues(rules_dir / "cues.yaml")
    raw_periods, periods = read_periods(rules_dir / "periods.yaml")
    raw_metrics, metrics = read_metrics(rules_dir / "metrics.yaml")
    raw_tables, tables = read_tables(rules_dir / "tables.yaml")
    raw_regions, regions = read_regions(rules_dir / "regions.yaml")
    every = (raw_units + raw_scales + raw_forms + raw_quals + raw_ranks + raw_excl + raw_cues + raw_periods
             + raw_metrics + raw_tables + raw_regions)
    check_unique(every)

    words = Words(metrics.words["term"])
    qualifier_words = tuple(w for q in qualifiers for w in q.words)
    range_joiners = cues.words(CueKind.RANGE_JOINER)
    finder = FigureFinder(units=units, scales=scales, forms=forms, qualifiers=qualifiers, ranks=ranks,
                          exclusions=exclusions, transparent=cues.words(CueKind.TRANSPARENT),
                          range_joiners=range_joiners, list_joiners=cues.words(CueKind.JOINER))
    shared = Attached(
        after_qualifiers=tuple(w for q in qualifiers if q.position == Position.AFTER for w in q.words),
        tail_words=(*cues.words(CueKind.TRANSPARENT), *qualifier_words, *ranks.scopes),
        streak=tuple(w for p in periods.rules if p.kind == PeriodKind.STREAK for w in p.words),
        respectively=cues.words(CueKind.RESPECTIVELY),
        entities=cues.words(CueKind.ENTITY),
        rank_cues=ranks.cues,
        baselines=periods.words["baseline"],
        scales=tuple(w for scale in scales for w in scale.written))
    region_reader = RegionReader(build_gazetteer(regions, words), regions, ranks.cues,
                                 cues.words(CueKind.ENTITY), tables.words["total_row"], tables.words["residual_row"])
    return Rules(
        directory=rules_dir,
        version=rules_version(rules_dir),
        finder=finder,
        tables=TableReader(finder, tables),
        types=TypeCues(cues, qualifier_words),
        metrics=MetricReader(metrics, shared, words),
        regions=region_reader,
        periods=PeriodReader(periods, range_joiners),
        eras=tuple((region, PeriodReader(periods, range_joiners, era.offset)) for era in periods.eras
                   for region in _era_regions(region_reader, era)),
        plans=PlanTitles(periods.words["plan_title"], range_joiners,
                         tuple((w, p.year) for p in periods.rules if p.kind == PeriodKind.PLAN and p.year
                               for w in p.words)),
        words=words,
        examples=tuple(every),
    )
