"""Zone polygon check: the vectorised crossing test against the pure-Python pairwise loop it
replaced, at the 200-corner limit, and what a 4,000-corner zone costs now (refused on its count).

    python benchmarks/camera_zone_check.py

The baseline is the old loop, copied here verbatim, on the same polygons in the same run.
A valid polygon (a circle) is the worst case for both: every edge pair is compared.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from homelab_hub.cameras.zones.mask import parse_zone
from homelab_hub.cameras.zones.polygon import polygon_problem
from homelab_hub.errors import InvalidInput

Point = tuple[float, float]
ROUNDS = 7


def circle(n: int) -> list[Point]:
    return [
        (0.5 + 0.4 * math.cos(2 * math.pi * i / n), 0.5 + 0.4 * math.sin(2 * math.pi * i / n))
        for i in range(n)
    ]


# -- the loop this replaced (homelab_hub/cameras/settings.py before the change) ----------------
def old_polygon_problem(points: list[Point]) -> str | None:
    if len(points) < 3:
        return f"polygon needs at least 3 points, got {len(points)}"
    for i, (x, y) in enumerate(points):
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0) or x != x or y != y:
            return f"point {i} ({x}, {y}) is outside the image; coordinates go from 0 to 1"
    n = len(points)
    for i in range(n):
        a, b = points[i], points[(i + 1) % n]
        for j in range(i + 1, n):
            if j == i or (j + 1) % n == i or j == (i + 1) % n:
                continue
            c, d = points[j], points[(j + 1) % n]
            if _segments_cross(a, b, c, d):
                return f"polygon crosses itself (edge {i}-{(i + 1) % n} meets edge {j}-{(j + 1) % n})"
    area = 0.5 * sum(
        points[i][0] * points[(i + 1) % n][1] - points[(i + 1) % n][0] * points[i][1] for i in range(n)
    )
    if abs(area) < 1e-9:
        return "polygon has no area (its points are on one line)"
    return None


def _orient(p: Point, q: Point, r: Point) -> float:
    return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])


def _on_segment(p: Point, q: Point, r: Point) -> bool:
    return min(p[0], r[0]) <= q[0] <= max(p[0], r[0]) and min(p[1], r[1]) <= q[1] <= max(p[1], r[1])


def _segments_cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    o1, o2, o3, o4 = _orient(a, b, c), _orient(a, b, d), _orient(c, d, a), _orient(c, d, b)
    if ((o1 > 0) != (o2 > 0)) and ((o3 > 0) != (o4 > 0)) and o1 and o2 and o3 and o4:
        return True
    return (
        (o1 == 0 and _on_segment(a, c, b))
        or (o2 == 0 and _on_segment(a, d, b))
        or (o3 == 0 and _on_segment(c, a, d))
        or (o4 == 0 and _on_segment(c, b, d))
    )


# -- measurement -------------------------------------------------------------------------------
def median_ms(fn, rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


HUGE = {"name": "huge", "points": [list(p) for p in circle(4000)]}


def refuse_huge() -> None:
    try:
        parse_zone("gate", HUGE)
    except InvalidInput:
        return
    raise AssertionError("a 4,000-point zone was accepted")


def main() -> None:
    for n in (50, 200):
        pts = circle(n)
        assert old_polygon_problem(pts) is None and polygon_problem(pts) is None
        old = median_ms(lambda pts=pts: old_polygon_problem(pts))
        new = median_ms(lambda pts=pts: polygon_problem(pts))
        print(
            f"{n:>4} corners: pure-Python loop {old:8.2f} ms   vectorised {new:6.2f} ms   {old / new:5.1f}x faster"
        )
    thousand = circle(1000)
    old_1000 = median_ms(lambda: old_polygon_problem(thousand), rounds=1)
    refused = median_ms(refuse_huge)
    print(
        f"4000 corners: refused on its count in {refused:.3f} ms; the old loop took {old_1000:.0f} ms at 1,000 corners "
        f"(quadratic: about {old_1000 * 16 / 1000:.0f} s at 4,000), {old_1000 / refused:.0f}x the refusal"
    )


if __name__ == "__main__":
    main()
