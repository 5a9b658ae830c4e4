"""Benchmarks: ``python -m bench [name ...]`` runs ``bench/bench_<name>.py`` modules (all when none given).

Each module defines ``main() -> None`` which measures the baseline and the project's code in the same run
and prints their ratio against the target the issue sets.
"""
