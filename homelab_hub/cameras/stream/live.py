"""Live frames for viewers: one encoder per watched camera, whatever the number of viewers.

A browser's grid shows every camera over one WebSocket (the seed's lesson: browsers open about
six HTTP/1.1 connections per host, so one MJPEG response per camera leaves the rest black).
Each frame is encoded once and the same bytes go to every subscriber, in the seed's wire
format: one byte N, N bytes of the camera name in UTF-8, then the JPEG.

- An encoder (one thread per camera and width) starts with the first subscriber and stops
  ``grace_s`` (10 s) after the last one leaves, so a page refresh does not restart it. While it
  runs it asks the camera's reader for frames at the viewers' rate (`FrameReader.want_live`);
  with no viewers the reader goes back to decoding only what sampling needs.
- A slow viewer skips frames: it holds one slot per camera with the latest frame, overwritten
  by the next, so it never delays the others or grows memory.
- The encoder says when a camera stalls (no new frame for ``stall_s``) or goes offline (no
  reader), and when it streams again.
- Each JPEG carries its capture time and the camera's full frame size in a comment segment
  (``hh-ts=<epoch seconds> hh-size=<w>x<h>``): the frame age at the client is measurable, a
  page can draw alert boxes (full-frame pixels) on a scaled frame, and browsers ignore it.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from homelab_hub.errors import InvalidInput
from homelab_hub.lazy import lazy_module

cv2 = lazy_module("cv2")

if TYPE_CHECKING:
    from homelab_hub.cameras.stream.reader import FrameReader

# A camera's current reader by name: None between workers; raises NotFound for an unknown
# camera. The manager hands in its own lookup, so this module needs no import of it.
ReaderLookup = Callable[[str], "FrameReader | None"]


class LiveFeed(Protocol):
    """JPEGs encoded elsewhere (a camera worker on another machine), relayed as they come."""

    @property
    def reachable(self) -> bool: ...

    def want(self, fps: float) -> None:
        """Keep the frames coming at this rate (called every round while someone watches)."""

    def wait_newer(self, seq: int, timeout: float) -> bool: ...

    def latest(self) -> tuple[bytes, float, int] | None:
        """The newest JPEG (with its capture-time comment), its time and sequence number."""


# A remote camera's feed at a width; None for a camera this hub reads itself.
FeedLookup = Callable[[str, int], "LiveFeed | None"]

log = logging.getLogger(__name__)

LiveState = Literal["streaming", "stalled", "offline"]
# Encoders exist per bucket, so two viewers asking 600 and 640 share one.
WIDTHS = (320, 480, 640, 960, 1280, 1920)
MAX_FPS = 10.0
MIN_FPS = 0.2
JPEG_QUALITY = 75


def width_bucket(width: int) -> int:
    """The smallest encoder width at least ``width`` (the largest for anything bigger)."""
    return next((w for w in WIDTHS if w >= width), WIDTHS[-1])


def frame_message(camera: str, jpeg: bytes) -> bytes:
    """The wire format: 1 byte N, N bytes of the name (UTF-8), the JPEG."""
    name = camera.encode("utf-8")
    if len(name) > 255:
        raise InvalidInput(f"camera name {camera[:40]!r}… is longer than 255 bytes")
    return bytes([len(name)]) + name + jpeg


def split_message(message: bytes) -> tuple[str, bytes]:
    """The inverse of `frame_message` (for tests and clients written in Python)."""
    n = message[0]
    return message[1 : 1 + n].decode("utf-8"), message[1 + n :]


def capture_time(jpeg: bytes) -> float | None:
    """The ``hh-ts`` capture time an encoder wrote into a JPEG, or None."""
    if jpeg[:4] != b"\xff\xd8\xff\xfe":
        return None
    length = struct.unpack(">H", jpeg[4:6])[0]
    fields = dict(
        f.split("=", 1) for f in jpeg[6 : 4 + length].decode("ascii", "replace").split() if "=" in f
    )
    try:
        return float(fields["hh-ts"])
    except (KeyError, ValueError):
        return None


def _with_comment(jpeg: bytes, ts: float, width: int, height: int) -> bytes:
    comment = f"hh-ts={ts:.3f} hh-size={width}x{height}".encode("ascii")
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + jpeg[2:]


class Viewer:
    """One live client. Encoders drop frames and states in (from their threads); the client's
    sender takes them. ``wake`` is called after each drop and must be thread-safe and quick
    (a WebSocket's is ``loop.call_soon_threadsafe(event.set)``)."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self._wake = wake
        self._lock = threading.Lock()
        self._frames: dict[str, bytes] = {}
        self._states: list[tuple[str, LiveState, str]] = []
        self.offered = 0
        self.skipped = 0  # frames overwritten before the client took them

    def offer(self, camera: str, message: bytes) -> None:
        with self._lock:
            self.offered += 1
            if camera in self._frames:
                self.skipped += 1
            self._frames[camera] = message
        self._wake()

    def offer_state(self, camera: str, state: LiveState, reason: str = "") -> None:
        with self._lock:
            self._states.append((camera, state, reason))
        self._wake()

    def take(self) -> tuple[list[tuple[str, LiveState, str]], list[tuple[str, bytes]]]:
        """States with their reasons (in order) and the latest frame of each camera, since
        the last take."""
        with self._lock:
            states, self._states = self._states, []
            frames, self._frames = list(self._frames.items()), {}
        return states, frames


@dataclass
class _Subscription:
    viewer: Viewer
    fps: float
    next_due: float = 0.0
    told: tuple[LiveState, str] | None = None


@dataclass
class EncoderStats:
    camera: str
    width: int
    subscribers: int
    encoded: int
    state: LiveState


class _Encoder:
    def __init__(self, hub: LiveHub, camera: str, width: int) -> None:
        self.hub = hub
        self.camera = camera
        self.width = width
        self.subs: dict[int, _Subscription] = {}
        self.empty_since: float | None = None
        self.encoded = 0
        self.state: LiveState = "offline"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"live:{camera}:{width}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def fps(self) -> float:
        with self.hub.lock:
            return max((s.fps for s in self.subs.values()), default=0.0)

    def _run(self) -> None:
        try:
            self._loop()
        except Exception:  # an encoder that dies must not take the others with it
            log.exception("live encoder for camera %s failed", self.camera)
        finally:
            self.hub.forget(self)

    def _loop(self) -> None:
        feed = self.hub.feed(self.camera, self.width) if self.hub.feed is not None else None
        if feed is not None:
            self._relay(feed)
            return
        last_seq = -1
        last_frame_at = time.monotonic()
        reader = None
        while not self._stop.is_set():
            if self.hub.expire(self):
                return
            fps = self.fps() or 1.0
            period = 1.0 / fps
            try:
                reader = self.hub.reader(self.camera)
            except Exception:  # the camera left the config
                reader = None
            if reader is None or not reader.alive:
                self._set_state("offline")
                self._stop.wait(0.5)
                continue
            reader.want_live(fps)
            if reader.wait_newer(last_seq, timeout=min(period, 0.5)) or last_seq < 0:
                got = reader.latest()
                if got is not None and got[2] != last_seq:
                    frame, ts, last_seq = got
                    last_frame_at = time.monotonic()
                    self._set_state("streaming")
                    self._emit(frame, ts)
                    # Pace to the fastest viewer: the reader may publish faster than that.
                    self._stop.wait(max(0.0, period - (time.monotonic() - last_frame_at)))
                    continue
            if time.monotonic() - last_frame_at > self.hub.stall_s:
                self._set_state("stalled")

    def _relay(self, feed: LiveFeed) -> None:
        """A remote camera: its worker encodes at this width; the same bytes go to every viewer."""
        last_seq = -1
        last_frame_at = time.monotonic()
        while not self._stop.is_set():
            if self.hub.expire(self):
                return
            fps = self.fps() or 1.0
            if not feed.reachable:
                self._set_state("offline")
                self._stop.wait(0.5)
                continue
            feed.want(fps)
            if feed.wait_newer(last_seq, timeout=min(1.0 / fps, 0.5)):
                got = feed.latest()
                if got is not None and got[2] != last_seq:
                    jpeg, _, last_seq = got
                    last_frame_at = time.monotonic()
                    self._set_state("streaming")
                    self.encoded += 1
                    self._send(frame_message(self.camera, jpeg), slack=0.4)
                    continue
            if time.monotonic() - last_frame_at > self.hub.stall_s:
                self._set_state("stalled")

    def _emit(self, frame: np.ndarray, ts: float) -> None:
        h, w = frame.shape[:2]
        full = (w, h)
        if w > self.width:
            frame = cv2.resize(
                frame, (self.width, max(1, round(h * self.width / w))), interpolation=cv2.INTER_AREA
            )
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            return
        self.encoded += 1
        self._send(frame_message(self.camera, _with_comment(buf.tobytes(), ts, *full)))

    def _send(self, message: bytes, slack: float = 0.0) -> None:
        """To every viewer whose rate is due. A frame up to ``slack`` of a viewer's period early
        counts as due (its schedule is kept, so no viewer gets more than its rate): a remote
        camera's frames come already paced to the fastest viewer, with the network's jitter,
        and one late frame must not make the next, on time, look early (with 0-80 ms of jitter
        a quarter of them were dropped)."""
        now = time.monotonic()
        with self.hub.lock:
            due = [s for s in self.subs.values() if now >= s.next_due - max(0.02, slack / s.fps)]
            for s in due:
                s.next_due = max(now, s.next_due) + 1.0 / s.fps
        for s in due:
            s.viewer.offer(self.camera, message)

    def _set_state(self, state: LiveState) -> None:
        """Tell the viewers a new state, or a new reason for it (the camera's own state and
        reason, as camera_list words them: ``offline: connection refused (rtsp://…)``)."""
        self.state = state
        reason = ""
        if state != "streaming" and self.hub.describe is not None:
            try:
                reason = self.hub.describe(self.camera)
            except Exception:  # the camera left the config: the state alone says it
                reason = ""
        told = (state, reason)
        with self.hub.lock:
            tell = [s for s in self.subs.values() if s.told != told]
            for s in tell:
                s.told = told
        for s in tell:
            s.viewer.offer_state(self.camera, state, reason)


@dataclass
class LiveHub:
    """Every live encoder of one camera manager (``reader`` is its `CameraManager.reader`)."""

    reader: ReaderLookup
    # Remote cameras' feeds (the manager's lookup); None: every camera is read here.
    feed: FeedLookup | None = None
    # The camera's state and reason for a person (`CameraStatus.summary`), sent with every
    # state but streaming; None: states alone.
    describe: Callable[[str], str] | None = None
    grace_s: float = 10.0
    stall_s: float = 5.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _encoders: dict[tuple[str, int], _Encoder] = field(default_factory=dict)
    _closed: bool = False

    def subscribe(
        self, viewer: Viewer, camera: str, *, fps: float = 2.0, width: int = 640
    ) -> tuple[int, float]:
        """Start sending ``camera`` to ``viewer``; returns the width bucket and fps used.
        Raises NotFound for an unknown camera (naming the known ones)."""
        self.reader(camera)  # raises NotFound
        fps = min(MAX_FPS, max(MIN_FPS, fps))
        bucket = width_bucket(width)
        start: _Encoder | None = None
        with self.lock:
            if self._closed:
                raise InvalidInput("live view is shutting down")
            # One subscription per camera and viewer: frames carry the camera's name only, so
            # watching it larger moves the viewer to the larger encoder.
            for (cam, w), other in self._encoders.items():
                if cam == camera and w != bucket and id(viewer) in other.subs:
                    del other.subs[id(viewer)]
                    if not other.subs:
                        other.empty_since = time.monotonic()
            enc = self._encoders.get((camera, bucket))
            if enc is None:
                enc = _Encoder(self, camera, bucket)
                self._encoders[(camera, bucket)] = enc
                start = enc
            sub = enc.subs.get(id(viewer))
            if sub is None:
                enc.subs[id(viewer)] = _Subscription(viewer, fps)
            else:
                sub.fps = fps
            enc.empty_since = None
        if start is not None:
            start.start()
        return bucket, fps

    def unsubscribe(self, viewer: Viewer, camera: str) -> None:
        with self.lock:
            for (cam, _), enc in self._encoders.items():
                if cam == camera and enc.subs.pop(id(viewer), None) is not None and not enc.subs:
                    enc.empty_since = time.monotonic()

    def drop(self, viewer: Viewer) -> None:
        """Forget a viewer that went away (every camera it watched)."""
        with self.lock:
            for enc in self._encoders.values():
                if enc.subs.pop(id(viewer), None) is not None and not enc.subs:
                    enc.empty_since = time.monotonic()

    def expire(self, encoder: _Encoder) -> bool:
        """Called by an encoder each round: True (and it is forgotten) once it has had no
        subscriber for ``grace_s``."""
        with self.lock:
            if self._closed:
                return True
            if encoder.subs or encoder.empty_since is None:
                return False
            if time.monotonic() - encoder.empty_since < self.grace_s:
                return False
            if self._encoders.get((encoder.camera, encoder.width)) is encoder:
                del self._encoders[(encoder.camera, encoder.width)]
            return True

    def forget(self, encoder: _Encoder) -> None:
        """An encoder that ended (expired or crashed) leaves the table; its viewers, if any,
        get a new one on their next subscribe."""
        with self.lock:
            if self._encoders.get((encoder.camera, encoder.width)) is encoder:
                del self._encoders[(encoder.camera, encoder.width)]

    def stats(self) -> list[EncoderStats]:
        with self.lock:
            return [
                EncoderStats(cam, w, len(e.subs), e.encoded, e.state)
                for (cam, w), e in sorted(self._encoders.items())
            ]

    def close(self) -> None:
        with self.lock:
            self._closed = True
            encoders = list(self._encoders.values())
            self._encoders.clear()
        for enc in encoders:
            enc.stop()
        for enc in encoders:
            enc.join(2.0)
