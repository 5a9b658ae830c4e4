"""Native engine behaviour on its own: tree invariants, state round trip, input checks, AD result fields."""

from __future__ import annotations

import numpy as np
import pytest

from offline_rcf.engine import ad_profile
from offline_rcf.native import NativeEngine
from offline_rcf.native.compare import poisson_stream, run
from offline_rcf.native.forest import Forest


def _subtree_box(f: Forest, t: int, node: int) -> tuple[np.ndarray, np.ndarray, int]:
    cap = f.sample_size
    if node >= cap:
        p = f.lpt[t, node - cap]
        return p, p, int(f.lmass[t, node - cap])
    lmin, lmax, lm = _subtree_box(f, t, int(f.left[t, node]))
    rmin, rmax, rm = _subtree_box(f, t, int(f.right[t, node]))
    dim, cut = int(f.cdim[t, node]), f.cval[t, node]
    assert lmax[dim] <= cut < rmin[dim], "cut does not separate the children"
    bmin, bmax = np.minimum(lmin, rmin), np.maximum(lmax, rmax)
    np.testing.assert_array_equal(f.bmin[t, node], bmin)
    np.testing.assert_array_equal(f.bmax[t, node], bmax)
    assert f.nmass[t, node] == lm + rm
    return bmin, bmax, lm + rm


def test_trees_keep_exact_boxes_masses_and_samples():
    rng = np.random.default_rng(1)
    f = Forest(dimensions=6, shingle_size=1, num_trees=5, sample_size=32, time_decay=0.01, output_after=1, seed=3)
    X = rng.normal(size=(600, 6)).astype(np.float32)
    X[::7] = X[3]  # duplicates exercise leaf masses
    for x in X:
        f.update(x)
    for t in range(f.num_trees):
        _, _, mass = _subtree_box(f, t, int(f.root[t]))
        assert mass == f.ssize[t] == f.sample_size
        assert f.lmass[t].sum() == f.sample_size
        sampled = {f.lpt[t, s].tobytes() for s in f.sslot[t, : f.ssize[t]]}
        leaves = {f.lpt[t, s].tobytes() for s in np.flatnonzero(f.lmass[t])}
        assert sampled == leaves
        w = f.sw[t, : f.ssize[t]]
        assert all(w[i] >= w[c] for i in range(len(w)) for c in (2 * i + 1, 2 * i + 2) if c < len(w))  # max-heap


def test_recent_points_dominate_the_sample():
    f = Forest(dimensions=2, shingle_size=1, num_trees=4, sample_size=64, time_decay=0.01, output_after=1, seed=0)
    for i in range(2000):
        f.update(np.array([i, 0], dtype=np.float32))
    ages = 2000 - f.lpt[:, :, 0][f.lmass > 0]
    assert np.median(ages) < 200  # time decay 0.01: weights favour the last few hundred points


def test_attribution_sums_to_score_and_isolated_point_scores_high():
    rng = np.random.default_rng(2)
    f = Forest(dimensions=4, shingle_size=1, num_trees=20, sample_size=64, output_after=1, seed=1)
    for x in rng.normal(size=(500, 4)).astype(np.float32):
        f.update(x)
    outlier = np.array([0, 0, 9, 0], dtype=np.float32)
    high, low = f.attribution(outlier)
    assert high.sum() + low.sum() == pytest.approx(f.score(outlier), rel=1e-6)
    assert np.argmax(high + low) == 2 and high[2] > low[2]
    assert f.score(outlier) > 2 * f.score(np.zeros(4, dtype=np.float32))


def test_state_round_trip_continues_identically():
    stream = poisson_stream(1000, seed=5)
    first = NativeEngine(ad_profile(5, seed=9))
    for i in range(600):
        first.process(stream.X[i], int(stream.ts[i]))
    copy = NativeEngine.from_state(first.state())
    for i in range(600, 1000):
        assert first.process(stream.X[i], int(stream.ts[i])) == copy.process(stream.X[i], int(stream.ts[i]))


