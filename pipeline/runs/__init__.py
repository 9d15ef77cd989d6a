"""Runs: incremental state (keys, manifest, run plan), chunks of reports, what changed, run history,
and the run itself."""
