"""Forest traversals in numba: anomaly score, attribution (DiVector), imputation and near neighbours.

- :func:`forest_score` mirrors ``AnomalyScoreVisitor`` (``CommonUtils`` seen/unseen/damp functions and the
  ``log2(mass + 1)`` normaliser), averaged over trees (``RandomCutForest.getAnomalyScore``).
- :func:`forest_attribution` mirrors ``AnomalyAttributionVisitor`` (high/low per dimension; sums to the score).
- :func:`forest_impute` mirrors ``ImputeVisitor`` with centrality 1 (both branches at cuts on missing
  dimensions, the lower anomaly rank wins), combined by a weighted coordinate median
  (``RandomCutForest.imputeMissingValues``).
- :func:`forest_neighbors` mirrors ``NearNeighborVisitor``: the leaf each tree's traversal reaches.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

LOG2 = math.log(2.0)


@njit(cache=True)
def _score_seen(depth: float, mass: float) -> float:
    return 1.0 / (depth + math.log(mass + 1.0) / LOG2)


@njit(cache=True)
def _score_unseen(depth: float) -> float:
    return 1.0 / (depth + 1.0)


@njit(cache=True)
def _separation(t, node, point, bmin, bmax) -> float:
    """``CommonUtils.getProbabilityOfSeparation`` of ``point`` from the box of internal ``node``."""
    new_range = np.float32(0.0)
    diff = np.float32(0.0)
    for i in range(point.shape[0]):
        mx = bmax[t, node, i]
        mn = bmin[t, node, i]
        p = point[i]
        above = max(p - mx, np.float32(0.0))
        below = max(mn - p, np.float32(0.0))
        diff += above + below
        new_range += (mx - mn) + above + below
    if new_range <= 0:
        return 0.0
    return float(diff) / float(new_range)


@njit(cache=True)
def _descend(t, point, root, left, right, cdim, cval, cap, path) -> int:
    node = root[t]
    depth = 0
    while node < cap:
        path[depth] = node
        depth += 1
        node = left[t, node] if point[cdim[t, node]] <= cval[t, node] else right[t, node]
    path[depth] = node
    return depth


@njit(cache=True)
def tree_score(t, point, root, left, right, cdim, cval, nmass, bmin, bmax, lpt, lmass, path) -> float:
    cap = lpt.shape[1]
    r = root[t]
    total = nmass[t, r] if r < cap else lmass[t, r - cap]
    depth = _descend(t, point, root, left, right, cdim, cval, cap, path)
    slot = path[depth] - cap
    same = True
    for i in range(point.shape[0]):
        if lpt[t, slot, i] != point[i]:
            same = False
            break
    lm = lmass[t, slot]
    if same:
        score = (1.0 - lm / (2.0 * total)) * _score_seen(depth, lm)
    else:
        score = _score_unseen(depth)
        for k in range(depth - 1, -1, -1):
            prob = _separation(t, path[k], point, bmin, bmax)
            if prob <= 0:
                break
            score = prob * _score_unseen(k) + (1.0 - prob) * score
    return score * math.log(total + 1.0) / LOG2


@njit(cache=True)
def forest_score(point, root, left, right, cdim, cval, nmass, bmin, bmax, lpt, lmass) -> float:
    n = root.shape[0]
    path = np.empty(lpt.shape[1] + 1, dtype=np.int32)
    s = 0.0
    for t in range(n):
        s += tree_score(t, point, root, left, right, cdim, cval, nmass, bmin, bmax, lpt, lmass, path)
    return s / n


@njit(cache=True)
def tree_attribution(t, point, root, left, right, cdim, cval, nmass, bmin, bmax, lpt, lmass, path, high, low):
    """Adds this tree's (normalised) attribution to ``high``/``low``."""
    cap = lpt.shape[1]
    d = point.shape[0]
    r = root[t]
    total = nmass[t, r] if r < cap else lmass[t, r - cap]
    depth = _descend(t, point, root, left, right, cdim, cval, cap, path)
    slot = path[depth] - cap
    hi = np.zeros(d)
    lo = np.zeros(d)
    inside = np.zeros(d, dtype=np.bool_)
    new_range = 0.0
    for i in range(d):
        new_range += abs(float(point[i]) - float(lpt[t, slot, i]))
    lm = lmass[t, slot]
    if new_range <= 0:  # duplicate of a sampled point: equal split of the damped score
        saved = (1.0 - lm / (2.0 * total)) * _score_seen(depth, lm)
        for i in range(d):
            hi[i] = saved / (2 * d)
            lo[i] = saved / (2 * d)
    else:
        saved = _score_unseen(depth)
        for i in range(d):
            g = float(point[i]) - float(lpt[t, slot, i])
            if g > 0:
                hi[i] = saved * g / new_range
            elif g < 0:
                lo[i] = saved * -g / new_range
            else:
                inside[i] = True
        for k in range(depth - 1, -1, -1):
            node = path[k]
            new_range = 0.0
            diff = 0.0
            dh = np.zeros(d)
            dl = np.zeros(d)
            for i in range(d):
                mx = float(bmax[t, node, i])
                mn = float(bmin[t, node, i])
                p = float(point[i])
                new_range += max(mx, p) - min(mn, p)
                if inside[i]:
                    continue
                gh = max(p - mx, 0.0)
                gl = max(mn - p, 0.0)
                if gh + gl > 0:
                    diff += gh + gl
                    dh[i] = gh
                    dl[i] = gl
                else:
                    inside[i] = True
            prob = diff / new_range
            if prob <= 0:
                break
            su = _score_unseen(k)
            for i in range(d):
                hi[i] = dh[i] / new_range * su + (1.0 - prob) * hi[i]
                lo[i] = dl[i] / new_range * su + (1.0 - prob) * lo[i]
    norm = math.log(total + 1.0) / LOG2
    for i in range(d):
        high[i] += hi[i] * norm
        low[i] += lo[i] * norm


