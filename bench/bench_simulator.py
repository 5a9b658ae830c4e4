"""Simulator speed and memory: ``python -m bench simulator``.

Speed (one core, one run): the simulator writes N full-schema WAF records as gzip JSON lines (a backfill into a
temp folder); then the seed's per-record approach writes the same N records: per record ``random.choices`` per
field (same weights), the fields set on a record, ``json.dumps`` and a write to a gzip file (:class:`SeedApproach`).
It runs in three forms:

* ``full`` variety, stdlib gzip (the headline): every field the simulator varies is drawn per record (rule
  outcome, source id/host, client IP, headers, URI/args, HTTP version, request id, plus the seed's five fields),
  so both sides write records of the same variety; gzip at the standard library's default level, as
  ``gzip.open`` gives;
* ``full`` variety with the simulator's own compressor (ISA-L level 1): the ratio without the compressor choice;
* ``seed`` variety, stdlib gzip: only what the seed varied (action, httpSourceName, httpStatus, country,
  httpMethod, timestamp) on one template record: near-identical records that gzip squeezes to a few bytes.

Times are CPU seconds of this process (``time.process_time``), pinned to one core, so other load on the machine
skews the ratio less; the sides run interleaved and the best run of each counts. Target: >= 20x.

Memory: a child process runs a backfill of M records and reports its peak RSS (``VmHWM``; ``ru_maxrss`` would
include the parent's peak, which survives the fork), for two sizes, to show memory does not grow with the run
(target: 10 million records under 500 MB; ``WAFAD_BENCH_SIM_FULL=1`` also runs the full 10 million).

Sizes: ``WAFAD_BENCH_SIM_N`` (default 150000), ``WAFAD_BENCH_SIM_MEM`` (default 2000000), runs of each side
``WAFAD_BENCH_SIM_REPS`` (default 2).
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


def _sim_records(sim_out: Path, limit: int = 20000) -> list[dict]:
    out: list[dict] = []
    for path in sorted(sim_out.rglob("*.log.gz")):
        out += [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]
        if len(out) >= limit:
            break
    return out


_RULE_KEYS = (
    "terminatingRuleId",
    "terminatingRuleType",
    "terminatingRuleMatchDetails",
    "ruleGroupList",
    "rateBasedRuleList",
    "nonTerminatingMatchingRules",
    "requestHeadersInserted",
    "responseCodeSent",
)
_TAIL_KEYS = ("labels", "captchaResponse", "challengeResponse")


class SeedApproach:
    """The seed's generator (``random.choices`` per field, ``json.dumps`` per record) for full-schema records.

    ``variety="seed"`` varies what the seed varied (action, httpSourceName, httpStatus, country, httpMethod and
    the timestamp) on one template record; ``variety="full"`` also draws every other field the simulator varies
    (rule outcome, source id and host, client IP, headers, URI and args, HTTP version, request id) from the
    simulator's own values, so both sides write records of the same variety (and gzip sees the same entropy).
    """

    def __init__(self, sim_records: list[dict], variety: str) -> None:
        from simulator.profile import FIELDS

        self.variety = variety
        self.template = next(
            r for r in sim_records if r["terminatingRuleId"] == "Default_Action" and r["httpSourceName"] == "ALB"
        )
        self.pops = {}
        for name, prof in FIELDS.items():
            gw, bw = sum(w for _, w in prof.good), sum(w for _, w in prof.bad)
            values = [v for v, _ in prof.good] + [v for v, _ in prof.bad]
            weights = [w / gw * (1 - prof.bad_rate) for _, w in prof.good] + [
                w / bw * prof.bad_rate for _, w in prof.bad
            ]
            self.pops[name] = (values, weights)
        self.outcomes: dict[str, list[tuple[dict, dict]]] = {}
        for r in sim_records:
            rule = {k: r[k] for k in _RULE_KEYS}
            tail = {k: r[k] for k in _TAIL_KEYS if k in r}
            self.outcomes.setdefault(r["action"], []).append((rule, tail))
        sources = {r["httpSourceName"]: (r["httpSourceId"], r["httpRequest"]["host"]) for r in sim_records}
        self.source_ids = {name: sources.get(name, ("-", "localhost")) for name in self.pops["httpSourceName"][0]}
        self.ips = sorted({r["httpRequest"]["clientIp"] for r in sim_records})
        self.headers = [r["httpRequest"]["headers"] for r in sim_records[:500]]
        self.uris = sorted({(r["httpRequest"]["uri"], r["httpRequest"]["args"]) for r in sim_records})
        self.versions = ["HTTP/1.1", "HTTP/2.0", "HTTP/1.0"]
        self.alphabet = "0123456789abcdef"

    def run(self, n: int, out: Path, compressor: str) -> tuple[float, int]:
        from simulator.writer import gzip_compressor

        rng = random.Random(1)
        pops, choices = self.pops, rng.choices
        log = copy.deepcopy(self.template)
        ts0 = int(START.timestamp() * 1000)
        full = self.variety == "full"
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
                action = choices(*pops["action"], k=1)[0]
                source = choices(*pops["httpSourceName"], k=1)[0]
                status = choices(*pops["httpStatus"], k=1)[0]
                country = choices(*pops["country"], k=1)[0]
                method = choices(*pops["httpMethod"], k=1)[0]
                if full:
                    rule, tail = choices(self.outcomes[action], k=1)[0]
                    source_id, host = self.source_ids[source]
                    uri, args = choices(self.uris, k=1)[0]
                    req = {
                        "clientIp": choices(self.ips, k=1)[0], "country": country,
                        "headers": choices(self.headers, k=1)[0], "uri": uri, "args": args,
                        "httpVersion": choices(self.versions, k=1)[0], "httpMethod": method,
                        "requestId": "".join(choices(self.alphabet, k=24)), "fragment": "", "scheme": "https",
                        "host": host,
                    }  # fmt: skip
                    log = {"timestamp": ts0 + i * 13, "formatVersion": 1, "webaclId": self.template["webaclId"],
                           "terminatingRuleId": rule["terminatingRuleId"],
                           "terminatingRuleType": rule["terminatingRuleType"], "action": action,
                           "terminatingRuleMatchDetails": rule["terminatingRuleMatchDetails"],
                           "httpSourceName": source, "httpSourceId": source_id,
                           **{k: rule[k] for k in _RULE_KEYS[3:]}, "httpRequest": req, **tail,
                           "httpStatus": status}  # fmt: skip
                else:
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


BASELINES = (("seed", "stdlib-gzip"), ("full", "stdlib-gzip"), ("full", "isal-level-1"))
HEADLINE = ("full", "stdlib-gzip")


def main() -> None:
    from simulator.backfill import world_and_renderer

    _pin_one_core()
    n = int(os.environ.get("WAFAD_BENCH_SIM_N", "150000"))
    reps = max(1, int(os.environ.get("WAFAD_BENCH_SIM_REPS", "2")))
    sim_runs: list[float] = []
    base_runs: dict[tuple[str, str], list[float]] = {b: [] for b in BASELINES}
    base_bytes: dict[tuple[str, str], int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        for rep in range(reps):  # interleaved, so both sides see the same machine load; best run of each counts
            world_and_renderer.cache_clear()  # every simulator run is cold: world and tables built again
            records, sim_s, sim_bytes = run_simulator(n, tmp_path / f"sim{rep}")
            sim_runs.append(sim_s)
            sample = _sim_records(tmp_path / f"sim{rep}")
            for variety, comp in BASELINES:
                seed = SeedApproach(sample, variety)
                secs, size = seed.run(records, tmp_path / f"seed-{variety}-{comp}.log.gz", comp)
                base_runs[(variety, comp)].append(secs)
                base_bytes[(variety, comp)] = size
    sim_rate = records / min(sim_runs)
    print(f"records per run: {records:,} full-schema WAF records, gzip JSON lines; CPU seconds, best of {reps}")
    print(f"simulator                        : {_runs(sim_runs)} = {sim_rate:,.0f} rec/s, "
          f"{sim_bytes / records:.0f} B/rec gz")  # fmt: skip
    ratios = {}
    for key, runs in base_runs.items():
        base_rate = records / min(runs)
        ratios[key] = sim_rate / base_rate
        label = f"seed approach, {key[0]:4s} variety, {key[1]:12s}"
        print(f"{label}: {_runs(runs)} = {base_rate:,.0f} rec/s, {base_bytes[key] / records:.0f} B/rec gz "
              f"-> ratio {ratios[key]:.1f}x")  # fmt: skip
    verdict = "OK" if ratios[HEADLINE] >= TARGET else "BELOW TARGET"
    print(
        f"speed ratio vs the seed approach (same records, its stdlib gzip): {ratios[HEADLINE]:.1f}x "
        f"(target {TARGET:.0f}x) {verdict}; with the simulator's compressor: {ratios[('full', 'isal-level-1')]:.1f}x; "
        f"seed-variety records: {ratios[('seed', 'stdlib-gzip')]:.1f}x"
    )

    m = int(os.environ.get("WAFAD_BENCH_SIM_MEM", "2000000"))
    sizes = [m // 8, m] + ([10_000_000] if os.environ.get("WAFAD_BENCH_SIM_FULL") == "1" else [])
    for size in sizes:
        recs, rss, secs = peak_rss(size)
        print(f"memory: backfill of {recs:,} records: peak RSS {rss} MB ({secs} s wall)")


def _runs(secs: list[float]) -> str:
    return " / ".join(f"{s:.2f}" for s in secs) + " s"
