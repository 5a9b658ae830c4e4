"""Simulator speed and memory: ``python -m bench simulator``.

Speed (one core, one run): the simulator writes N full-schema WAF records as gzip JSON lines (a backfill into a
temp folder); then the seed's per-record approach writes the same N records: for each record
``random.choices`` per field (action, httpSourceName, httpStatus, country, httpMethod, with the same weights),
the timestamp and ``httpSourceId`` set on a full-schema template (one of the simulator's own records, so the
bytes per record match), ``json.dumps`` and a write to a gzip file. The baseline runs twice: with the standard
library's ``gzip`` at its default level (what the seed approach gets), and with the simulator's own compressor
(ISA-L level 1), so the ratio without the compression choice is visible too. Target: >= 20x.

Times are CPU seconds of this process (``time.process_time``), so other load on the machine does not skew
the ratio; the process is pinned to one core.

Memory: a child process runs a backfill of M records and reports its peak RSS (``VmHWM``; ``ru_maxrss`` would
include the parent's peak, which survives the fork), for two sizes, to
show memory does not grow with the run (target: 10 million records under 500 MB; ``WAFAD_BENCH_SIM_FULL=1``
runs the full 10 million).

Sizes: ``WAFAD_BENCH_SIM_N`` (default 200000), ``WAFAD_BENCH_SIM_MEM`` (default 2000000); runs of each side,
interleaved, best counts: ``WAFAD_BENCH_SIM_REPS`` (default 2).
"""

from __future__ import annotations

import copy
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

TARGET = 20.0
START = datetime(2024, 5, 1, 0, 0, tzinfo=UTC)


def _pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})


def _scenario_for(n: int, seed: int = 1):
    from simulator import Scenario
    from simulator.profile import diurnal

    hours = 1.0
    mean = float(sum(diurnal(START.timestamp() + s) for s in range(0, 3600, 60)) / 60)
    rate = n / (3600 * hours * mean)
    return Scenario(START, timedelta(hours=hours), rate, [], seed=seed)


def run_simulator(n: int, out: Path) -> tuple[int, float, int]:
    from simulator import simulate

    sc = _scenario_for(n)
    t0 = time.process_time()
    summary = simulate(sc, str(out), account="123456789012", region="us-east-1")
    dt = time.process_time() - t0
    size = sum(Path(o).stat().st_size for o in summary.objects)
    return summary.records, dt, size


def _template(sim_out: Path) -> dict:
    first = sorted(sim_out.rglob("*.log.gz"))[0]
    for line in gzip.decompress(first.read_bytes()).splitlines():
        rec = json.loads(line)
        if rec["terminatingRuleId"] == "Default_Action" and rec["httpSourceName"] == "ALB":
            return rec
    raise RuntimeError("no ALLOW/ALB record to use as a template")


def run_seed_approach(n: int, template: dict, out: Path, compressor: str) -> tuple[float, int]:
    """The seed's per-record generator (random.choices per field + json.dumps per record) writing gzip lines."""
    from simulator.profile import FIELDS
    from simulator.writer import gzip_compressor

    def population(name: str):
        prof = FIELDS[name]
        p0 = prof.bad_rate
        values = [v for v, _ in prof.good] + [v for v, _ in prof.bad]
        gw = sum(w for _, w in prof.good)
        bw = sum(w for _, w in prof.bad)
        weights = [w / gw * (1 - p0) for _, w in prof.good] + [w / bw * p0 for _, w in prof.bad]
        return values, weights

    pops = {name: population(name) for name in FIELDS}
    rng = random.Random(1)
    log = copy.deepcopy(template)
    ts0 = int(START.timestamp() * 1000)
    t0 = time.process_time()
    with open(out, "wb") as raw:
        if compressor == "stdlib-gzip":
            sink = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0)  # default level 9, as `gzip.open` gives
            write, close = sink.write, sink.close
        else:
            comp = gzip_compressor()

            def write(data: bytes) -> None:
                raw.write(comp.compress(data))

            def close() -> None:
                raw.write(comp.flush())

        for i in range(n):
            action = rng.choices(*pops["action"], k=1)[0]
            source = rng.choices(*pops["httpSourceName"], k=1)[0]
            status = rng.choices(*pops["httpStatus"], k=1)[0]
            country = rng.choices(*pops["country"], k=1)[0]
            method = rng.choices(*pops["httpMethod"], k=1)[0]
            log["timestamp"] = ts0 + i * 13
            log["action"] = action
            log["httpSourceName"] = source
            log["httpSourceId"] = source.lower()
            log["httpStatus"] = status
            log["httpRequest"]["country"] = country
            log["httpRequest"]["httpMethod"] = method
            write((json.dumps(log) + "\n").encode())  # the seed: json.dumps(self.log)
        close()
    return time.process_time() - t0, out.stat().st_size


