"""How tight the motion prefilter's boxes are on labelled frames, against the detector it
replaced and a re-implementation of Frigate's, all in the same run.

    python benchmarks/camera_motion_quality.py [--split held-out|dev|both] [--detect-width 640]
                                               [--footage ../shared/footage] [--overlays DIR]

Scored per sampled frame against a reference mask of moving foreground:

- recall: share of reference objects (connected regions) with at least half their pixels in a box;
  pixel recall: share of foreground pixels in a box;
- precision: share of the boxes' area (their union) that is moving foreground;
- whole-frame: samples with a box over half the frame; misses: samples with an object and no
  object found; false: samples without foreground that still report a box.

Data, split into a dev half (the one the defaults were tuned on) and a held-out half:

- the two real clips under ``../shared/footage/`` (first half of each clip = dev, second half =
  held-out). Reference masks: the clip's per-pixel median over all frames (an empty-scene plate;
  checked by eye, see ``--overlays``) differenced with each frame at 5 fps, cleaned up, and kept
  only where the region also changed within +-0.2 s (so parked things do not count);
- the same clips darkened with sensor noise (night);
- synthetic scenes with exact masks (dev seed 1, held-out seed 2): walkers over a noisy yard,
  swaying foliage, a lighting step, a small far object, a large near one, and a night version.

Samples every 1 s and every 5 s, several start phases each, the detector reset at each half's
start. Contenders: ``new`` (homelab_hub's MotionDetector, defaults, given each frame's time), ``old`` (the detector before
issue 25, copied below: previous sample as reference, 3 dilations, px limits, 50 px chained
merges), ``frigate`` (Frigate's ImprovedMotionDetector with its defaults re-implemented below, fed
every frame at 5 fps as Frigate runs, scored on the same sampled frames).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from homelab_hub.cameras.detect.motion import MotionDetector, merge_boxes  # noqa: E402
from homelab_hub.cameras.settings import MotionConfig  # noqa: E402

Box = tuple[int, int, int, int]
FPS = 5  # the rate scenes are rendered / clips are kept at, and Frigate's default detect fps
MIN_OBJECT_SHARE = 0.0004  # reference regions smaller than this share of the frame are dropped


# ---------------------------------------------------------------- scenes


@dataclass
class Scene:
    name: str
    split: str  # "dev" or "held-out"
    count: int  # frames at FPS
    frame: Callable[[int], np.ndarray]
    mask: Callable[[int], np.ndarray]
    real: bool = False  # from the footage (a reference mask), not synthetic (an exact one)


def _read_clip(path: Path) -> tuple[list[np.ndarray], float]:
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    if not frames:
        raise SystemExit(f"could not read any frame from {path}")
    return frames, fps


def reference_masks(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Moving foreground of frames at FPS: differs from the clip's empty-scene plate, and
    changed within one frame (0.2 s) either side."""
    plate = np.median(np.stack(frames[:: max(1, len(frames) // 200)]), axis=0).astype(np.uint8)
    h, w = plate.shape[:2]
    plate_b = cv2.GaussianBlur(plate, (5, 5), 0)
    blurred = [cv2.GaussianBlur(f, (5, 5), 0) for f in frames]
    k_open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    k_close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    out = []
    for i, f in enumerate(blurred):
        fg = (cv2.absdiff(f, plate_b).max(axis=2) > 30).astype(np.uint8) * 255
        fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, k_open)
        fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, k_close)
        moved = np.zeros((h, w), np.uint8)
        for j in (i - 1, i + 1):
            if 0 <= j < len(blurred):
                moved |= (cv2.absdiff(f, blurred[j]).max(axis=2) > 20).astype(np.uint8)
        contours, _ = cv2.findContours(fg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        filled = np.zeros((h, w), np.uint8)
        for c in contours:
            if cv2.contourArea(c) < MIN_OBJECT_SHARE * h * w:
                continue
            one = np.zeros((h, w), np.uint8)
            cv2.drawContours(one, [c], -1, 1, -1)
            inside = int(one.sum())
            if inside and int((moved & one).sum()) >= 0.05 * inside:
                filled |= one
        out.append(filled * 255)
    return out


def _night(frame: np.ndarray, seed: int) -> np.ndarray:
    """A night version: a quarter of the light, gamma-lifted like an IR-less camera's auto gain,
    with much more sensor noise."""
    rng = np.random.default_rng(seed)
    dark = frame.astype(np.float32) * 0.25 + rng.normal(0, 4, frame.shape)
    return np.clip(dark, 0, 255).astype(np.uint8)


def clip_scenes(footage: Path) -> list[Scene]:
    scenes = []
    for name in ("vtest.avi", "car_traffic_small.mp4"):
        path = footage / name
        if not path.exists():
            print(f"(skipping {path}: not found)")
            continue
        frames, fps = _read_clip(path)
        step = max(1, round(fps / FPS))
        frames = frames[::step]
        masks = reference_masks(frames)
        half = len(frames) // 2
        stem = name.split(".")[0]
        for split, lo, hi in (("dev", 0, half), ("held-out", half, len(frames))):
            fr, ms = frames[lo:hi], masks[lo:hi]
            scenes.append(Scene(stem, split, len(fr), fr.__getitem__, ms.__getitem__, real=True))
            scenes.append(
                Scene(
                    f"{stem}-night",
                    split,
                    len(fr),
                    lambda i, fr=fr, lo=lo: _night(fr[i], lo + i),
                    ms.__getitem__,
                    real=True,
                )
            )
    return scenes


# Synthetic scenes: a textured yard, objects with their own texture, sensor noise on every frame.

W, H = 640, 360


@dataclass
class _Thing:
    x0: float  # centre at t=0, share of the frame
    y0: float
    vx: float  # frame widths / heights per second
    vy: float
    w: float  # share of the frame
    h: float
    shade: int
    t0: float = 0.0  # visible from
    t1: float = 1e9  # until


def _yard(rng: np.random.Generator) -> np.ndarray:
    coarse = rng.integers(50, 200, (H // 24, W // 24, 3), dtype=np.uint8)
    img = cv2.resize(coarse, (W, H), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    img += rng.integers(-12, 12, (H, W, 3), dtype=np.int16)  # grass-like fine texture
    return np.clip(img, 0, 255).astype(np.uint8)


@dataclass
class _Synthetic:
    seed: int
    things: list[_Thing]
    seconds: float = 60.0
    sway: tuple[float, float, float, float] | None = None  # foliage band x0, y0, x1, y1
    light_at: float | None = None
    night: bool = False
    noise: float = 3.0
    base: np.ndarray = field(init=False)
    foliage: np.ndarray | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.base = _yard(rng)
        self.textures = [
            np.clip(
                t.shade + rng.normal(0, 18, (max(2, int(t.h * H)), max(2, int(t.w * W)), 3)), 0, 255
            ).astype(np.uint8)
            for t in self.things
        ]
        if self.sway:
            leaves = rng.integers(0, 255, (H // 3, W // 3, 3), dtype=np.uint8)
            self.foliage = cv2.resize(leaves, (W + 40, H + 40), interpolation=cv2.INTER_LINEAR)

    def _box(self, t: _Thing, ts: float) -> tuple[int, int, int, int] | None:
        if not t.t0 <= ts < t.t1:
            return None
        cx = (t.x0 + t.vx * (ts - t.t0)) % 1.3 - 0.15  # wraps around, off-frame part of the time
        cy = t.y0 + t.vy * (ts - t.t0)
        bw, bh = max(2, int(t.w * W)), max(2, int(t.h * H))
        x, y = int(cx * W - bw / 2), int(cy * H - bh / 2)
        return x, y, bw, bh

    def frame(self, i: int) -> np.ndarray:
        return self.render(i)[0]

    def mask(self, i: int) -> np.ndarray:
        return self.render(i)[1]  # exact: no noise, so rendering again is cheap enough

    def render(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        ts = i / FPS
        img = self.base.copy()
        mask = np.zeros((H, W), np.uint8)
        if self.sway and self.foliage is not None:
            x0, y0, x1, y1 = (int(v * s) for v, s in zip(self.sway, (W, H, W, H), strict=True))
            dx = int(round(6 * np.sin(ts * 2.1) + 3 * np.sin(ts * 5.3 + 1)))
            dy = int(round(3 * np.sin(ts * 1.7)))
            img[y0:y1, x0:x1] = self.foliage[20 + dy + y0 : 20 + dy + y1, 20 + dx + x0 : 20 + dx + x1]
        for t, tex in zip(self.things, self.textures, strict=True):
            box = self._box(t, ts)
            if box is None:
                continue
            x, y, bw, bh = box
            xa, ya, xb, yb = max(0, x), max(0, y), min(W, x + bw), min(H, y + bh)
            if xa >= xb or ya >= yb:
                continue
            img[ya:yb, xa:xb] = tex[ya - y : yb - y, xa - x : xb - x]
            mask[ya:yb, xa:xb] = 255
        out = img.astype(np.float32)
        if self.light_at is not None and ts >= self.light_at:
            out = out * 1.35 + 25
        if self.night:
            out = out * 0.25
        rng = np.random.default_rng(self.seed * 100003 + i)
        out += rng.normal(0, self.noise, out.shape)
        return np.clip(out, 0, 255).astype(np.uint8), mask


def synthetic_scenes() -> list[Scene]:
    scenes = []
    for split, seed in (("dev", 1), ("held-out", 2)):
        jitter = np.random.default_rng(seed).uniform(0.85, 1.15, 16).tolist()  # speeds and sizes per split
        j = jitter.pop
        walkers = [
            _Thing(0.1, 0.55, 0.05 * j(), 0, 0.05 * j(), 0.22 * j(), 40),
            _Thing(0.8, 0.75, -0.07 * j(), 0, 0.06 * j(), 0.25 * j(), 210),
        ]
        specs = {
            "walkers": _Synthetic(seed, walkers),
            "foliage": _Synthetic(seed, walkers[:1], sway=(0.55, 0.0, 1.0, 0.45)),
            "lighting": _Synthetic(seed, walkers[:1], light_at=30.0),
            "far-object": _Synthetic(seed, [_Thing(0.2, 0.3, 0.02 * j(), 0, 0.015, 0.04, 30)]),
            "near-object": _Synthetic(seed, [_Thing(0.0, 0.55, 0.12 * j(), 0, 0.4 * j(), 0.85, 70, t0=5.0)]),
            "walkers-night": _Synthetic(seed, walkers, night=True, noise=4.0),
        }
        for name, spec in specs.items():
            scenes.append(Scene(name, split, int(spec.seconds * FPS), spec.frame, spec.mask))
    return scenes


# ---------------------------------------------------------------- contenders


class OldDetector:
    """The prefilter as it was before issue 25 (homelab_hub/cameras/motion.py at 7afcd37), kept
    here as the baseline: the previous sample is the reference, threshold 25, 3 dilations, contours
    of 150 px² .. 40 % of the frame, boxes within 50 px merged until none are, >= 50 % changed
    pixels = recalibrate."""

    def __init__(self, detect_width: int) -> None:
        self.detect_width = detect_width
        self.previous: np.ndarray | None = None
        self.kernel = np.ones((3, 3), np.uint8)

    def detect(self, frame: np.ndarray, ts: float) -> list[Box]:
        src_h, src_w = frame.shape[:2]
        width = min(self.detect_width, src_w)
        height = max(2, round(src_h * width / src_w))
        small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA) if width != src_w else frame
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        previous, self.previous = self.previous, gray
        if previous is None:
            return []
        diff = cv2.absdiff(gray, previous)
        _, changed = cv2.threshold(diff, 25, 255, cv2.THRESH_BINARY)
        if cv2.countNonZero(changed) / float(width * height) >= 0.5:
            return []
        changed = cv2.dilate(changed, self.kernel, iterations=3)
        contours, _ = cv2.findContours(changed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        max_area = 0.4 * width * height
        boxes = [cv2.boundingRect(c) for c in contours if 150 <= cv2.contourArea(c) <= max_area]
        # Today's merge_boxes with no growth limit is the old chained 50 px merge, line for line.
        merged = merge_boxes([(int(x), int(y), int(w), int(h)) for x, y, w, h in boxes], 50, math.inf)
        scale = src_w / width
        return [tuple(round(v * scale) for v in b) for b in merged]  # type: ignore[misc]


class FrigateReference:
    """Frigate's ImprovedMotionDetector (frigate/motion/improved_motion.py, MIT licence,
    (c) Blake Blackshear and contributors), re-implemented from its description for comparison,
    with its MotionConfig defaults: grey frame resized (nearest) to 100 px high; contrast
    stretched between the 4th and 96th percentile averaged over the last 50 frames; Gaussian
    blur sigma 1 radius 1; absdiff against a running average; threshold 30; one 3x3 dilation;
    a box per contour over 10 px²; the average updated with alpha 0.01 (0.2 while calibrating,
    i.e. until motion < 5 % of the frame with at most 4 boxes; > 80 % = calibrate again), and
    while motion lasts only after 10 frames of it. No masks, no PTZ."""

    def __init__(self, improve_contrast: bool = True) -> None:
        self.improve_contrast = improve_contrast
        self.avg: np.ndarray | None = None
        self.contrast = np.zeros((50, 2), np.float64)
        self.contrast[:, 1] = 255
        self.contrast_i = 0
        self.calibrating = True
        self.motion_frames = 0

    def detect(self, frame: np.ndarray) -> list[Box]:
        src_h, src_w = frame.shape[:2]
        mh, mw = 100, 100 * src_w // src_h
        factor = src_h / mh
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        small = cv2.resize(gray, (mw, mh), interpolation=cv2.INTER_NEAREST)
        if self.improve_contrast:
            lo, hi = np.percentile(small, 4), np.percentile(small, 96)
            if lo < hi:
                self.contrast[self.contrast_i] = (lo, hi)
                self.contrast_i = (self.contrast_i + 1) % len(self.contrast)
                amin, amax = self.contrast.mean(axis=0)
                small = ((np.clip(small, amin, amax) - amin) / (amax - amin) * 255).astype(np.uint8)
        small = cv2.GaussianBlur(small, (3, 3), 1.0, borderType=cv2.BORDER_REFLECT)
        if self.avg is None:
            self.avg = np.zeros((mh, mw), np.float32)
        delta = cv2.absdiff(small, cv2.convertScaleAbs(self.avg))
        _, thresh = cv2.threshold(delta, 30, 255, cv2.THRESH_BINARY)
        thresh = cv2.dilate(thresh, None, iterations=1)
        contours, _ = cv2.findContours(thresh, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        boxes: list[Box] = []
        total = 0.0
        for c in contours:
            area = cv2.contourArea(c)
            total += area
            if area > 10:
                x, y, w, h = cv2.boundingRect(c)
                x0, y0, x1, y1 = (
                    int(x * factor),
                    int(y * factor),
                    int((x + w) * factor),
                    int((y + h) * factor),
                )
                boxes.append((x0, y0, x1 - x0, y1 - y0))
        pct = total / (mh * mw)
        if pct < 0.05 and len(boxes) <= 4:
            self.calibrating = False
        if self.calibrating or pct > 0.8:
            self.calibrating = True
        alpha = 0.2 if self.calibrating else 0.01
        if boxes:
            self.motion_frames += 1
            if self.motion_frames >= 10:
                cv2.accumulateWeighted(small, self.avg, alpha)
        else:
            cv2.accumulateWeighted(small, self.avg, alpha)
            self.motion_frames = 0
        return boxes


class NewDetector:
    def __init__(self, config: MotionConfig) -> None:
        self.detector = MotionDetector(config)

    def detect(self, frame: np.ndarray, ts: float) -> list[Box]:
        return self.detector.detect(frame, ts).boxes


# ---------------------------------------------------------------- scoring


@dataclass
class Score:
    frames: int = 0
    objects: int = 0
    found: int = 0
    fg_pixels: int = 0
    fg_in_box: int = 0
    box_pixels: int = 0
    whole_frame: int = 0
    misses: int = 0
    false: int = 0
    seconds: float = 0.0
    calls: int = 0

    def add(self, boxes: list[Box], mask: np.ndarray) -> None:
        h, w = mask.shape
        covered = np.zeros((h, w), np.uint8)
        for x, y, bw, bh in boxes:
            covered[max(0, y) : max(0, y + bh), max(0, x) : max(0, x + bw)] = 1
        fg = (mask > 0).astype(np.uint8)
        self.frames += 1
        self.fg_pixels += int(fg.sum())
        self.fg_in_box += int((fg & covered).sum())
        self.box_pixels += int(covered.sum())
        self.whole_frame += any(bw * bh > 0.5 * w * h for _, _, bw, bh in boxes)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(fg)
        objects = found = 0
        for k in range(1, n):
            area = stats[k, cv2.CC_STAT_AREA]
            if area < MIN_OBJECT_SHARE * h * w:
                continue
            objects += 1
            x, y, bw, bh = stats[k, :4]
            part = labels[y : y + bh, x : x + bw] == k
            found += int((covered[y : y + bh, x : x + bw][part]).sum()) >= 0.5 * area
        self.objects += objects
        self.found += found
        self.misses += objects > 0 and found == 0
        self.false += objects == 0 and bool(boxes)

    def merge(self, other: Score) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def precision(self) -> float:
        return self.fg_in_box / self.box_pixels if self.box_pixels else float("nan")

    def row(self) -> str:
        recall = self.found / self.objects if self.objects else float("nan")
        pixel = self.fg_in_box / self.fg_pixels if self.fg_pixels else float("nan")
        precision = self.fg_in_box / self.box_pixels if self.box_pixels else float("nan")
        ms = 1000 * self.seconds / self.calls if self.calls else float("nan")
        return (
            f"{recall:7.3f} {pixel:7.3f} {precision:10.3f} {self.whole_frame:4d}/{self.frames:<5d}"
            f" {self.misses:6d} {self.false:6d} {ms:7.2f}"
        )


_FRIGATE_BOXES: dict[int, list[list[Box]]] = {}  # per scene: Frigate's boxes do not depend on sampling
_FRIGATE_SECONDS: dict[int, float] = {}


def sample_indices(count: int, interval: float, phase: float) -> Iterator[int]:
    ts = phase
    while round(ts * FPS) < count:
        yield round(ts * FPS)
        ts += interval


def phases(interval: float) -> list[float]:
    return [0.0, 0.4] if interval <= 1 else [0.0, 1.0, 2.0, 3.0, 4.0]


def score_scene(
    scene: Scene, interval: float, make: dict[str, Callable[[], object]], overlays: Path | None
) -> dict[str, Score]:
    scores = {name: Score() for name in make}
    frames = [scene.frame(i) for i in range(scene.count)]  # rendered once for every phase
    if "frigate" in make and id(scene) not in _FRIGATE_BOXES:  # Frigate sees every frame at 5 fps
        frigate = make["frigate"]()
        t = time.perf_counter()
        _FRIGATE_BOXES[id(scene)] = [frigate.detect(f) for f in frames]  # type: ignore[attr-defined]
        _FRIGATE_SECONDS[id(scene)] = time.perf_counter() - t
    for phase in phases(interval):
        order = list(sample_indices(scene.count, interval, phase))
        picks, wanted = set(order), set(order[1:])  # the first sample only starts the background
        detectors = {name: factory() for name, factory in make.items() if name != "frigate"}
        if "frigate" in make:
            scores["frigate"].seconds += _FRIGATE_SECONDS[id(scene)]
            scores["frigate"].calls += scene.count
        for i in range(scene.count):
            frame = None
            boxes_at: dict[str, list[Box]] = {}
            if "frigate" in make:
                boxes_at["frigate"] = _FRIGATE_BOXES[id(scene)][i]
            if i in picks:
                frame = frames[i]
                for name, det in detectors.items():
                    t = time.perf_counter()
                    boxes_at[name] = det.detect(frame, i / FPS)  # type: ignore[attr-defined]
                    scores[name].seconds += time.perf_counter() - t
                    scores[name].calls += 1
            if i in wanted:
                mask = scene.mask(i)
                for name, boxes in boxes_at.items():
                    scores[name].add(boxes, mask)
                if overlays is not None and phase == 0 and frame is not None and i % (10 * FPS) == 0:
                    _overlay(
                        overlays / f"{scene.name}-{scene.split}-{interval:g}s-{i:04d}.png",
                        frame,
                        mask,
                        boxes_at,
                    )
    return scores


def _overlay(path: Path, frame: np.ndarray, mask: np.ndarray, boxes_at: dict[str, list[Box]]) -> None:
    colours = {"old": (0, 0, 255), "new": (0, 255, 0), "frigate": (255, 0, 255)}
    panels = []
    for name, boxes in boxes_at.items():
        img = frame.copy()
        tint = img.copy()
        tint[mask > 0] = (255, 200, 0)
        img = cv2.addWeighted(img, 0.65, tint, 0.35, 0)
        for x, y, w, h in boxes:
            cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), colours.get(name, (255, 255, 255)), 2)
        cv2.putText(img, name, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
        panels.append(img)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.hstack(panels))


def _fields(pairs: list[str]) -> dict[str, float]:
    return {k: float(v) if "." in v else int(v) for k, v in (kv.split("=", 1) for kv in pairs)}


def _footage() -> Path:
    """../shared/footage from the main checkout or from a worktree beside it."""
    for up in (ROOT.parent, ROOT.parent.parent):
        if (up / "shared" / "footage").is_dir():
            return up / "shared" / "footage"
    return ROOT.parent / "shared" / "footage"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("held-out", "dev", "both"), default="both")
    parser.add_argument("--detect-width", type=int, default=640)
    parser.add_argument("--footage", type=Path, default=_footage())
    parser.add_argument("--overlays", type=Path, help="write PNGs of masks and boxes here (every 10 s)")
    parser.add_argument("--no-frigate", action="store_true", help="skip the Frigate reference (faster)")
    parser.add_argument("--scenes", help="comma-separated scene names to keep (default: all)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a MotionConfig field of 'new'",
    )
    parser.add_argument(
        "--compare", action="append", default=[], metavar="KEY=VALUE",
        help="also score 'new' with this one field changed (an ablation in the same run)",
    )  # fmt: skip
    args = parser.parse_args()

    config = MotionConfig(detect_width=args.detect_width, **_fields(args.set))
    make: dict[str, Callable[[], object]] = {
        "old": lambda: OldDetector(args.detect_width),
        "new": lambda: NewDetector(config),
    }
    for change in args.compare:
        variant = config.model_copy(update=_fields([change]))
        make[change] = lambda v=variant: NewDetector(v)
    if not args.no_frigate:
        make["frigate"] = FrigateReference
    t0 = time.monotonic()
    scenes = clip_scenes(args.footage) + synthetic_scenes()
    if args.scenes:
        keep = set(args.scenes.split(","))
        scenes = [s for s in scenes if s.name in keep]
    splits = ("dev", "held-out") if args.split == "both" else (args.split,)
    print(f"new: {config.model_dump(exclude={'crop_margin', 'full_frame_period_s'})}")
    print(f"scenes ready in {time.monotonic() - t0:.0f} s; Frigate reference fed every frame at {FPS} fps\n")
    header = (
        f"{'split':<9} {'every':>5} {'scene':<24} {'det':<20} {'recall':>7} {'px-rec':>7} {'precision':>10}"
        f" {'whole/frames':>10} {'misses':>6} {'false':>6} {'ms/call':>7}"
    )
    for split in splits:
        for interval in (1.0, 5.0):
            print(header)
            groups: dict[str, dict[str, Score]] = {
                g: {n: Score() for n in make} for g in ("real", "synthetic", "ALL")
            }
            per_scene: dict[str, list[float]] = {name: [] for name in make}
            for scene in (s for s in scenes if s.split == split):
                got = score_scene(scene, interval, make, args.overlays)
                for name, score in got.items():
                    for group in ("real" if scene.real else "synthetic", "ALL"):
                        groups[group][name].merge(score)
                    per_scene[name].append(score.precision)
                    print(f"{split:<9} {interval:4g}s {scene.name:<24} {name:<20} {score.row()}")
            for group, totals in groups.items():
                for name, score in totals.items():
                    print(f"{split:<9} {interval:4g}s {group + ' (pooled)':<24} {name:<20} {score.row()}")
            print(f"{'':<16} mean precision of the scenes: " + ", ".join(
                f"{name} {np.mean(v):.3f}" for name, v in per_scene.items()
            ))  # fmt: skip
            for group, totals in groups.items():
                ratio = totals["new"].precision / max(totals["old"].precision, 1e-9)
                print(
                    f"-> {split} every {interval:g} s, {group}: precision new / old = {ratio:.2f}x (pooled)"
                )
            ratio = np.mean(per_scene["new"]) / max(float(np.mean(per_scene["old"])), 1e-9)
            print(
                f"-> {split} every {interval:g} s: mean of the scenes' precision new / old = {ratio:.2f}x\n"
            )


if __name__ == "__main__":
    main()
