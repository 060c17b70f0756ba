"""Zone polygon checks: at least 3 corners inside the image, a bounded count, no self-crossing.

The crossing test compares every edge with every other one, vectorised with numpy (bounding
boxes first, the orientation test only for pairs whose boxes meet): at the 200-corner limit
that is 20,000 edge pairs in about a millisecond (benchmarks/camera_zone_check.py). The
corner limit comes first and refuses before any geometry runs; the pure-Python pairwise loop
this replaced spent 30 s of CPU on a 4,000-corner zone, and a zone needs a few dozen corners.
"""

from __future__ import annotations

import numpy as np

Point = tuple[float, float]

MAX_ZONE_POINTS = 200


def polygon_problem(points: list[Point]) -> str | None:
    """What is wrong with a zone polygon in 0..1 image coordinates, or None."""
    n = len(points)
    if n < 3:
        return f"polygon needs at least 3 points, got {n}"
    if n > MAX_ZONE_POINTS:
        return f"polygon has {n} points; at most {MAX_ZONE_POINTS} are allowed"
    pts = np.asarray(points, dtype=np.float64).reshape(n, 2)
    inside = np.all((pts >= 0.0) & (pts <= 1.0), axis=1)  # NaN compares False: outside
    if not inside.all():
        i = int(np.argmin(inside))
        x, y = points[i]
        return f"point {i} ({x}, {y}) is outside the image; coordinates go from 0 to 1"
    crossing = _first_crossing(pts)
    if crossing is not None:
        i, j = crossing
        return f"polygon crosses itself (edge {i}-{(i + 1) % n} meets edge {j}-{(j + 1) % n})"
    nxt = np.roll(pts, -1, axis=0)
    area = 0.5 * float(np.sum(pts[:, 0] * nxt[:, 1] - nxt[:, 0] * pts[:, 1]))
    if abs(area) < 1e-9:
        return "polygon has no area (its points are on one line)"
    return None


def _first_crossing(pts: np.ndarray) -> tuple[int, int] | None:
    """The first pair of non-neighbouring edges (i < j) that cross or touch, or None."""
    n = len(pts)
    a, b = pts, np.roll(pts, -1, axis=0)  # edge k runs from a[k] to b[k]
    i, j = np.triu_indices(n, k=2)  # j >= i + 2: neighbours share a corner
    keep = ~((i == 0) & (j == n - 1))  # the last edge neighbours the first
    i, j = i[keep], j[keep]
    # Edges that meet have overlapping bounding boxes: only those pairs get the full test.
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    near = (lo[i, 0] <= hi[j, 0]) & (lo[j, 0] <= hi[i, 0]) & (lo[i, 1] <= hi[j, 1]) & (lo[j, 1] <= hi[i, 1])
    i, j = i[near], j[near]
    if i.size == 0:
        return None
    pa, pb, pc, pd = a[i], b[i], a[j], b[j]
    o1, o2 = _orient(pa, pb, pc), _orient(pa, pb, pd)
    o3, o4 = _orient(pc, pd, pa), _orient(pc, pd, pb)
    proper = ((o1 > 0) != (o2 > 0)) & ((o3 > 0) != (o4 > 0)) & (o1 != 0) & (o2 != 0) & (o3 != 0) & (o4 != 0)
    # Touching or collinear overlap also makes the polygon ambiguous.
    touching = (
        ((o1 == 0) & _on_segment(pa, pc, pb))
        | ((o2 == 0) & _on_segment(pa, pd, pb))
        | ((o3 == 0) & _on_segment(pc, pa, pd))
        | ((o4 == 0) & _on_segment(pc, pb, pd))
    )
    hits = np.flatnonzero(proper | touching)  # row-major: the lowest i, then the lowest j
    if hits.size == 0:
        return None
    k = int(hits[0])
    return int(i[k]), int(j[k])


def _orient(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
    return (q[:, 0] - p[:, 0]) * (r[:, 1] - p[:, 1]) - (q[:, 1] - p[:, 1]) * (r[:, 0] - p[:, 0])


def _on_segment(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """q lies in the bounding box of p-r (q is known to be collinear with them)."""
    return (
        (np.minimum(p[:, 0], r[:, 0]) <= q[:, 0])
        & (q[:, 0] <= np.maximum(p[:, 0], r[:, 0]))
        & (np.minimum(p[:, 1], r[:, 1]) <= q[:, 1])
        & (q[:, 1] <= np.maximum(p[:, 1], r[:, 1]))
    )
