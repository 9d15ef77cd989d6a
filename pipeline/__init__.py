"""Figures from Chinese IP and regional-statistics reports, as facts in Parquet.

The subpackages, in the order data flows through them:

1. `ingest`     - find reports under the raw folder and decode them (`formats`
                  turns PDF, Word and HTML into text); titles and dates
2. `text`       - the normalised text stages read, with a map back to raw
                  offsets; sentences and clauses; windows of a long report
3. `figures`    - numbers with scale words and units, ranks, fractions, table
                  cells; exclusions; overlaps resolved by one policy
4. `attribute`  - type and sign, metric, region (over a gazetteer of China's
                  divisions and the named regions of the rules), period
5. `facts`      - one document in, its `Fact` records out
6. `runs`       - incremental runs: keys, manifest, the run plan, chunks and
                  their stored segments, diffs, history, the run itself
   `storage`    - the output folder: Parquet schemas and writers, atomic
                  versions, content-addressed texts, the run lock, its paths
   `processes`  - worker processes, how children start, memory handed back
7. `views`      - the review site and the DuckDB views over a published version

`rules` reads the YAML rule files and compiles them once into the object
stages 3 and 4 receive. `records` holds the typed records passed between
stages; `evaluate` grades facts against gold annotations; `cli` is the
command line. This package never imports Prefect: `flows.py` wires it.
"""
