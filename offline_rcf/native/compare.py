"""Streams and agreement metrics used to compare the native engine with the JVM reference (tests and bench)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from offline_rcf.engine import Engine, ScoreResult

TS0 = 1_700_000_040


@dataclass(frozen=True)
class InjectedStream:
    X: np.ndarray  # (n, f) counts
    ts: np.ndarray  # epoch seconds (data_end of each one-minute interval)
    windows: list[tuple[int, int, int]]  # (start, end_exclusive, feature)


def poisson_stream(
    n: int = 2500,
    *,
    seed: int = 7,
    rates: tuple[float, ...] = (2.0, 3.0, 4.0, 5.0, 2.5),
    jump: float = 5.0,
    win_len: int = 20,
    first: int = 400,
    every: int = 150,
) -> InjectedStream:
    """Poisson counts per feature; in each window one feature (cycled) jumps ``jump``-fold."""
    rng = np.random.default_rng(seed)
    lam = np.asarray(rates)
    X = rng.poisson(lam, size=(n, len(lam))).astype(np.float64)
    windows = []
    for k, s in enumerate(range(first, n - win_len, every)):
        f = k % len(lam)
        X[s : s + win_len, f] = rng.poisson(lam[f] * jump, size=win_len)
        windows.append((s, s + win_len, f))
    return InjectedStream(X, TS0 + 60 * np.arange(1, n + 1, dtype=np.int64), windows)


def run(engine: Engine, stream: InjectedStream) -> list[ScoreResult]:
    return [engine.process(stream.X[i], int(stream.ts[i])) for i in range(len(stream.X))]


def flagged_intervals(grades: np.ndarray, windows: list[tuple[int, int, int]], lag: int) -> list[tuple[int, int]]:
    """Anomalous intervals as AD reports them (grade > 0), at window level.

    An injected window ``[s, e)`` counts as one interval ``[s, e + lag)`` when any flag falls in it (the shingle
    keeps the jump in the model input ``lag - 1`` more steps and the drop back is itself a change); flags outside
    every window form their own intervals, merging flags closer than ``lag``.
    """
    flags = np.flatnonzero(np.asarray(grades) > 0)
    zones = [(s, e + lag) for s, e, _ in windows]
    out = [z for z in zones if np.any((flags >= z[0]) & (flags < z[1]))]
    outside = [int(i) for i in flags if not any(a <= i < b for a, b in zones)]
    run_start = prev = None
    for i in outside:
        if prev is not None and i - prev < lag:
            prev = i
            continue
        if run_start is not None:
            out.append((run_start, prev + 1))
        run_start = prev = i
    if run_start is not None:
        out.append((run_start, prev + 1))
    return sorted(out)


def interval_f1(reference: list[tuple[int, int]], candidate: list[tuple[int, int]], lag: int) -> float:
    """F1 of ``candidate`` intervals against ``reference`` ones; intervals match when they overlap within ``lag``."""

    def hit(a: tuple[int, int], pool: list[tuple[int, int]]) -> bool:
        return any(a[0] < b[1] + lag and b[0] < a[1] + lag for b in pool)

    if not reference and not candidate:
        return 1.0
    precision = sum(hit(c, reference) for c in candidate) / len(candidate) if candidate else 0.0
    recall = sum(hit(r, candidate) for r in reference) / len(reference) if reference else 0.0
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def lagged_flag_f1(reference: np.ndarray, candidate: np.ndarray, lag: int) -> float:
    """Point-level agreement: a flag matches when the other engine flags within ``lag`` steps."""
    r = np.flatnonzero(np.asarray(reference) > 0)
    c = np.flatnonzero(np.asarray(candidate) > 0)
    if len(r) == 0 and len(c) == 0:
        return 1.0
    if len(r) == 0 or len(c) == 0:
        return 0.0
    precision = np.mean([np.min(np.abs(r - i)) < lag for i in c])
    recall = np.mean([np.min(np.abs(c - i)) < lag for i in r])
    return 0.0 if precision + recall == 0 else float(2 * precision * recall / (precision + recall))