@njit(cache=True)
def forest_attribution(point, root, left, right, cdim, cval, nmass, bmin, bmax, lpt, lmass):
    n = root.shape[0]
    d = point.shape[0]
    path = np.empty(lpt.shape[1] + 1, dtype=np.int32)
    high = np.zeros(d)
    low = np.zeros(d)
    for t in range(n):
        tree_attribution(t, point, root, left, right, cdim, cval, nmass, bmin, bmax, lpt, lmass, path, high, low)
    return high / n, low / n


@njit(cache=True)
def tree_impute(t, point, missing, root, left, right, cdim, cval, bmin, bmax, lpt, lmass, order, depths, pos, q):
    """One tree's ``ImputeVisitor`` result: (leaf slot whose values fill the missing coordinates, distance).

    The multi-visitor traversal (both children at cuts on missing dimensions) is done iteratively: collect the
    visited nodes in pre-order, then resolve them in reverse, keeping the child with the lower anomaly rank.
    """
    cap = lpt.shape[1]
    d = point.shape[0]
    n = 0
    top = 0
    order[0] = root[t]
    depths[0] = 0
    stack_nodes = np.empty(2 * cap, dtype=np.int32)
    stack_depth = np.empty(2 * cap, dtype=np.int32)
    stack_nodes[0] = root[t]
    stack_depth[0] = 0
    top = 1
    while top > 0:
        top -= 1
        node = stack_nodes[top]
        dep = stack_depth[top]
        order[n] = node
        depths[n] = dep
        pos[node] = n
        n += 1
        if node < cap:
            dim = cdim[t, node]
            if missing[dim]:
                stack_nodes[top] = right[t, node]
                stack_depth[top] = dep + 1
                stack_nodes[top + 1] = left[t, node]
                stack_depth[top + 1] = dep + 1
                top += 2
            else:
                stack_nodes[top] = left[t, node] if point[dim] <= cval[t, node] else right[t, node]
                stack_depth[top] = dep + 1
                top += 1
    rank = np.empty(n)
    dist = np.empty(n)
    slot_of = np.empty(n, dtype=np.int32)
    for k in range(n - 1, -1, -1):
        node = order[k]
        dep = depths[k]
        if node >= cap:
            slot = node - cap
            dd = 0.0
            for i in range(d):
                if not missing[i]:
                    dd += abs(float(point[i]) - float(lpt[t, slot, i]))
            if dd <= 0:
                rank[k] = 0.0 if dep == 0 else _score_seen(dep, lmass[t, slot])
            else:
                rank[k] = _score_unseen(dep)
            dist[k] = dd
            slot_of[k] = slot
            continue
        dim = cdim[t, node]
        if missing[dim]:
            a = pos[left[t, node]]
            b = pos[right[t, node]]
            c = b if rank[b] < rank[a] else a
        else:
            c = pos[left[t, node]] if point[dim] <= cval[t, node] else pos[right[t, node]]
        slot = slot_of[c]
        for i in range(d):
            q[i] = lpt[t, slot, i] if missing[i] else point[i]
        r = rank[c]
        prob = _separation(t, node, q, bmin, bmax)
        if prob > 0:
            r = prob * _score_unseen(dep) + (1.0 - prob) * r
        rank[k] = r
        dist[k] = dist[c]
        slot_of[k] = slot
    return slot_of[0], dist[0]


@njit(cache=True)
def forest_impute(point, missing, root, left, right, cdim, cval, nmass, bmin, bmax, lpt, lmass):
    """Per-tree imputed points (rows) and their distances; the caller combines them (weighted median)."""
    n = root.shape[0]
    cap = lpt.shape[1]
    d = point.shape[0]
    out = np.empty((n, d), dtype=np.float32)
    dist = np.empty(n)
    order = np.empty(2 * cap, dtype=np.int32)
    depths = np.empty(2 * cap, dtype=np.int32)
    pos = np.empty(2 * cap, dtype=np.int32)
    q = np.empty(d, dtype=np.float32)
    for t in range(n):
        slot, dd = tree_impute(t, point, missing, root, left, right, cdim, cval, bmin, bmax, lpt, lmass, order,
                               depths, pos, q)  # fmt: skip
        for i in range(d):
            out[t, i] = lpt[t, slot, i] if missing[i] else point[i]
        dist[t] = dd
    return out, dist


@njit(cache=True)
def forest_neighbors(point, root, left, right, cdim, cval, lpt, lmass):
    """Leaf point reached in each tree and its Euclidean distance to ``point``."""
    n = root.shape[0]
    cap = lpt.shape[1]
    path = np.empty(cap + 1, dtype=np.int32)
    pts = np.empty((n, point.shape[0]), dtype=np.float32)
    dist = np.empty(n)
    for t in range(n):
        depth = _descend(t, point, root, left, right, cdim, cval, cap, path)
        slot = path[depth] - cap
        s = 0.0
        for i in range(point.shape[0]):
            g = float(point[i]) - float(lpt[t, slot, i])
            s += g * g
        pts[t] = lpt[t, slot]
        dist[t] = math.sqrt(s)
    return pts, dist
