"""Share of samples resolved without a model call on a quiet-scene clip (seed: 70 %+).

    python benchmarks/camera_quiet_share.py

A synthetic half hour of a quiet backyard, one sample every 5 s (360 samples), encoded as
H.264 and decoded back: sensor noise throughout, a person crossing three times, the porch
light switching on once, and a swaying branch inside an exclusion zone. The clip goes
through the real pipeline in replay mode (motion only); a sample "calls the model" when it
has motion or a full-frame check is due. The baseline is the seed's first design, every
sample to the model, counted on the same clip.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from homelab_hub.cameras.detect.pipeline import CameraPipeline  # noqa: E402
from homelab_hub.cameras.settings import CameraConfig, ZoneConfig  # noqa: E402
from tests.cameras.clips import background  # noqa: E402

INTERVAL_S = 5.0
SAMPLES = 360  # 30 minutes
WIDTH, HEIGHT = 640, 360
CROSSINGS = (40, 150, 290)  # sample index where a person starts to cross (6 samples each)
LIGHT_ON = 220
BRANCH = (0.02, 0.45, 0.18, 0.75)  # x0, y0, x1, y1 of the swaying branch (excluded)


def sample(i: int, base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    frame = base.copy()
    x0, y0, x1, y1 = (int(v * s) for v, s in zip(BRANCH, (WIDTH, HEIGHT, WIDTH, HEIGHT), strict=True))
    sway = int(10 * np.sin(i))
    frame[y0 + 20 : y1 - 20, x0 + 20 + sway : x0 + 40 + sway] = (40, 90, 50)
    for start in CROSSINGS:
        if start <= i < start + 6:
            x = 120 + (i - start) * 70
            frame[150:270, x : x + 40] = (30, 30, 40)
    pixels = frame.astype(np.int16)
    if i >= LIGHT_ON:
        pixels += 60
    pixels += rng.normal(0, 3, pixels.shape).astype(np.int16)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def write(path: Path) -> None:
    base, rng = background(WIDTH, HEIGHT, 3), np.random.default_rng(3)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=1)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "23"}
        for i in range(SAMPLES):
            frame = av.VideoFrame.from_ndarray(sample(i, base, rng), format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, 1)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "quiet.mp4"
        write(clip)
        zone = ZoneConfig(name="branch", points=[(BRANCH[0], BRANCH[1]), (BRANCH[2], BRANCH[1]),
                                                  (BRANCH[2], BRANCH[3]), (BRANCH[0], BRANCH[3])])  # fmt: skip
        pipeline = CameraPipeline("yard", CameraConfig(url=str(clip), zones=[zone]), None)
        decisions: Counter[str] = Counter()
        calls = full = 0
        start = time.perf_counter()
        with av.open(str(clip)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                result = pipeline.process(frame.to_ndarray(format="bgr24"), i * INTERVAL_S)
                decisions[result.decision] += 1
                calls += result.decision == "unverified"  # motion or full-frame check: a model call
                full += result.full_frame
        elapsed = time.perf_counter() - start
    total = sum(decisions.values())
    print(
        f"quiet-scene clip: {total} samples ({total * INTERVAL_S / 60:.0f} min at one per {INTERVAL_S:.0f} s)"
    )
    print(f"decisions: {dict(decisions)}")
    print(f"model calls, every sample to the model (baseline): {total}")
    print(
        f"model calls, with the prefilter:                   {calls}  ({calls / total:.1%} of baseline; {full} full-frame checks)"
    )
    print(f"samples resolved without a model call:             {1 - calls / total:.1%}  (seed: 70 %+)")
    print(f"decode + prefilter time per sample: {elapsed / total * 1000:.1f} ms")


if __name__ == "__main__":
    main()
