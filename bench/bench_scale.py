"""``python -m bench scale``: parallel speed-up of an HC workload, and native-engine points/s from process start.

(a) The same high-cardinality workload (``WAFAD_BENCH_SCALE_ENTITIES`` entities x ``WAFAD_BENCH_SCALE_INTERVALS``
    intervals, default 60 x 1,440, the ``waf-country-hc`` config; see :mod:`bench.hc_workload`) run as a Prefect
    flow with ``flows.runners.task_runner`` on a one-worker and on an all-cores ``LocalCluster``
    (``WAFAD_BENCH_SCALE_WORKERS`` overrides the count). Wall time of each flow run includes starting its cluster;
    the ratio is 1-worker time over N-worker time, and both runs must give the same per-entity results.
(b) Points/s counted from process start (:mod:`bench.cold_start`): a fresh interpreter per measurement scoring
    ``WAFAD_BENCH_SCALE_POINTS`` (1,500) points, the jars (JVM start included) against the native engine with an
    empty numba cache (cold) and with the cache that cold run wrote (warm), ``WAFAD_BENCH_SCALE_REPEATS`` (3)
    interleaved rounds. The statistic is the median over rounds of each round's ratio, with its min and max.

``WAFAD_BENCH_SCALE_PARTS=a`` or ``b`` runs one part only.
"""

from __future__ import annotations

import os
import time

from bench.cold_start import measure, report
from bench.hc_workload import run_flow, start_prefect

TARGET_RATIO = 10.0


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise SystemExit(f"{name} must be at least 1, got {value}")
    return value


def parallel_part() -> None:
    from flows.prefect_server import prefect_environment
    from wafad.settings import Settings

    entities = _env_int("WAFAD_BENCH_SCALE_ENTITIES", 60)
    intervals = _env_int("WAFAD_BENCH_SCALE_INTERVALS", 1440)
    # always a LocalCluster sized here: a remote scheduler (WAFAD_DASK_ADDRESS) cannot be run at 1 and N workers
    settings = Settings().model_copy(update={"task_runner": "dask", "dask_address": None})
    cores = os.cpu_count() or 1
    workers = _env_int("WAFAD_BENCH_SCALE_WORKERS", cores)
    chunk = _env_int("WAFAD_BENCH_SCALE_CHUNK", max(1, entities // (4 * workers)))
    where = prefect_environment(settings, allow_ephemeral=True)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # no line per task run
    from flows.runners import task_runner

    start_prefect()

    print(f"(a) HC workload: {entities} entities x {intervals} intervals ({entities * intervals:,} points), "
          f"tasks of {chunk} entities, native engine, {where}")  # fmt: skip
    timings, results = {}, {}
    for n in (1, workers):
        t = time.perf_counter()
        results[n] = run_flow(entities, intervals, chunk, task_runner(settings, workers=n))
        timings[n] = time.perf_counter() - t
        print(f"  {n} worker(s): {timings[n]:6.1f} s   {entities * intervals / timings[n]:8.0f} pts/s", flush=True)
    same = results[1] == results[workers]
    print(f"  speed-up {workers} workers / 1 worker = {timings[1] / timings[workers]:.2f}x on {cores} cores "
          f"(LocalCluster start included); same results: {'yes' if same else 'NO'}")  # fmt: skip
    if not same:
        raise SystemExit("the parallel run's results differ from the one-worker run's")


def start_part() -> None:
    n = _env_int("WAFAD_BENCH_SCALE_POINTS", 1500)
    repeats = _env_int("WAFAD_BENCH_SCALE_REPEATS", 3)
    load = os.getloadavg()[0]
    print(f"(b) points/s from process start: {n} points, ad_profile(5) with bbox cache 1.0, {repeats} rounds of "
          f"(jars, native cold cache, native warm cache), each a fresh interpreter; load {load:.1f}")  # fmt: skip
    runs = measure(n, repeats)
    for line in report(runs):
        print(line)
    print(f"  target: native (warm) >= {TARGET_RATIO:.0f}x the jars from process start")


def main() -> None:
    parts = os.environ.get("WAFAD_BENCH_SCALE_PARTS", "ab")
    if not parts or set(parts) - {"a", "b"}:
        raise SystemExit(f"WAFAD_BENCH_SCALE_PARTS must be a, b or ab, got {parts!r}")
    if "a" in parts:
        parallel_part()
    if "b" in parts:
        start_part()


if __name__ == "__main__":
    main()
