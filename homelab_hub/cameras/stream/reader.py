"""One thread per camera stream, decoding only what sampling needs and keeping the latest frame.

The thread owns its PyAV container from open to close: nobody else ever touches it. Closing
an FFmpeg network read from another thread deadlocked the seed's camera monitor (both
threads frozen at 300 % CPU for three days), so stopping is a request: ``stop()`` sets an
event that the thread checks between packets, and a blocked read returns by itself within
``stall_timeout_s`` (PyAV's read timeout), after which the thread closes its own container.

Sampling every 5 s must not cost decoding 15 frames a second. In keyframe mode a packet
reaches the decoder only when it is a keyframe and a frame is wanted: the first of each
connection, then one per ``request_frame()`` (the worker asks once per sample, a snapshot
when the latest frame is old); every other packet is demuxed and dropped. When the stream's
keyframes are rarer than the sampling interval (``decode="auto"``), every frame is decoded
(references need it). Either way a frame becomes BGR only when someone reads it.

While someone watches the camera live (`want_live`, renewed by the live encoder), the reader
decodes at the rate the viewers need: every keyframe when keyframes come at least that often,
else every frame; when the last viewer leaves it goes back to decoding only what sampling needs.

With an `AudioSink` (the camera has ``audio.enabled``), the audio track of the same session is
demuxed too and every audio packet goes to the sink, in keyframe mode as well; without one,
or when the stream has no decodable audio, only the video is demuxed, as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from homelab_hub.cameras.settings import ReaderConfig
from homelab_hub.lazy import lazy_module
from homelab_hub.redact import redact_text, redact_url

av = lazy_module("av")

if TYPE_CHECKING:
    from homelab_hub.cameras.audio.sink import AudioSink

log = logging.getLogger(__name__)

# The longest wait for a keyframe to resume decoding before the stream counts as stalled.
_KEYFRAME_WAIT_MAX_S = 60.0

ReaderState = Literal["starting", "connecting", "streaming", "reconnecting", "stopped"]
_LIVE_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")


class StreamStalled(Exception):
    """No decodable frame arrived within the stall timeout."""


@dataclass(frozen=True)
class ReaderStatus:
    state: ReaderState
    url: str
    connects: int
    reconnects: int
    frames_decoded: int
    packets_read: int
    decode_errors: int
    decode_mode: str
    last_frame_ts: float | None
    last_error: str
    last_error_ts: float | None
    activity_age_s: float
    keyframe_gap_s: float | None


@dataclass
class _Latest:
    frame: Any = None  # the decoded av.VideoFrame; converted to BGR on first read
    bgr: np.ndarray | None = None
    ts: float = 0.0
    seq: int = 0


@dataclass
class _Session:
    """Per-connection bookkeeping inside the reader thread."""

    opened: float
    mode: Literal["keyframes", "all"]
    last_frame: float  # last decoded frame, or in keyframe mode last keyframe seen
    last_keyframe: float
    published: int = 0
    synced: bool = False  # the decoder has seen a keyframe since the last skipped packet
    # A keyframe went in but no frame came out yet (a decoder with delay, B-frames): the packets
    # after it are decoded too until one does, even in keyframe mode.
    draining: bool = False
    keyframes: deque[float] = field(default_factory=lambda: deque(maxlen=8))
    pace_origin: tuple[float, float] | None = None  # (wall monotonic, media seconds) for files
    frame_period: float = 0.04  # files without timestamps (raw .h264) are paced by frame rate
    packets: int = 0


class FrameReader:
    """Reads one stream in its own thread; ``latest()`` gives the newest decoded frame."""

    def __init__(
        self, url: str, config: ReaderConfig, *, name: str, interval_s: float, audio: AudioSink | None = None
    ) -> None:
        self.url = url
        self.audio = audio
        self.config = config
        self.name = name
        self.interval_s = interval_s
        self.live = url.lower().startswith(_LIVE_SCHEMES)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._published = threading.Condition(self._lock)
        self._convert_lock = threading.Lock()  # a frame's swscale context is not thread-safe
        self._wanted = False
        self._latest = _Latest()
        self._thread: threading.Thread | None = None
        self._state: ReaderState = "starting"
        self._mode: Literal["keyframes", "all"] = "keyframes" if config.decode != "all" else "all"
        self._connects = self._reconnects = self._frames = self._packets = self._decode_errors = 0
        self._last_error = ""
        self._last_error_ts: float | None = None
        self._activity = time.monotonic()
        self._keyframe_gap: float | None = None
        self._live_fps = 0.0
        self._live_until = 0.0  # monotonic; a demand not renewed by then has lapsed

    # -- control (any thread) -----------------------------------------------------------
    def start(self) -> FrameReader:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"camera-reader:{self.name}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the thread to finish; it closes its own container. Never blocks long."""
        self._stop.set()
        with self._published:
            self._published.notify_all()

    def join(self, timeout: float) -> bool:
        """Wait for the thread to end; False if it is still running after ``timeout``."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def latest(self) -> tuple[np.ndarray, float, int] | None:
        """(BGR frame, wall-clock time it was decoded, sequence number), or None before the first.
        The conversion to BGR happens here, in the caller's thread, once per frame."""
        with self._lock:
            latest = self._latest
        if latest.frame is None:
            return None
        with self._convert_lock:
            if latest.bgr is None:
                latest.bgr = latest.frame.to_ndarray(format="bgr24")
        return latest.bgr, latest.ts, latest.seq

    def request_frame(self) -> int:
        """Ask for a freshly decoded frame (keyframe mode decodes the next keyframe); returns the
        current sequence number, for `wait_newer`."""
        with self._lock:
            self._wanted = True
            return self._latest.seq

    def wait_newer(self, seq: int, timeout: float) -> bool:
        """Wait until a frame newer than ``seq`` is published; False on timeout or stop."""
        with self._published:
            return self._published.wait_for(
                lambda: self._latest.seq > seq or self._stop.is_set(), timeout
            ) and (self._latest.seq > seq)

    def want_live(self, fps: float, hold_s: float = 3.0) -> None:
        """Viewers watch at ``fps``: decode that often for the next ``hold_s`` seconds (the live
        encoder renews it while anyone watches, so a demand nobody renews lapses by itself)."""
        with self._lock:
            self._live_fps = fps
            self._live_until = time.monotonic() + hold_s

    def _live_decode(self, now: float) -> Literal["none", "keyframes", "all"]:
        """How much live viewers need decoded now (called by the reader thread)."""
        with self._lock:
            if now > self._live_until or self._live_fps <= 0:
                return "none"
            fps, gap = self._live_fps, self._keyframe_gap
        # Keyframes alone suffice when they come at least as often as the viewers' frames.
        return "keyframes" if gap is not None and gap <= 1.0 / fps else "all"

    def status(self) -> ReaderStatus:
        with self._lock:
            return ReaderStatus(
                state=self._state,
                url=redact_url(self.url),
                connects=self._connects,
                reconnects=self._reconnects,
                frames_decoded=self._frames,
                packets_read=self._packets,
                decode_errors=self._decode_errors,
                decode_mode=self._mode,
                last_frame_ts=self._latest.ts if self._latest.frame is not None else None,
                last_error=self._last_error,
                last_error_ts=self._last_error_ts,
                activity_age_s=time.monotonic() - self._activity,
                keyframe_gap_s=self._keyframe_gap,
            )

    # -- the reader thread ----------------------------------------------------------------
    def _run(self) -> None:
        backoff = self.config.backoff_initial_s
        attempts = 0
        while not self._stop.is_set():
            self._set(state="connecting" if attempts == 0 else "reconnecting")
            if attempts:
                with self._lock:
                    self._reconnects += 1
            attempts += 1
            healthy, finished_file = False, False
            try:
                container = self._open()
            except Exception as exc:  # any open failure: record, back off, retry
                self._error(f"cannot open {redact_url(self.url)}: {_describe(exc)}")
            else:
                try:
                    healthy, finished_file = self._read(container)
                except Exception as exc:  # read error or stall: reopen
                    self._error(f"stream {redact_url(self.url)} lost: {_describe(exc)}")
                finally:
                    _close(container)  # in this thread, always: see the module docstring
                    if self.audio is not None:
                        self.audio.close()
            if self._stop.is_set():
                break
            if healthy:
                backoff = self.config.backoff_initial_s
            if finished_file and healthy:
                continue  # a file camera loops from the start, like a camera that never ends
            if finished_file:
                self._error(f"{redact_url(self.url)} ended without a decodable frame")
            if self._stop.wait(backoff):
                break
            backoff = min(backoff * 2, self.config.backoff_max_s)
        self._set(state="stopped")

    def _open(self) -> Any:
        options: dict[str, str] = {}
        if self.url.lower().startswith(("rtsp://", "rtsps://")):
            options["rtsp_transport"] = self.config.transport
            # FFmpeg's socket I/O timeout (µs): a dead TCP peer cannot hold the read forever.
            options["timeout"] = str(int(self.config.stall_timeout_s * 1_000_000))
        if self.live:
            options["analyzeduration"] = "1000000"  # default 5 s of probing delays each reconnect
        # PyAV's read timeout fires after about twice its value on RTSP (measured: 2 s -> 4 s),
        # so half the stall timeout makes a silent camera count as stalled on time.
        started = time.monotonic()
        try:
            container = av.open(
                self.url,
                options=options,
                timeout=(self.config.open_timeout_s, self.config.stall_timeout_s / 2),
            )
        except av.error.FFmpegError as exc:
            # A listener that accepts and never answers ends in FFmpeg's "Invalid data found
            # when processing input" once the timeout interrupts the probe: say what happened.
            if time.monotonic() - started >= self.config.open_timeout_s * 0.9:
                raise TimeoutError(
                    f"no answer within {self.config.open_timeout_s:g}s (reader.open_timeout_s)"
                ) from exc
            raise
        if not container.streams.video:
            container.close()
            raise ValueError("it has no video stream (is it a video file or camera URL?)")
        with self._lock:
            self._connects += 1
        log.info("camera %s: opened %s", self.name, redact_url(self.url))
        return container

    def _read(self, container: Any) -> tuple[bool, bool]:
        """Demux until stopped, stalled or ended. Returns (got a frame, file ended cleanly)."""
        stream = container.streams.video[0]
        stream.thread_type = "SLICE"  # frame threading would hold keyframes back N packets
        now = time.monotonic()
        session = _Session(
            opened=now,
            mode=self._mode if self.config.decode != "auto" else "keyframes",
            last_frame=now,
            last_keyframe=now,
        )
        rate = stream.average_rate or stream.guessed_rate
        if rate:
            session.frame_period = 1.0 / float(rate)
        self._set(state="streaming", mode=session.mode)
        got_frame = False
        audio = self.audio.open(container) if self.audio is not None else None
        for packet in container.demux(stream) if audio is None else container.demux(stream, audio):
            if self._stop.is_set():
                return got_frame, False
            now = time.monotonic()
            self._activity = now
            if packet.size == 0:
                continue  # demuxer's end-of-stream marker
            if audio is not None and packet.stream_index == audio.index:
                self.audio.feed(packet)  # type: ignore[union-attr]  # every one: audio has no keyframes
                self._check_stall(session, now)  # sound alone does not keep a frozen picture alive
                continue
            with self._lock:
                self._packets += 1
            if not self.live:
                self._pace(packet, session)
            if packet.is_keyframe:
                session.last_keyframe = now
                if session.mode == "keyframes":
                    session.last_frame = now  # a keyframe not due yet still proves the stream lives
                self._note_keyframe(session, _media_time(packet))
            if self._decode(packet, session, now):
                got_frame = True
            self._check_stall(session, now)
        if self.live:
            raise EOFError("the stream ended")
        return got_frame, True

    def _decode(self, packet: Any, session: _Session, now: float) -> bool:
        live = self._live_decode(now) if session.mode == "keyframes" else "none"
        if session.mode == "keyframes" and live != "all" and not (session.draining and session.synced):
            if not packet.is_keyframe:
                session.synced = False  # a skipped P-frame breaks the reference chain
                return False  # dropped without decoding: the whole point of keyframe mode
            with self._lock:
                wanted = self._wanted or session.published == 0 or live == "keyframes"
            if not wanted:
                return False
        elif not session.synced and not packet.is_keyframe:
            return False  # P-frames before a keyframe refer to frames never decoded
        try:
            frames = packet.decode()
        except av.error.FFmpegError as exc:
            # One corrupt packet (a lost RTP fragment) is no reason to reconnect; a stream that
            # never decodes again is caught by the stall check.
            session.synced = False
            with self._lock:
                self._decode_errors += 1
            log.debug("camera %s: undecodable packet: %s", self.name, _describe(exc))
            return False
        if packet.is_keyframe:
            session.synced = True
        if not frames:
            session.draining = session.synced  # the decoder holds it back: feed it the next ones
            return False
        session.draining = False
        session.last_frame = now
        session.published += 1
        with self._published:
            self._frames += len(frames)
            self._latest = _Latest(frames[-1], None, time.time(), self._latest.seq + 1)
            self._wanted = False
            self._published.notify_all()
        return True

    def _note_keyframe(self, session: _Session, media: float | None) -> None:
        # Gaps in stream time, not arrival time: packets arrive in bursts after each (re)open.
        if media is None:
            return
        if session.keyframes and media > session.keyframes[-1]:
            gap = media - session.keyframes[-1]
            with self._lock:
                self._keyframe_gap = (
                    gap if self._keyframe_gap is None else 0.7 * self._keyframe_gap + 0.3 * gap
                )
            if self.config.decode == "auto" and session.mode == "keyframes" and gap > self.interval_s:
                self._switch_to_all(
                    session, f"keyframes {gap:.1f}s apart exceed the {self.interval_s:g}s interval"
                )
        session.keyframes.append(media)

    def _check_stall(self, session: _Session, now: float) -> None:
        if self.config.decode == "auto" and session.mode == "keyframes":
            waited = now - session.last_keyframe
            # 1.5x and at least 1.5 s: packets arrive in bursts right after an open.
            if waited > 1.5 * max(self.interval_s, 1.0):
                self._switch_to_all(
                    session, f"no keyframe for {waited:.1f}s, longer than the {self.interval_s:g}s interval"
                )
                session.last_frame = now
                return
        silent = now - session.last_frame
        limit = self.config.stall_timeout_s
        if session.mode == "all" and not session.synced:
            # Packets arrive but the chain waits for the next keyframe (switched from keyframe
            # mode, or after a corrupt one): a camera with keyframes 25 s apart is not stalled.
            gap = self._keyframe_gap
            limit = max(limit, min(_KEYFRAME_WAIT_MAX_S, 1.5 * gap if gap else _KEYFRAME_WAIT_MAX_S))
        if silent > limit:
            raise StreamStalled(
                f"no decodable frame for {silent:.1f}s (stall_timeout_s {self.config.stall_timeout_s:g}, {limit:g} s while waiting for a keyframe)"
                if limit > self.config.stall_timeout_s
                else f"no decodable frame for {silent:.1f}s (stall_timeout_s {self.config.stall_timeout_s:g})"
            )

    def _switch_to_all(self, session: _Session, why: str) -> None:
        log.info("camera %s: decoding every frame: %s", self.name, why)
        session.mode = "all"
        session.synced = False  # the P-frames skipped so far were never decoded
        self._set(mode="all")

    def _pace(self, packet: Any, session: _Session) -> None:
        """Play a file at its own speed, so a file camera behaves like a live one."""
        session.packets += 1
        media = _media_time(packet)
        if media is None:
            media = session.packets * session.frame_period
        if session.pace_origin is None:
            session.pace_origin = (time.monotonic(), media)
            return
        ahead = session.pace_origin[0] + (media - session.pace_origin[1]) - time.monotonic()
        if ahead > 0:
            self._stop.wait(min(ahead, 5.0))

    def _set(
        self, *, state: ReaderState | None = None, mode: Literal["keyframes", "all"] | None = None
    ) -> None:
        with self._lock:
            if state is not None:
                self._state = state
            if mode is not None:
                self._mode = mode
            self._activity = time.monotonic()

    def _error(self, message: str) -> None:
        """Record and log an error; ``message`` is already redacted (URLs by `redact_url`,
        exception texts by `_describe`)."""
        log.warning("camera %s: %s", self.name, message)
        with self._lock:
            self._last_error, self._last_error_ts = message, time.time()


def _close(container: Any) -> None:
    try:
        container.close()
    except Exception as exc:  # a failed close must not end the reader thread
        log.warning("closing a camera stream failed: %s", _describe(exc))


def _media_time(packet: Any) -> float | None:
    ts = packet.pts if packet.pts is not None else packet.dts
    if ts is None or packet.time_base is None:
        return None
    return float(ts * packet.time_base)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, av.error.ExitError):
        return "no data before the timeout"
    if isinstance(exc, av.error.FFmpegError) and exc.strerror:
        text = str(exc.strerror)  # without the URL FFmpeg appends (it may carry a password)
    else:
        text = str(exc).strip()
    return redact_text(f"{type(exc).__name__}: {text}") if text else type(exc).__name__
