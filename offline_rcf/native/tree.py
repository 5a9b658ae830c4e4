"""Random cut trees with exact bounding boxes on every internal node, in numba (mirrors ``tree.RandomCutTree``).

All trees of a forest live in shared arrays indexed by tree ``t``. Internal nodes are ``0 .. C-2``; a leaf is
``C + slot`` where ``slot`` indexes ``lpt`` (the leaf point) and ``lmass`` (duplicate count), ``C`` being the
sample size. Boxes are kept for every internal node, which is the Java tree with ``boundingBoxCacheFraction=1``
(identical results to 0, which only recomputes them).

Insertion is ``RandomCutTree.addPoint``: walk up from the leaf the point reaches, drawing a random cut over the
box of (subtree ∪ point) at each level, and splice the new leaf in at the highest level whose cut separates the
point. Deletion is ``deletePoint``: decrement a duplicate leaf, or replace the parent by the sibling and shrink
the ancestors' boxes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from offline_rcf.native.sampler import rng_next_double

NULL = -1


@njit(cache=True)
def node_mass(t: int, node: int, nmass: np.ndarray, lmass: np.ndarray, cap: int) -> int:
    if node >= cap:
        return lmass[t, node - cap]
    return nmass[t, node]


@njit(cache=True)
def tree_mass(t: int, root: np.ndarray, nmass: np.ndarray, lmass: np.ndarray, cap: int) -> int:
    r = root[t]
    if r == NULL:
        return 0
    return node_mass(t, r, nmass, lmass, cap)


@njit(cache=True)
def grow_box(t: int, node: int, bx_min: np.ndarray, bx_max: np.ndarray, bmin, bmax, lpt, cap: int) -> None:
    """``growNodeBox``: union the box of ``node`` into ``bx``."""
    d = bx_min.shape[0]
    if node >= cap:
        s = node - cap
        for i in range(d):
            v = lpt[t, s, i]
            if v < bx_min[i]:
                bx_min[i] = v
            if v > bx_max[i]:
                bx_max[i] = v
    else:
        for i in range(d):
            if bmin[t, node, i] < bx_min[i]:
                bx_min[i] = bmin[t, node, i]
            if bmax[t, node, i] > bx_max[i]:
                bx_max[i] = bmax[t, node, i]


@njit(cache=True)
def random_cut(factor: float, point: np.ndarray, bx_min: np.ndarray, bx_max: np.ndarray):
    """``RandomCutTree.randomCut``: dimension chosen with probability proportional to its range in box ∪ point."""
    d = point.shape[0]
    rng = 0.0
    for i in range(d):
        mn = bx_min[i]
        mx = bx_max[i]
        if point[i] < mn:
            mn = point[i]
        elif point[i] > mx:
            mx = point[i]
        rng += float(mx - mn)
    brk = factor * rng
    for i in range(d):
        mn = bx_min[i]
        mx = bx_max[i]
        if point[i] < mn:
            mn = point[i]
        elif point[i] > mx:
            mx = point[i]
        gap = float(mx - mn)
        if brk <= gap and gap > 0:
            cv = np.float32(float(mn) + brk)
            if cv >= mx:
                cv = np.nextafter(mx, mn)
            return i, cv
        brk -= gap
    for i in range(d - 1, -1, -1):  # numerical fall-through: cut just below the top of the last non-flat dimension
        mn = bx_min[i]
        mx = bx_max[i]
        if point[i] < mn:
            mn = point[i]
        elif point[i] > mx:
            mx = point[i]
        if mx > mn:
            return i, np.nextafter(mx, mn)
    return 0, bx_min[0]


@njit(cache=True)
def tree_insert(t, point, root, left, right, cdim, cval, nmass, bmin, bmax, free_int, nfree_int, lpt, lmass,
                free_leaf, nfree_leaf, rng, path) -> int:  # fmt: skip
    """``RandomCutTree.addPoint``; returns the leaf slot now holding ``point``."""
    cap = lpt.shape[1]
    d = point.shape[0]
    if root[t] == NULL:
        nfree_leaf[t] -= 1
        slot = free_leaf[t, nfree_leaf[t]]
        lpt[t, slot, :] = point
        lmass[t, slot] = 1
        root[t] = cap + slot
        return slot
    node = root[t]
    depth = 0
    while node < cap:
        path[depth] = node
        depth += 1
        node = left[t, node] if point[cdim[t, node]] <= cval[t, node] else right[t, node]
    leaf_slot = node - cap
    same = True
    for i in range(d):
        if lpt[t, leaf_slot, i] != point[i]:
            same = False
            break
    if same:
        lmass[t, leaf_slot] += 1
        for k in range(depth):
            nmass[t, path[k]] += 1
        return leaf_slot
    bx_min = lpt[t, leaf_slot, :].copy()
    bx_max = bx_min.copy()
    sv_min = bx_min.copy()
    sv_max = bx_min.copy()
    level = depth  # position of `node` in the path (its parent is path[level - 1])
    sv_node = node
    sv_level = level
    sv_dim = 0
    sv_val = np.float32(0.0)
    while True:
        factor = rng_next_double(rng, t)
        dim, val = random_cut(factor, point, bx_min, bx_max)
        p = point[dim]
        if (p <= val and val < bx_min[dim]) or (p > val and val >= bx_max[dim]):
            sv_node = node
            sv_level = level
            sv_dim = dim
            sv_val = val
            sv_min[:] = bx_min
            sv_max[:] = bx_max
        inside = True
        for i in range(d):
            if point[i] < bx_min[i] or point[i] > bx_max[i]:
                inside = False
                break
        if inside or level == 0:
            break
        parent = path[level - 1]
        sib = right[t, parent] if left[t, parent] == node else left[t, parent]
        grow_box(t, sib, bx_min, bx_max, bmin, bmax, lpt, cap)
        node = parent
        level -= 1
    nfree_leaf[t] -= 1
    slot = free_leaf[t, nfree_leaf[t]]
    lpt[t, slot, :] = point
    lmass[t, slot] = 1
    nfree_int[t] -= 1
    m = free_int[t, nfree_int[t]]
    cdim[t, m] = sv_dim
    cval[t, m] = sv_val
    if point[sv_dim] <= sv_val:
        left[t, m] = cap + slot
        right[t, m] = sv_node
    else:
        left[t, m] = sv_node
        right[t, m] = cap + slot
    nmass[t, m] = node_mass(t, sv_node, nmass, lmass, cap) + 1
    for i in range(d):
        bmin[t, m, i] = min(sv_min[i], point[i])
        bmax[t, m, i] = max(sv_max[i], point[i])
    if sv_level == 0:
        root[t] = m
    else:
        par = path[sv_level - 1]
        if left[t, par] == sv_node:
            left[t, par] = m
        else:
            right[t, par] = m
    for k in range(sv_level):
        a = path[k]
        nmass[t, a] += 1
        for i in range(d):
            if point[i] < bmin[t, a, i]:
                bmin[t, a, i] = point[i]
            if point[i] > bmax[t, a, i]:
                bmax[t, a, i] = point[i]
    return slot


@njit(cache=True)
def tree_delete(t, point, root, left, right, cdim, cval, nmass, bmin, bmax, free_int, nfree_int, lpt, lmass,
                free_leaf, nfree_leaf, path) -> None:  # fmt: skip
    """``RandomCutTree.deletePoint`` for a point that is in the tree (found by following the cuts)."""
    cap = lpt.shape[1]
    d = point.shape[0]
    node = root[t]
    depth = 0
    while node < cap:
        path[depth] = node
        depth += 1
        node = left[t, node] if point[cdim[t, node]] <= cval[t, node] else right[t, node]
    slot = node - cap
    if lmass[t, slot] > 1:
        lmass[t, slot] -= 1
        for k in range(depth):
            nmass[t, path[k]] -= 1
        return
    lmass[t, slot] = 0
    free_leaf[t, nfree_leaf[t]] = slot
    nfree_leaf[t] += 1
    if depth == 0:
        root[t] = NULL
        return
    parent = path[depth - 1]
    sib = right[t, parent] if left[t, parent] == node else left[t, parent]
    if depth == 1:
        root[t] = sib
    else:
        gp = path[depth - 2]
        if left[t, gp] == parent:
            left[t, gp] = sib
        else:
            right[t, gp] = sib
    free_int[t, nfree_int[t]] = parent
    nfree_int[t] += 1
    resolved = False
    for k in range(depth - 2, -1, -1):
        a = path[k]
        nmass[t, a] -= 1
        if not resolved:
            strictly = True
            for i in range(d):
                if not (bmin[t, a, i] < point[i] and point[i] < bmax[t, a, i]):
                    strictly = False
                    break
            if strictly:
                resolved = True
            else:
                lc = left[t, a]
                if lc >= cap:
                    for i in range(d):
                        bmin[t, a, i] = lpt[t, lc - cap, i]
                        bmax[t, a, i] = lpt[t, lc - cap, i]
                else:
                    for i in range(d):
                        bmin[t, a, i] = bmin[t, lc, i]
                        bmax[t, a, i] = bmax[t, lc, i]
                grow_box(t, right[t, a], bmin[t, a], bmax[t, a], bmin, bmax, lpt, cap)
