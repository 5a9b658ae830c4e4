"""Points per second of the river ``TRCFDetector`` against the raw AWS jars (JPype loop), same run, same stream.

``python -m bench rcf`` (``WAFAD_BENCH_RCF_N`` points, default 4000; 5 features, shingle 8, AD 3.x profile with
bounding-box cache 1.0). The baseline is a bare JPype loop over ``ThresholdedRandomCutForest.process``, so the
ratio is the cost of the wrapper (dict handling, result mapping). The native engine is measured too when it is
importable (``offline_rcf.native``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np

from offline_rcf.engine import ad_profile

T0 = 1_700_000_040


def waf_stream(n: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.poisson(0.5, size=(n, 5)).astype(np.float64)
    for k, s in enumerate(range(400, n - 20, 300)):
        x[s : s + 20, k % 5] = rng.poisson(50, size=20)
    return x


def raw_jars(x: np.ndarray, seed: int) -> float:
    from jpype.types import JArray, JDouble

    from offline_rcf.jvm import build_trcf

    trcf = build_trcf(ad_profile(5, seed=seed))
    t = time.perf_counter()
    for i in range(len(x)):
        d = trcf.process(JArray(JDouble)(x[i]), T0 + 60 * i)
        d.getRCFScore()
        d.getAnomalyGrade()
    return time.perf_counter() - t


def detector_process_one(x: np.ndarray, seed: int, engine: str = "jvm") -> float:
    from offline_rcf import TRCFDetector

    det = TRCFDetector(ad_profile(5, seed=seed), engine=engine)  # type: ignore[arg-type]
    det.process_one(x[0], T0)  # build the engine outside the timing
    t = time.perf_counter()
    for i in range(1, len(x)):
        det.process_one(x[i], T0 + 60 * i)
    return (time.perf_counter() - t) * len(x) / (len(x) - 1)


def detector_river_loop(x: np.ndarray, seed: int) -> float:
    from offline_rcf import TRCFDetector

    names = [f"f{j}" for j in range(x.shape[1])]
    rows = [dict(zip(names, r, strict=True)) for r in x.tolist()]
    det = TRCFDetector(ad_profile(5, seed=seed), feature_names=names)
    det.learn_one(rows[0])
    t = time.perf_counter()
    for row in rows[1:]:
        det.score_one(row)
        det.learn_one(row)
    return (time.perf_counter() - t) * len(x) / (len(x) - 1)


def main() -> None:
    from offline_rcf.jvm import ensure_jvm

    n = int(os.environ.get("WAFAD_BENCH_RCF_N", "4000"))
    reps = int(os.environ.get("WAFAD_BENCH_RCF_REPS", "3"))
    x = waf_stream(n)
    t = time.perf_counter()
    ensure_jvm()
    print(f"JVM start: {time.perf_counter() - t:.2f} s; {n} points x {reps} reps, load {os.getloadavg()[0]:.1f}")
    raw_jars(x, 1)  # JIT warm-up, untimed
    impls: dict[str, Callable[[np.ndarray, int], float]] = {
        "raw jars (JPype loop, baseline)": raw_jars,
        "TRCFDetector.process_one": detector_process_one,
        "TRCFDetector score_one+learn_one (dicts)": detector_river_loop,
    }
    try:
        import offline_rcf.native  # noqa: F401

        impls["TRCFDetector.process_one, engine=native"] = lambda xx, s: detector_process_one(xx, s, "native")
    except Exception as exc:  # the native engine is another issue; report, don't fail
        print(f"(native engine not measured: {type(exc).__name__}: {exc})")
    samples: dict[str, list[float]] = {name: [] for name in impls}
    for r in range(reps):  # round robin: every implementation sees the same JIT and machine load
        for name, fn in impls.items():
            samples[name].append(n / fn(x, 42 + r))
    rates = {name: float(np.median(v)) for name, v in samples.items()}
    base = rates["raw jars (JPype loop, baseline)"]
    print(f"{'implementation':45s} {'pts/s':>9s} {'vs raw jars':>12s}")
    for name, rate in rates.items():
        print(f"{name:45s} {rate:9.0f} {rate / base:11.2f}x")


if __name__ == "__main__":
    main()
