"""A synthetic corpus of report text, built from the sample reports in raw/.

Each synthetic report is a title and a few runs of consecutive paragraphs
(blocks between blank lines, so a table stays whole) taken from different
sample reports, with the city names permuted and the figures redrawn: the
extractor sees varied text, not one file repeated, while every paragraph is
still real report prose. Years, dates and ordinals are kept so the text stays
plausible. The corpus is deterministic for a given size and seed. With
`one_report`, the same text goes into a single report (a size-policy test).

    python -m bench.corpus OUT_DIR --mb 20 [--seed 0] [--one-report]
"""
from __future__ import annotations

import argparse
import json
import random
import re
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.ingest.reports import discover, read_document
from pipeline.records import Document

RAW = Path(__file__).resolve().parent.parent / "raw"
MANIFEST = "corpus.json"
FILES_PER_FOLDER = 1000
RUNS_PER_REPORT = (2, 4)  # runs of consecutive blocks, each from a random sample report
REPORT_CHARS = (3_000, 9_000)  # the samples hold 3,400-8,200 characters
CITIES = ("金华", "台州", "宁波", "丽水", "温州", "嘉兴", "湖州", "绍兴", "衢州", "舟山")

_BLOCK_BREAK = re.compile(r"\n[ \t\u3000]*\n+")
_CITY = re.compile("|".join(CITIES))
# A number; kept when it is a year (2023年, 2022-2025), a date part (4月2日) or an ordinal (第3).
_NUMBER = re.compile(r"(?<![\d.,])(第)?(\d+(?:,\d{3})*)(\.\d+)?(?![\d.,])(?=([年月日号届批期]?))")
_YEAR = re.compile(r"(?:19[5-9]\d|20[0-4]\d)")


@dataclass(frozen=True)
class CorpusInfo:
    """What was built; stored as corpus.json so an identical corpus is reused."""

    mb: float
    seed: int
    one_report: bool
    files: int
    bytes: int
    sources: int


def _blocks(doc: Document) -> list[str]:
    return [b.strip("\n") for b in _BLOCK_BREAK.split(doc.text) if b.strip()]


def _redraw(match: re.Match[str], rng: random.Random) -> str:
    ordinal, whole, decimals, after = match.group(1, 2, 3, 4)
    if ordinal or after or _YEAR.fullmatch(whole):
        return match.group(0)
    digits = whole.replace(",", "")
    new = str(rng.randint(10 ** (len(digits) - 1) if len(digits) > 1 else 0, 10 ** len(digits) - 1))
    if "," in whole:
        new = f"{int(new):,}"
    if decimals:
        new += "." + "".join(str(rng.randint(0, 9)) for _ in decimals[1:])
    return new


def _vary(text: str, rng: random.Random) -> str:
    """New figures and a permutation of the city names, same shape of text."""
    cities = dict(zip(CITIES, rng.sample(CITIES, len(CITIES))))
    text = _CITY.sub(lambda m: cities[m.group()], text)
    return _NUMBER.sub(lambda m: _redraw(m, rng), text)


def _report(sources: list[list[str]], rng: random.Random) -> str:
    title_source = rng.choice(sources)
    parts = [title_source[0]]
    budget = rng.randint(*REPORT_CHARS)
    size = len(parts[0])
    for _ in range(rng.randint(*RUNS_PER_REPORT)):
        blocks = rng.choice(sources)[1:]
        start = rng.randrange(len(blocks))
        for block in blocks[start:]:
            parts.append(block)
            size += len(block) + 2
            if size >= budget * (len(parts) / (len(parts) + 2)):  # spread the budget over runs
                break
        if size >= budget:
            break
    if rng.random() < 0.5:
        parts.append(f"{rng.randint(2019, 2025)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日")
    return _vary("\n\n".join(parts), rng) + "\n"


def _reports(sources: list[list[str]], rng: random.Random, target: int) -> Iterator[bytes]:
    """Synthetic reports, UTF-8, until `target` bytes in all."""
    written = 0
    while written < target:
        data = _report(sources, rng).encode("utf-8")
        written += len(data)
        yield data


def build(out: Path, mb: float, seed: int = 0, raw: Path = RAW, one_report: bool = False) -> CorpusInfo:
    """Write about `mb` MB (10^6 bytes) of reports under `out`; reuse it if already built."""
    manifest = out / MANIFEST
    if manifest.is_file():
        try:
            info = CorpusInfo(**json.loads(manifest.read_text(encoding="utf-8")))
        except TypeError:  # a manifest from an older version of this script
            info = None
        if info is not None and (info.mb, info.seed, info.one_report) == (mb, seed, one_report):
            return info
    if out.exists():
        shutil.rmtree(out)
    docs = [read_document(path, raw, {}) for path in discover(raw)]
    sources = [_blocks(d) for d in docs if isinstance(d, Document)]
    if not sources:
        raise SystemExit(f"no readable sample reports under {raw}")
    written = count = 0
    single = None
    if one_report:
        (out / "000").mkdir(parents=True)
        single = (out / "000" / "000000.txt").open("wb")
    for count, data in enumerate(_reports(sources, random.Random(seed), int(mb * 1e6)), 1):
        if single is not None:
            single.write(data + b"\n")
        else:
            path = out / f"{(count - 1) // FILES_PER_FOLDER:03d}" / f"{count - 1:06d}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        written += len(data) + (single is not None)
    if single is not None:
        single.close()
        count = 1
    info = CorpusInfo(mb=mb, seed=seed, one_report=one_report, files=count, bytes=written,
                      sources=len(sources))
    manifest.write_text(json.dumps(asdict(info)), encoding="utf-8")  # not a report: .json
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build a synthetic corpus from raw/.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--mb", type=float, default=20.0, help="size in MB (10^6 bytes)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--one-report", action="store_true", help="all the text in a single report")
    args = parser.parse_args(argv)
    info = build(args.out, args.mb, args.seed, one_report=args.one_report)
    print(f"{info.files} reports, {info.bytes / 1e6:.1f} MB under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
