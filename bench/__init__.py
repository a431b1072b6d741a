"""Benchmarks run by hand: each script starts its servers, drives them and prints figures.

Never timed tests: `tests/test_bench_smoke.py` only runs each script with `--smoke`
so none of them rots. Figures and commands are recorded in `docs/performance.md`.
"""
