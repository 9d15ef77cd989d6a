"""Storage: the output folder on disk - Parquet schemas and writers, atomic versions, content-addressed
segments, texts and pages, staged diffs, the run lock."""
