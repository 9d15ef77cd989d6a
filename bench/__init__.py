"""Benchmarks run on demand (`make bench`), never as part of the test suite.

`corpus` builds a synthetic corpus from the sample reports; `run` measures
extraction throughput, the Prefect flow end to end, peak memory and a rerun.
"""
