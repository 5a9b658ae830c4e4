"""Points/s counted from process start: one fresh ``python -c`` per measurement, native engine against the jars.

Each measurement is a new interpreter that imports the engine, builds it and scores a seeded stream, so its wall
time holds python start, imports, JVM start (jars) or the numba cache load or compile (native) and the scoring.
The native engine runs with ``NUMBA_CACHE_DIR`` pointing at a folder of the caller's: an empty one is a cold start
(first run of a fresh clone: everything compiles and the cache is written), one that a cold run filled is warm.
Both engines use the AD real-time profile with the bounding-box cache at 1.0 (identical results to 0, faster).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Runs in the child: every import is inside it, so the child pays for all of them.
_CHILD = """
import json, sys, time
t0 = time.perf_counter()
from dataclasses import replace
from offline_rcf.engine import ad_profile
from offline_rcf.native.compare import poisson_stream
engine, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if engine == "jvm":
    from offline_rcf.jvm import JVMEngine as Engine
else:
    from offline_rcf.native import NativeEngine as Engine
stream = poisson_stream(n, seed=seed)
e = Engine(replace(ad_profile(5, seed=seed), bbox_cache_fraction=1.0))
t1 = time.perf_counter()
e.process(stream.X[0], int(stream.ts[0]))
e.process(stream.X[1], int(stream.ts[1]))
for i in range(2, 40):  # first scores (forest ready at 25): every kernel has been loaded or compiled
    e.process(stream.X[i], int(stream.ts[i]))
t2 = time.perf_counter()
flagged = 0
for i in range(40, n):
    flagged += e.process(stream.X[i], int(stream.ts[i])).grade > 0
t3 = time.perf_counter()
print(json.dumps({"imports_s": t1 - t0, "first_40_s": t2 - t1, "rest_s": t3 - t2, "flagged": flagged}))
"""


@dataclass(frozen=True)
class StartRun:
    """One fresh-process measurement."""

    wall_s: float  # from before the interpreter starts to its exit
    imports_s: float
    first_40_s: float  # engine ready: JVM classes, or numba kernels loaded/compiled, plus 40 points
    rest_s: float
    points: int

    @property
    def points_per_s(self) -> float:
        return self.points / self.wall_s


def run_once(engine: str, n: int, seed: int, numba_cache: Path | None = None) -> StartRun:
    """Score ``n`` points of ``poisson_stream(n, seed)`` in a new interpreter; raise with its stderr on failure."""
    env = dict(os.environ)
    env.pop("NUMBA_DISABLE_JIT", None)
    if numba_cache is not None:
        env["NUMBA_CACHE_DIR"] = str(numba_cache)
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, engine, str(n), str(seed)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} child failed: {proc.stderr.strip().splitlines()[-1:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return StartRun(wall, out["imports_s"], out["first_40_s"], out["rest_s"], n)


@dataclass(frozen=True)
class Spread:
    """Median and range of one statistic over the repeats."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values))

    def fmt(self, spec: str = ".1f", unit: str = "") -> str:
        return f"{self.median:{spec}}{unit} (min {self.low:{spec}}, max {self.high:{spec}})"


def measure(n: int, repeats: int, seed: int = 7) -> dict[str, list[StartRun]]:
    """``repeats`` rounds of (jars, native cold, native warm), interleaved so that load changes hit all three."""
    runs: dict[str, list[StartRun]] = {"jars": [], "native cold": [], "native warm": []}
    for r in range(repeats):
        with tempfile.TemporaryDirectory(prefix="wafad-numba-") as cache:
            runs["jars"].append(run_once("jvm", n, seed + r))
            runs["native cold"].append(run_once("native", n, seed + r, Path(cache)))
            runs["native warm"].append(run_once("native", n, seed + r, Path(cache)))
    return runs


def report(runs: dict[str, list[StartRun]]) -> list[str]:
    """Lines: points/s per engine, then each native ratio to the jars of the same round (median, min, max)."""
    lines = []
    for name, rs in runs.items():
        pps = Spread.of([r.points_per_s for r in rs])
        ready = Spread.of([r.imports_s + r.first_40_s for r in rs])
        lines.append(
            f"  {name:<12} {pps.fmt('7.0f', ' pts/s')}   process {Spread.of([r.wall_s for r in rs]).fmt('.2f', ' s')}"
            f"   ready after {ready.fmt('.2f', ' s')}"
        )
    jars = runs["jars"]
    for name in ("native cold", "native warm"):
        ratios = [j.wall_s / r.wall_s for j, r in zip(jars, runs[name], strict=True)]
        lines.append(f"  {name} / jars = {Spread.of(ratios).fmt('.1f', 'x')}")
    return lines