def test_state_round_trip_during_the_initial_segment():
    stream = poisson_stream(60, seed=5)
    first = NativeEngine(ad_profile(5, seed=9))
    for i in range(4):
        first.process(stream.X[i], int(stream.ts[i]))
    copy = NativeEngine.from_state(first.state())
    for i in range(4, 60):
        assert first.process(stream.X[i], int(stream.ts[i])) == copy.process(stream.X[i], int(stream.ts[i]))


def test_same_seed_same_results_other_seed_differs():
    stream = poisson_stream(400, seed=1)
    a = run(NativeEngine(ad_profile(5, seed=1)), stream)
    b = run(NativeEngine(ad_profile(5, seed=1)), stream)
    c = run(NativeEngine(ad_profile(5, seed=2)), stream)
    assert a == b
    assert [r.score for r in a] != [r.score for r in c]


def test_result_fields_on_flagged_intervals():
    stream = poisson_stream(1500, seed=7)
    results = run(NativeEngine(ad_profile(5, seed=7)), stream)
    flagged = [(i, r) for i, r in enumerate(results) if r.grade > 0]
    assert flagged
    named = 0
    for i, r in flagged:
        assert r.attribution is not None and sum(r.attribution) == pytest.approx(1.0)
        assert r.past_values is not None and len(r.past_values) == 5
        assert -8 < r.relative_index <= 0
        window = [w for w in stream.windows if w[0] <= i < w[1] + 8]
        named += bool(window) and int(np.argmax(r.attribution)) == window[0][2]
    assert named >= 0.8 * len(flagged)  # attribution names the injected feature
    assert all(r.attribution is None for r in results if r.grade == 0)


def test_bad_input_is_rejected():
    e = NativeEngine(ad_profile(3))
    with pytest.raises(ValueError, match="3 values"):
        e.process([1.0, 2.0], 60)
    with pytest.raises(ValueError, match="every feature is missing"):
        e.process([np.nan, np.nan, np.nan], 60)
    with pytest.raises(ValueError, match="out of range"):
        e.process([1.0, 2.0, 3.0], 60, missing=[3])
    e.process([1.0, 2.0, 3.0], 120)
    with pytest.raises(ValueError, match="increase"):
        e.process([1.0, 2.0, 3.0], 120)
    with pytest.raises(ValueError, match="native TRCF state"):
        NativeEngine.from_state(b"not a state")


def test_import_is_light():
    """``import offline_rcf.native`` must not load numba (compiled on first use) nor the JVM."""
    import subprocess
    import sys

    code = "import sys, offline_rcf.native; print('numba' in sys.modules, 'jpype' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


_CACHE_PROBE = """
import json, sys
import numpy as np
from numba.core.registry import CPUDispatcher
from offline_rcf.engine import ad_profile
from offline_rcf.native import NativeEngine
from offline_rcf.native.compare import poisson_stream, run
import offline_rcf.native.forest, offline_rcf.native.scoring, offline_rcf.native.transform, offline_rcf.native.tree
results = run(NativeEngine(ad_profile(5, seed=3)), poisson_stream(500, seed=3))
kernels = [v for m in list(sys.modules.values()) if getattr(m, "__name__", "").startswith("offline_rcf.native")
           for v in vars(m).values() if isinstance(v, CPUDispatcher)]
print(json.dumps({"hits": sum(sum(k.stats.cache_hits.values()) for k in kernels),
                  "misses": sum(sum(k.stats.cache_misses.values()) for k in kernels),
                  "scores": [r.score for r in results], "flagged": sum(r.grade > 0 for r in results)}))
"""


def test_kernels_compile_once_into_the_cache_then_load_from_it(tmp_path):
    """A first run (fresh clone, empty cache) compiles and writes the cache; the next process only loads it."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    env.pop("NUMBA_DISABLE_JIT", None)

    def probe() -> dict:
        out = subprocess.run([sys.executable, "-c", _CACHE_PROBE], env=env, capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    cold = probe()
    written = list(tmp_path.rglob("*.nbi"))
    warm = probe()
    assert cold["misses"] > 0 and len(written) >= 10  # compiled, and the index of every kernel written
    assert warm["misses"] == 0 and warm["hits"] > 0  # nothing compiled the second time
    assert cold["flagged"] > 0 and warm["scores"] == cold["scores"]
