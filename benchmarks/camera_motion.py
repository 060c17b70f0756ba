"""Motion prefilter time per sample at 1080p and 4K, against a bare OpenCV resize + absdiff.

    python benchmarks/camera_motion.py

The baseline is the least any frame-differencing prefilter must do: shrink the frame to the
detect width and diff it with the previous one. The prefilter adds grey conversion,
threshold, zone mask, dilation, contours, area filter, box merge and the crop. Both run on
the same synthetic frames (textured yard, sensor noise, a moving object), same process. The
last column is the prefilter as it was before issue 25 (frame-to-frame, 3 dilations), same frames.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.camera_motion_quality import OldDetector
from homelab_hub.cameras.detect.motion import MotionDetector
from homelab_hub.cameras.settings import MotionConfig, ZoneConfig

ROUNDS = 5
FRAMES = 12


def frames(width: int, height: int) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    base = cv2.resize(rng.integers(40, 200, (height // 8, width // 8, 3), dtype=np.uint8), (width, height))
    out = []
    side = height // 6
    for i in range(FRAMES):
        f = base.copy()
        x = (i * width // FRAMES) % (width - side)
        f[height // 2 : height // 2 + side, x : x + side] = (30, 30, 40)
        noise = rng.normal(0, 3, f.shape).astype(np.int16)
        out.append(np.clip(f.astype(np.int16) + noise, 0, 255).astype(np.uint8))
    return out


def bare_baseline(samples: list[np.ndarray], width: int) -> float:
    h, w = samples[0].shape[:2]
    size = (width, round(h * width / w))
    prev = cv2.resize(samples[0], size, interpolation=cv2.INTER_AREA)
    start = time.perf_counter()
    for f in samples[1:]:
        small = cv2.resize(f, size, interpolation=cv2.INTER_AREA)
        cv2.absdiff(small, prev)
        prev = small
    return (time.perf_counter() - start) / (len(samples) - 1)


def prefilter(samples: list[np.ndarray]) -> float:
    zones = [ZoneConfig(name="road", points=[(0, 0), (1, 0), (1, 0.25), (0, 0.25)])]
    detector = MotionDetector(MotionConfig(), zones)
    detector.detect(samples[0])
    start = time.perf_counter()
    for f in samples[1:]:
        detector.detect(f)
    return (time.perf_counter() - start) / (len(samples) - 1)


def previous(samples: list[np.ndarray]) -> float:
    """The prefilter before issue 25 (frame-to-frame, no zones), for the cost of the change."""
    detector = OldDetector(640)
    detector.detect(samples[0])
    start = time.perf_counter()
    for f in samples[1:]:
        detector.detect(f)
    return (time.perf_counter() - start) / (len(samples) - 1)


def main() -> None:
    print(
        f"OpenCV {cv2.__version__}, {cv2.getNumThreads()} threads; median of {ROUNDS} rounds x {FRAMES - 1} samples"
    )
    print(f"{'source':>8} {'baseline ms':>12} {'prefilter ms':>13} {'ratio':>6} {'before #25 ms':>14}")
    for label, (w, h) in (("1080p", (1920, 1080)), ("4K", (3840, 2160))):
        samples = frames(w, h)
        base = statistics.median(bare_baseline(samples, 640) for _ in range(ROUNDS))
        ours = statistics.median(prefilter(samples) for _ in range(ROUNDS))
        old = statistics.median(previous(samples) for _ in range(ROUNDS))
        print(f"{label:>8} {base * 1000:12.2f} {ours * 1000:13.2f} {ours / base:6.2f} {old * 1000:14.2f}")


if __name__ == "__main__":
    main()
