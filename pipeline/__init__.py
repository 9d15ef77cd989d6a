"""Figures from Chinese IP and regional-statistics reports, as facts in Parquet.

The stages, in the order data flows through them (one module each):

1. `ingest`     - find reports under the raw folder, decode them, read dates
2. `normalise`  - fold full-width and traditional characters, join broken
                  lines, keeping a map back to raw character offsets
3. `segment`    - sentences and clauses
4. `figures`    - numbers with scale words and units, ranks, fractions
   `tables`     - table cells as figures, unit and period from headers
5. attribution  - `kind` (type and sign), `metric`, `region`, `period`
6. `extract`    - one document's facts, offsets pointing into the raw text
7. `store`      - Parquet datasets written atomically

`rules` loads and checks the YAML rule files that stages 4 and 5 read;
`records` holds the frozen records passed between stages. This package never
imports Prefect: `flows.py` wires these stages as tasks.
"""
