"""Synthetic camera footage for tests: deterministic scenes, encoded to H.264 with PyAV.

Every scene is a textured "yard" background (so the encoder and the motion detector see
something like a real picture, not a flat colour) plus one event:

- ``moving_object``: a dark box crosses the frame left to right, wrapping around.
- ``static_noise``: nothing moves; every frame carries fresh Gaussian sensor noise.
- ``brightness_jump``: at ``event_at_s`` the whole picture brightens (lights on, IR switch).
- ``motion_in_region``: a box moves only inside ``region`` (x0, y0, x1, y1 in 0..1).
- ``still_object_appears``: at ``event_at_s`` a box appears inside ``region`` and stays put.

Use the raw frames directly (``scene_frames``/``frame_at``) or encode a file::

    spec = ClipSpec("moving_object", seconds=6)
    path = write_clip(tmp_path / "moving.mp4", spec)

Frame ``i`` is shown at ``i / fps`` seconds. Keyframes come every ``gop`` frames exactly
(scene-cut keyframes are off) and there are no B-frames, like most IP cameras.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np

Scene = Literal[
    "moving_object", "static_noise", "brightness_jump", "motion_in_region", "still_object_appears"
]
SCENES: tuple[Scene, ...] = (
    "moving_object",
    "static_noise",
    "brightness_jump",
    "motion_in_region",
    "still_object_appears",
)


@dataclass(frozen=True)
class ClipSpec:
    scene: Scene
    width: int = 320
    height: int = 240
    fps: int = 10
    seconds: float = 4.0
    gop: int | None = None  # frames between keyframes; None = one keyframe per second
    seed: int = 0
    region: tuple[float, float, float, float] = (0.55, 0.55, 0.95, 0.95)
    event_at_s: float = 1.0
    noise_sigma: float = 3.0  # sensor noise on every scene; 3 stays far below threshold 25
    brightness_step: int = 90  # added to every pixel by brightness_jump
    object_size: float = 0.15  # box side as a share of the frame height
    speed: float = 0.35  # moving box: frame widths per second

    @property
    def frame_count(self) -> int:
        return max(1, round(self.seconds * self.fps))

    @property
    def keyframe_interval(self) -> int:
        return self.gop or self.fps


def background(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A deterministic BGR 'yard': sky gradient, lawn, a fence, a few blocks of texture."""
    rng = np.random.default_rng(seed + 1000)
    img = np.zeros((height, width, 3), np.uint8)
    rows = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    horizon = int(height * 0.4)
    img[:horizon, :, 0] = (200 - 60 * rows[:horizon]).astype(np.uint8)  # sky: blue channel
    img[:horizon, :, 1] = (160 - 40 * rows[:horizon]).astype(np.uint8)
    img[:horizon, :, 2] = 120
    img[horizon:, :, 0] = 60
    img[horizon:, :, 1] = (140 - 40 * rows[horizon:]).astype(np.uint8)  # lawn
    img[horizon:, :, 2] = 70
    for x in range(0, width, max(8, width // 24)):  # fence posts along the horizon
        img[horizon - height // 10 : horizon, x : x + max(2, width // 160)] = (90, 110, 140)
    for _ in range(6):  # bushes and stones
        w, h = int(rng.integers(width // 16, width // 6)), int(rng.integers(height // 16, height // 8))
        x, y = int(rng.integers(0, width - w)), int(rng.integers(horizon, height - h))
        img[y : y + h, x : x + w] = rng.integers(40, 200, 3).astype(np.uint8)
    # Fixed fine texture, so an encoder has real detail to keep.
    texture = rng.normal(0, 6, (height, width, 1)).astype(np.int16)
    return np.clip(img.astype(np.int16) + texture, 0, 255).astype(np.uint8)


def _box(frame: np.ndarray, x: int, y: int, side: int, colour: tuple[int, int, int]) -> None:
    h, w = frame.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(w, x + side), min(h, y + side)
    if x1 > x0 and y1 > y0:
        frame[y0:y1, x0:x1] = colour


def object_box(spec: ClipSpec, index: int) -> tuple[int, int, int, int] | None:
    """Where the scene's object is in frame ``index``: (x, y, w, h) in pixels, or None."""
    t = index / spec.fps
    side = max(4, int(spec.height * spec.object_size))
    w, h = spec.width, spec.height
    x0, y0, x1, y1 = (
        int(spec.region[0] * w),
        int(spec.region[1] * h),
        int(spec.region[2] * w),
        int(spec.region[3] * h),
    )
    if spec.scene == "moving_object":
        x = int((t * spec.speed * w) % max(1, w - side))
        return x, int(h * 0.6), side, side
    if spec.scene == "motion_in_region":
        span_x, span_y = max(1, x1 - x0 - side), max(1, y1 - y0 - side)
        travel = t * spec.speed * w
        # Bounce inside the region so the box never leaves it.
        x = x0 + int(abs((travel % (2 * span_x)) - span_x))
        y = y0 + int(abs(((travel * 0.5) % (2 * span_y)) - span_y))
        return x, y, side, side
    if spec.scene == "still_object_appears" and t >= spec.event_at_s:
        return x0 + (x1 - x0 - side) // 2, y0 + (y1 - y0 - side) // 2, side, side
    return None


def frame_at(spec: ClipSpec, index: int, base: np.ndarray | None = None) -> np.ndarray:
    """The BGR frame ``index`` of the scene (noise seeded by the index: reproducible)."""
    frame = (background(spec.width, spec.height, spec.seed) if base is None else base).copy()
    box = object_box(spec, index)
    if box is not None:
        _box(frame, box[0], box[1], box[2], (30, 30, 40))
    pixels = frame.astype(np.int16)
    if spec.scene == "brightness_jump" and index / spec.fps >= spec.event_at_s:
        pixels += spec.brightness_step
    if spec.noise_sigma > 0:
        rng = np.random.default_rng(spec.seed * 100_003 + index)
        pixels += rng.normal(0, spec.noise_sigma, pixels.shape).astype(np.int16)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def scene_frames(spec: ClipSpec) -> Iterator[np.ndarray]:
    """Every frame of the clip, in order (BGR uint8, height x width x 3)."""
    base = background(spec.width, spec.height, spec.seed)
    for i in range(spec.frame_count):
        yield frame_at(spec, i, base)


def write_clip(
    path: str | Path, spec: ClipSpec, *, crf: int = 23, bitrate_kbps: int | None = None, bframes: int = 0
) -> Path:
    """Encode the scene as H.264 (yuv420p, fixed GOP, no B-frames unless ``bframes``: then the
    decoder holds frames back); the container follows the suffix: .mp4, .mkv, or .h264 for a
    raw Annex-B stream. ``bitrate_kbps`` encodes at a constant bitrate like an IP camera does
    (instead of constant quality). Returns the path."""
    path = Path(path)
    fmt = "h264" if path.suffix == ".h264" else None
    with av.open(str(path), mode="w", format=fmt) as container:
        stream = container.add_stream("libx264", rate=spec.fps)
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
        gop = spec.keyframe_interval
        stream.codec_context.gop_size = gop
        stream.codec_context.time_base = Fraction(1, spec.fps)
        params = f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}:repeat-headers=1"
        if bitrate_kbps:
            rate = f"bitrate={bitrate_kbps}:vbv-maxrate={bitrate_kbps}:vbv-bufsize={bitrate_kbps}"
            stream.options = {"preset": "ultrafast", "x264-params": f"{params}:{rate}"}
        else:
            stream.options = {"preset": "ultrafast", "crf": str(crf), "x264-params": params}
        for i, bgr in enumerate(scene_frames(spec)):
            frame = av.VideoFrame.from_ndarray(bgr, format="bgr24")
            frame.pts = i
            frame.time_base = Fraction(1, spec.fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def write_not_video(path: str | Path) -> Path:
    """A file with a video suffix whose bytes are not video (for bad-input tests)."""
    path = Path(path)
    path.write_bytes(b"this is a shopping list, not an H.264 stream\n" * 200)
    return path
