"""Figures from Chinese IP and regional-statistics reports, as facts in Parquet.

The stages, in the order data flows through them (one module each):

1. `ingest`     - find reports under the raw folder, decode them (`formats`
                  turns PDF, Word and HTML into text), read titles and dates
2. `normalise`  - fold full-width and traditional characters, join broken
                  lines, keeping a map back to raw character offsets
3. `segment`    - sentences and clauses
4. `figures`    - numbers with scale words and units, ranks, fractions;
                  exclusions; overlaps resolved by `longest_first`
   `tables`     - table cells as figures, unit and period from headers
5. attribution  - `kind` (type and sign), `metric` (with its lexicon id),
                  `region` (over the `gazetteer` of China's divisions),
                  `period`; `plan` spots plan documents
6. `extract`    - one document's facts, offsets pointing into its text; a
                  long one window by window, cut between paragraphs (`windows`)
7. output       - `chunks` extracts what changed, chunk by chunk, into
                  content-addressed segments (`chunkstore`), staging their diff
                  rows (`diffstore`); `run` publishes a version
                  atomically (`store`, `parquet`, `texts` over `contentstore`, `lock`) with its
                  run `history`, `diff` and `state`; `review` and `analyst`
                  build the review site (report pages rendered by the
                  chunks, `review.pagestore`) and the DuckDB views over it,
                  in a process of their own (`views`);
                  `memory` hands freed memory back between chunks;
                  `workers` runs chunks in worker processes (both started by `spawn`)

`rules` (with `rulefile`) loads and checks the YAML rule files that stages 4
and 5 read; `records` holds the frozen records passed between stages;
`evaluate` grades facts against gold annotations; `cli` is the command line.
This package never imports Prefect: `flows.py` wires these stages as tasks.
"""
