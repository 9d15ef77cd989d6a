"""How extraction time grows with the size of ONE report (it should grow linearly).

    python -m bench.scaling [--max-kb 640] [--shape reports|sentence|lines]

Doubles the size of a single text and times `extract_text` on it (CPU
seconds, one core). Shapes: `reports`, the sample reports joined into one
long report (paragraphs, tables); `sentence`, one figure-dense sentence with no
clause mark; `clauses`, the same figures in one sentence of clauses (commas,
no full stop, as PDF conversion of a long list can leave); `lines`, the same
figures one per line. A ratio near 2 per doubling is linear; near 4
is quadratic, and a 50 MB report would then take hours. Stops a shape once a
step takes over --budget seconds.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from pipeline.facts.extract import extract_text
from pipeline.ingest.reports import discover, read_document
from pipeline.records import Document
from pipeline.rules.compiler import load_rules

ROOT = Path(__file__).resolve().parent.parent
FIGURE = "金华市专利授权量达到1.2万件同比增长15%"


def base_text(shape: str) -> str:
    if shape == "reports":
        docs = [read_document(p, ROOT / "raw", {}) for p in discover(ROOT / "raw")]
        return "\n\n".join(d.text for d in docs if isinstance(d, Document))
    joiner = {"sentence": "", "clauses": "，", "lines": "\n"}[shape]
    return (FIGURE + joiner) * 40


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=["reports", "sentence", "clauses", "lines"], action="append")
    parser.add_argument("--start-kb", type=float, default=20, help="first size (KB)")
    parser.add_argument("--max-kb", type=float, default=640)
    parser.add_argument("--budget", type=float, default=60, help="stop a shape after a step this slow (s)")
    args = parser.parse_args(argv)
    rules = load_rules(ROOT / "rules")
    extract_text("金华市2023年专利1.2万件。", rules)  # warm-up: jieba's dictionary
    for shape in args.shape or ["reports", "clauses", "lines", "sentence"]:
        base = base_text(shape)
        extract_text(base, rules)  # warm-up on this shape: lazily loaded models
        reps, previous = max(1, round(args.start_kb * 1000 / len(base.encode()))), None
        while len(base.encode()) * reps <= args.max_kb * 1000:
            text = base * reps
            started = time.process_time()
            facts = extract_text(text, rules)
            seconds = time.process_time() - started
            mb = len(text.encode()) / 1e6
            ratio = f"x{seconds / previous:.1f}" if previous else ""
            print(f"{shape:9} {mb * 1000:8.0f} KB {len(facts):7d} facts {seconds:8.2f} s CPU"
                  f" {mb / seconds:6.3f} MB/s {ratio}", flush=True)
            if seconds > args.budget:
                break
            reps, previous = reps * 2, seconds
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
