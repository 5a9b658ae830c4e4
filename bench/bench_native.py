"""Native engine vs the AWS jars (JVM reference), same stream and AD real-time profile, one run.

Target (issue 9): native points/s >= 10x the reference as AD runs it (bounding-box cache 0). The ratio against
the reference with cache 1.0 (identical results, faster) is printed too. Each engine is warmed up first on a
separate short stream (JVM class loading/JIT, numba cache load), then timed on the same stream.
Run: ``.venv/bin/python -m bench native`` (``WAFAD_BENCH_NATIVE_N`` sets the stream length, default 2000).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from scipy.stats import spearmanr

from offline_rcf.engine import Engine, ForestConfig, ad_profile
from offline_rcf.native import NativeEngine
from offline_rcf.native.compare import flagged_intervals, interval_f1, poisson_stream, run

TARGET_RATIO = 10.0


def _timed(make: Callable[[ForestConfig], Engine], cfg: ForestConfig, n: int) -> tuple[float, np.ndarray, np.ndarray]:
    run(make(cfg), poisson_stream(600, seed=99))  # warm-up
    stream = poisson_stream(n, seed=7)
    engine = make(cfg)
    t0 = time.perf_counter()
    results = run(engine, stream)
    elapsed = time.perf_counter() - t0
    return n / elapsed, np.array([r.score for r in results]), np.array([r.grade for r in results])


def main() -> None:
    from offline_rcf.jvm import JVMEngine

    n = int(os.environ.get("WAFAD_BENCH_NATIVE_N", "2000"))
    cfg = ad_profile(5, seed=7)  # AD real time: bounding_box_cache_fraction 0
    rt = replace(cfg, bbox_cache_fraction=0.0)
    cached = replace(cfg, bbox_cache_fraction=1.0)
    rows = {
        "reference (jars, AD real time, bbox cache 0)": _timed(JVMEngine, rt, n),
        "reference (jars, bbox cache 1.0)": _timed(JVMEngine, cached, n),
        "native (numpy/numba)": _timed(NativeEngine, rt, n),
    }
    print(f"stream: {n} points, 5 Poisson features with 5x jump windows; profile ad_profile(5) (50 trees, 256 samples, "
          f"shingle 8); load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    for name, (pps, _, _) in rows.items():
        print(f"  {name:<48} {pps:10.0f} pts/s")
    (ref0, s0, g0), (ref1, _, _), (nat, sn, gn) = rows.values()
    ratio0, ratio1 = nat / ref0, nat / ref1
    windows = poisson_stream(n, seed=7).windows
    rho = spearmanr(s0[64:], sn[64:]).statistic
    f1 = interval_f1(flagged_intervals(g0, windows, 8), flagged_intervals(gn, windows, 8), 8)
    print(f"  native / reference(bbox 0)   = {ratio0:6.1f}x  (target >= {TARGET_RATIO:.0f}x: "
          f"{'met' if ratio0 >= TARGET_RATIO else 'NOT met'})")  # fmt: skip
    print(f"  native / reference(bbox 1.0) = {ratio1:6.1f}x")
    print(f"  agreement on this stream: Spearman {rho:.3f}, anomalous-interval F1 {f1:.3f}")


if __name__ == "__main__":
    main()
