"""Grade the current facts against gold annotations, so a rule edit can be measured.

Gold files are JSONL in the fact model's format (`../shared/spec/facts.md`):
one figure per line with doc, start, end, text, value, unit and the
attributes; `optional: true` marks borderline figures, neither rewarded nor
penalised. The grading follows the project's score script:

- per report, predicted and gold spans are matched one to one, greedily by
  largest overlap (ties: later prediction, then later gold first);
- a match is *found*; it is *exact* when value (relative tolerance 1e-3)
  and unit agree;
- on exact matches each attribute the gold row states is compared: region by
  name without suffixes (余杭区 matches 杭州市余杭区), metric by containment
  or character-bigram overlap >= 0.5, others after NFKC and simplification;
- a prediction matched to an optional gold row counts neither way.

Only reports named in the gold files are graded.
"""
from __future__ import annotations

import bisect
import json
import math
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import regex

ATTRIBUTES = ("dimension", "qualifier", "type", "region", "period", "metric")
SPAN_COLUMNS = ("doc", "start", "end", "text", "value", "unit")
# The names regions are compared by live in a data file beside this module
# (the score script's lists: official suffixes, names of the nation, peoples).
_NAMES = json.loads(resources.files("pipeline").joinpath("evaluate_names.json").read_text(encoding="utf-8"))
REGION_SUFFIXES: tuple[str, ...] = tuple(_NAMES["region_suffixes"])
NATION = frozenset(_NAMES["nation"])
NATION_NAME = _NAMES["nation_name"]
_PEOPLES: list[str] = _NAMES["peoples"]
_ETHNIC_TAIL = regex.compile("(?:(?:" + "|".join(_PEOPLES) + f"){_NAMES['people_suffix']})+$")

Row = Mapping[str, Any]


class GoldError(ValueError):
    """A gold file cannot be read; the message names file and line."""


def _simplifier() -> Callable[[str], str]:
    try:  # the score script compares traditional and simplified alike where OpenCC is installed
        from opencc import OpenCC
    except ImportError:
        return lambda text: text
    convert: Callable[[str], str] = OpenCC("t2s").convert
    return convert


_simplify = _simplifier()


def norm(value: Any) -> str:
    """Text for comparison: NFKC, trimmed, simplified; None is empty."""
    if value is None:
        return ""
    return _simplify(unicodedata.normalize("NFKC", str(value)).strip())


def region_stem(value: Any) -> str:
    """金华市 -> 金华; 景宁畲族自治县 -> 景宁; 杭州市余杭区 -> 杭州余杭; 中国 -> 全国."""
    text = norm(value)
    if text in NATION:
        return str(NATION_NAME)
    for suffix in REGION_SUFFIXES:
        text = text.replace(suffix, "")
    return _ETHNIC_TAIL.sub("", text)


def same_region(predicted: Any, gold: Any) -> bool:
    a, b = region_stem(predicted), region_stem(gold)
    if not a or not b:
        return a == b
    shorter, longer = sorted((a, b), key=len)
    return len(shorter) >= 2 and longer.endswith(shorter)


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} or ({text} if text else set())


def same_metric(predicted: Any, gold: Any) -> bool:
    a, b = norm(predicted), norm(gold)
    ours, theirs = _bigrams(a), _bigrams(b)
    if not ours:
        return False
    if b in a or (len(a) >= 2 and a in b):
        return True
    return 2 * len(ours & theirs) / (len(ours) + len(theirs)) >= 0.5


def attribute_agrees(name: str, predicted: Row, gold: Row) -> bool | None:
    """Whether an attribute agrees; None when the gold row does not state it."""
    want, got = gold.get(name), predicted.get(name)
    if name == "metric":
        return same_metric(got, want) if want else None
    if want is None:
        return None
    if name == "region":
        return same_region(got, want)
    return norm(got) == norm(want)