_CHILD = """
import resource, sys, tempfile, time
sys.path.insert(0, {root!r})
from bench.bench_simulator import _scenario_for
from simulator import simulate
with tempfile.TemporaryDirectory() as d:
    t = time.perf_counter()
    s = simulate(_scenario_for({n}), d, account="123456789012", region="us-east-1")
    dt = time.perf_counter() - t
hwm = [int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM:")]  # this process's peak
print(s.records, (hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) // 1024, round(dt, 1))
"""


def peak_rss(n: int) -> tuple[int, int, float]:
    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run(
        [sys.executable, "-c", _CHILD.format(root=root, n=n)], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[0]), int(out[1]), float(out[2])


def main() -> None:
    from simulator.backfill import world_and_renderer

    _pin_one_core()
    n = int(os.environ.get("WAFAD_BENCH_SIM_N", "200000"))
    reps = max(1, int(os.environ.get("WAFAD_BENCH_SIM_REPS", "2")))
    sim_runs: list[float] = []
    base_runs: dict[str, list[float]] = {"stdlib-gzip": [], "isal-level-1": []}
    base_bytes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        for rep in range(reps):  # interleaved, so both sides see the same machine load; best run of each counts
            world_and_renderer.cache_clear()  # every simulator run is cold: world and tables built again
            records, sim_s, sim_bytes = run_simulator(n, tmp_path / f"sim{rep}")
            sim_runs.append(sim_s)
            template = _template(tmp_path / f"sim{rep}")
            for comp in base_runs:
                secs, size = run_seed_approach(records, template, tmp_path / f"seed-{comp}.log.gz", comp)
                base_runs[comp].append(secs)
                base_bytes[comp] = size
    sim_rate = records / min(sim_runs)
    print(f"records per run: {records:,} full-schema WAF records, gzip JSON lines; CPU seconds, best of {reps}")
    print(
        f"simulator                   : {_runs(sim_runs)} = {sim_rate:,.0f} rec/s, {sim_bytes / records:.0f} B/rec gz"
    )
    ratios = {}
    for comp, runs in base_runs.items():
        base_rate = records / min(runs)
        ratios[comp] = sim_rate / base_rate
        print(
            f"seed approach ({comp:12s}): {_runs(runs)} = {base_rate:,.0f} rec/s, "
            f"{base_bytes[comp] / records:.0f} B/rec gz -> ratio {ratios[comp]:.1f}x"
        )
    verdict = "OK" if ratios["stdlib-gzip"] >= TARGET else "BELOW TARGET"
    print(f"speed ratio vs the seed approach: {ratios['stdlib-gzip']:.1f}x (target {TARGET:.0f}x) {verdict}; "
          f"with the same compressor as the simulator: {ratios['isal-level-1']:.1f}x")  # fmt: skip

    m = int(os.environ.get("WAFAD_BENCH_SIM_MEM", "2000000"))
    sizes = [m // 8, m] + ([10_000_000] if os.environ.get("WAFAD_BENCH_SIM_FULL") == "1" else [])
    for size in sizes:
        recs, rss, secs = peak_rss(size)
        print(f"memory: backfill of {recs:,} records: peak RSS {rss} MB ({secs} s wall)")


def _runs(secs: list[float]) -> str:
    return " / ".join(f"{s:.2f}" for s in secs) + " s"
