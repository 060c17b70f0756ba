"""A remote camera's live frames at the hub: relayed to each viewer at its rate, none lost to jitter.

The worker already paces its frames to the fastest viewer; they reach the hub with the
network's jitter. The hub's clock is scripted here (no sleeps, no timing assertions): a frame
that comes late must not make the next one, on time by the worker's clock, count as early.
"""

from __future__ import annotations

import pytest

from homelab_hub.cameras.stream import live
from homelab_hub.cameras.stream.live import LiveHub, Viewer, _Encoder, _Subscription


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(live.time, "monotonic", lambda: now[0])
    return now


def encoder_with(*fps: float) -> tuple[_Encoder, list[Viewer]]:
    hub = LiveHub(lambda name: None, feed=lambda camera, width: None)
    enc = _Encoder(hub, "cam", 640)  # never started: _send is driven by hand
    viewers = [Viewer(lambda: None) for _ in fps]
    for viewer, rate in zip(viewers, fps, strict=True):
        enc.subs[id(viewer)] = _Subscription(viewer, rate)
    return enc, viewers


# Arrival times of frames a worker sent every 0.5 s (2 fps), each 0 to 80 ms late.
ARRIVALS = [0.00, 0.58, 1.01, 1.57, 2.03, 2.55, 3.08, 3.50, 4.06, 4.52, 5.07, 5.51]


def relay(enc: _Encoder, clock: list[float], slack: float) -> None:
    start = clock[0]
    for at in ARRIVALS:
        clock[0] = start + at
        enc._send(b"frame", slack=slack)


def test_relayed_frames_with_jitter_all_reach_a_viewer_at_the_worker_rate(clock: list[float]) -> None:
    enc, (viewer,) = encoder_with(2.0)
    relay(enc, clock, slack=0.4)
    assert viewer.offered == len(ARRIVALS)


def test_strict_pacing_loses_the_frame_after_each_late_one(clock: list[float]) -> None:
    """The behaviour the slack replaces for relayed frames (a local encoder paces itself)."""
    enc, (viewer,) = encoder_with(2.0)
    relay(enc, clock, slack=0.0)
    assert viewer.offered < len(ARRIVALS) - 2


def test_a_slower_viewer_still_gets_only_its_rate(clock: list[float]) -> None:
    enc, (fast, slow) = encoder_with(2.0, 1.0)
    relay(enc, clock, slack=0.4)
    assert fast.offered == len(ARRIVALS)
    # 5.5 s of frames at 1 fps: one at 0 and one per second after it, never more.
    assert slow.offered == 6


def test_no_viewer_gets_more_than_its_rate_from_a_burst(clock: list[float]) -> None:
    """Frames that bunch up (a reconnect flushing a queue) are not all passed on."""
    enc, (viewer,) = encoder_with(2.0)
    start = clock[0]
    for i in range(10):
        clock[0] = start + i * 0.05
        enc._send(b"frame", slack=0.4)
    assert viewer.offered == 2  # at 0 and 0.3 (0.5 - 0.4 x 0.5): the schedule holds after that