def same_value(predicted: Row, gold: Row) -> bool:
    try:
        a, b = float(predicted.get("value")), float(gold.get("value"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return not math.isnan(a) and math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-9)


def overlap(a: Row, b: Row) -> int:
    return max(0, min(int(a["end"]), int(b["end"])) - max(int(a["start"]), int(b["start"])))


def match(predicted: Sequence[Row], gold: Sequence[Row]) -> list[tuple[int, int]]:
    """One-to-one (prediction, gold) index pairs, greedily by largest overlap."""
    by_start = sorted(range(len(gold)), key=lambda j: gold[j]["start"])
    starts = [gold[j]["start"] for j in by_start]
    candidates = []
    for i, p in enumerate(predicted):
        for j in by_start[: bisect.bisect_left(starts, p["end"])]:  # gold starting before p ends
            size = overlap(p, gold[j])
            if size > 0:
                candidates.append((size, i, j))
    candidates.sort(reverse=True)
    taken_p: set[int] = set()
    taken_g: set[int] = set()
    pairs = []
    for _, i, j in candidates:
        if i not in taken_p and j not in taken_g:
            taken_p.add(i)
            taken_g.add(j)
            pairs.append((i, j))
    return pairs


@dataclass
class Errors:
    missed: list[Row] = field(default_factory=list)
    spurious: list[Row] = field(default_factory=list)
    wrong_value: list[tuple[Row, Row]] = field(default_factory=list)  # (gold, predicted)
    wrong_attr: list[tuple[str, Row, Row]] = field(default_factory=list)  # (attribute, gold, predicted)


@dataclass
class Grade:
    """Counts and scores of one grading; `errors` lists what went wrong."""

    gold: int = 0
    pred: int = 0
    found: int = 0
    exact: int = 0
    attribute_ok: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ATTRIBUTES, 0))
    attribute_counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ATTRIBUTES, 0))
    per_doc: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: Errors = field(default_factory=Errors)

    def scores(self) -> dict[str, float]:
        span_p, span_r = _ratio(self.found, self.pred), _ratio(self.found, self.gold)
        exact_p, exact_r = _ratio(self.exact, self.pred), _ratio(self.exact, self.gold)
        return {"span_precision": span_p, "span_recall": span_r, "span_f1": _f1(span_p, span_r),
                "exact_precision": exact_p, "exact_recall": exact_r, "exact_f1": _f1(exact_p, exact_r)}

    def attributes(self) -> dict[str, float]:
        return {k: _ratio(self.attribute_ok[k], self.attribute_counts[k]) for k in ATTRIBUTES}


def _ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def grade(facts: Iterable[Row], gold: Iterable[Row]) -> Grade:
    """Grade predicted facts against gold rows, report by report."""
    predicted: dict[str, list[Row]] = defaultdict(list)
    for row in facts:
        predicted[row["doc"]].append(row)
    wanted: dict[str, list[Row]] = {}
    for row in gold:
        wanted.setdefault(row["doc"], []).append(row)
    result = Grade()
    for doc, golds in wanted.items():
        _grade_doc(result, doc, predicted.get(doc, []), golds)
    return result


def _grade_doc(result: Grade, doc: str, preds: Sequence[Row], golds: Sequence[Row]) -> None:
    pairs = match(preds, golds)
    found = exact = 0
    for i, j in pairs:
        p, g = preds[i], golds[j]
        if g.get("optional"):
            continue
        found += 1
        if not (same_value(p, g) and norm(p.get("unit")) == norm(g.get("unit"))):
            result.errors.wrong_value.append((g, p))
            continue
        exact += 1
        for name in ATTRIBUTES:
            ok = attribute_agrees(name, p, g)
            if ok is None:
                continue
            result.attribute_counts[name] += 1
            result.attribute_ok[name] += ok
            if not ok:
                result.errors.wrong_attr.append((name, g, p))
    matched_p = {i for i, _ in pairs}
    matched_g = {j for _, j in pairs}
    result.errors.missed += [g for j, g in enumerate(golds) if j not in matched_g and not g.get("optional")]
    result.errors.spurious += [p for i, p in enumerate(preds) if i not in matched_p]
    pred = len(preds) - sum(1 for _, j in pairs if golds[j].get("optional"))
    gold = sum(1 for g in golds if not g.get("optional"))
    result.found += found
    result.exact += exact
    result.pred += pred
    result.gold += gold
    result.per_doc[doc] = {"gold": gold, "pred": pred, "found": found, "exact": exact}


def show(row: Row) -> str:
    return (f"{row.get('doc')}:{row.get('start')}-{row.get('end')} {row.get('text')!r} "
            f"value={row.get('value')} unit={row.get('unit')}")


def format_report(result: Grade, errors: int = 0) -> str:
    """The grading as text, line for line as the score script prints it."""
    s = result.scores()
    lines = [
        f"documents {len(result.per_doc)}  gold {result.gold}  predicted {result.pred}  "
        f"found {result.found}  exact {result.exact}",
        f"span   P {s['span_precision']:.3f}  R {s['span_recall']:.3f}  F1 {s['span_f1']:.3f}",
        f"exact  P {s['exact_precision']:.3f}  R {s['exact_recall']:.3f}  F1 {s['exact_f1']:.3f}"
        "   (span, value and unit right)",
    ]
    attributes = result.attributes()
    lines += [f"  {k:<10} {attributes[k]:.3f}  of {result.attribute_counts[k]}" for k in ATTRIBUTES]
    if errors:
        e = result.errors
        lines += [f"missed     {show(g)}" for g in e.missed[:errors]]
        lines += [f"spurious   {show(p)}" for p in e.spurious[:errors]]
        lines += [f"value      {show(g)}  <- got {p.get('value')} {p.get('unit')}" for g, p in e.wrong_value[:errors]]
        lines += [f"{name:<10} {show(g)}  want {g.get(name)!r} got {p.get(name)!r}"
                  for name, g, p in e.wrong_attr[:errors]]
    lines.append(f"exact_f1 {s['exact_f1']:.3f}")
    return "\n".join(lines)


def format_per_report(result: Grade) -> str:
    """One line per graded report: its gold and predicted figures, exact matches and exact F1."""
    width = max((len(doc) for doc in result.per_doc), default=6)
    lines = [f"{'report':<{width}}  gold  pred exact  exact_f1"]
    for doc, c in sorted(result.per_doc.items()):
        p, r = _ratio(c["exact"], c["pred"]), _ratio(c["exact"], c["gold"])
        f1 = _f1(0 if math.isnan(p) else p, 0 if math.isnan(r) else r)
        lines.append(f"{doc:<{width}} {c['gold']:5d} {c['pred']:5d} {c['exact']:5d}     {f1:.3f}")
    return "\n".join(lines)


def below_floor(result: Grade, floors: dict[str, float]) -> list[str]:
    """The scores under their floor (exact_f1, span_f1 or an attribute name), described."""
    scores = {**result.scores(), **result.attributes()}
    unknown = set(floors) - set(scores)
    if unknown:
        raise GoldError(f"no such score: {', '.join(sorted(unknown))} (known: {', '.join(sorted(scores))})")
    return [f"{name} {scores[name]:.3f} is below its floor {floor:.3f}"
            for name, floor in floors.items() if not scores[name] >= floor]


def as_json(result: Grade) -> dict[str, Any]:
    """The scores in the score script's JSON layout."""
    return {"gold": result.gold, "pred": result.pred, "found": result.found, "exact": result.exact,
            **result.scores(), "attributes": result.attributes(),
            "attribute_counts": dict(result.attribute_counts), "per_doc": result.per_doc}


def write_json(result: Grade, path: Path) -> None:
    path.write_text(json.dumps(as_json(result), ensure_ascii=False, indent=1), encoding="utf-8")


def load_gold(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Gold rows of every file, in order; a bad line raises GoldError naming file and line."""
    rows: list[dict[str, Any]] = []
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise GoldError(f"{path}: cannot read: {exc}") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise GoldError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
            missing = [k for k in ("doc", "start", "end") if not isinstance(row, dict) or k not in row]
            if missing:
                raise GoldError(f"{path}:{number}: missing {', '.join(missing)}")
            row["_where"] = f"{path}:{number}"
            rows.append(row)
    return rows


def load_facts(output: Path, docs: set[str]) -> list[dict[str, Any]]:
    """Facts of the given reports from an output folder (or any facts dataset), in file order.

    The output's `facts` link is resolved once, so a run publishing meanwhile
    cannot mix two versions into one grading.
    """
    source = (output / "facts").resolve() if (output / "facts").is_dir() else output
    if not source.exists():
        raise FileNotFoundError(f"no facts at {source}: run the pipeline first")
    dataset = ds.dataset(source, format="parquet", partitioning="hive")
    columns = [c for c in (*SPAN_COLUMNS, *ATTRIBUTES) if c in dataset.schema.names]
    table = dataset.to_table(columns=columns, filter=ds.field("doc").isin(sorted(docs)))
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


__all__ = [
    "ATTRIBUTES",
    "GoldError",
    "Grade",
    "as_json",
    "format_report",
    "grade",
    "load_facts",
    "load_gold",
    "match",
    "write_json",
]
