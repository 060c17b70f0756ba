"""The supervised worker of one camera: every interval, the latest frame goes to the pipeline.

A ``CameraRuntime`` outlives the workers the supervisor creates for its camera: it holds the
pipeline (with its live zones), the counters shown in /api/health and ``watchdog_status``,
and the current reader, so a snapshot still works while a crashed worker is being replaced.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from homelab_hub.cameras.audio.sink import AudioSink
from homelab_hub.cameras.detect.pipeline import CameraPipeline, SampleResult
from homelab_hub.cameras.settings import CameraConfig
from homelab_hub.cameras.stream.reader import FrameReader, ReaderStatus
from homelab_hub.redact import redact_url
from homelab_hub.workers import WorkerContext

log = logging.getLogger(__name__)

_BEAT_EVERY_S = 1.0  # fresh last_frame_age_s in health even with a long sampling interval
_READER_JOIN_S = 5.0
_STUCK_MARGIN_S = 30.0


class ReaderStuck(RuntimeError):
    """The reader thread stopped making progress (it should never block past its timeouts)."""


@dataclass(frozen=True)
class StreamStats:
    """What a camera's worker beats with: shown per camera in /api/health, camera_list and
    watchdog_status. URLs and errors are redacted."""

    camera: str
    stream: str  # the reader's state, or stopped
    url: str  # the stream decoded (the detect stream when there is one)
    last_frame_age_s: float | None
    sampled_fps: float
    reconnects: int
    model_latency_ms: float | None
    decode_mode: str | None
    samples: int
    motion_samples: int
    model_calls: int
    alerts: int
    last_decision: str | None
    last_error: str
    # The microphone (None when audio is off or the stream has none): codec, level of the
    # last second, when a chunk last went through the model.
    audio_codec: str | None = None
    audio_level_dbfs: float | None = None
    last_transcript_ts: float | None = None

    def beat(self) -> dict[str, Any]:
        """As heartbeat details (the supervisor keeps plain data)."""
        return asdict(self)


@dataclass(frozen=True)
class LastSample:
    ts: float  # time of the frame analysed
    result: SampleResult
    frame_shape: tuple[int, ...]


class CameraRuntime:
    """What one camera knows across worker restarts: pipeline, reader, counters."""

    def __init__(
        self, name: str, camera: CameraConfig, pipeline: CameraPipeline, audio: AudioSink | None = None
    ) -> None:
        self.name = name
        self.camera = camera
        self.pipeline = pipeline
        self.audio = audio
        self._lock = threading.Lock()
        self._reader: FrameReader | None = None
        self._sample_times: deque[float] = deque(maxlen=512)
        self._started = time.monotonic()
        self._reconnects_before = 0  # reconnects of readers of earlier workers
        self.samples = self.motion_samples = self.model_calls = self.alerts = 0
        self.model_latency_ms: float | None = None
        self.last_sample: LastSample | None = None
        self.stale = False  # its pipeline was built on deps that have been replaced

    # -- used by the worker ---------------------------------------------------------------
    def attach(self, reader: FrameReader) -> None:
        with self._lock:
            if self._reader is not None:
                self._reconnects_before += self._reader.status().connects
            self._reader = reader

    def record(self, ts: float, result: SampleResult, shape: tuple[int, ...]) -> None:
        with self._lock:
            self.samples += 1
            self._sample_times.append(time.monotonic())
            if result.motion:  # the pipeline's own meaning (SampleResult.motion)
                self.motion_samples += 1
            if result.model_called:
                self.model_calls += 1
                if result.model_latency_s is not None:
                    self.model_latency_ms = round(result.model_latency_s * 1000, 1)
            if result.alert_id is not None:
                self.alerts += 1
            self.last_sample = LastSample(ts, result, shape)

    # -- read from any thread ---------------------------------------------------------------
    def latest(self, max_age_s: float | None = None, wait_s: float = 3.0) -> tuple[np.ndarray, float] | None:
        """The newest frame and its time. With ``max_age_s``, an older frame makes the reader
        decode a fresh one (waiting up to ``wait_s``; the old frame if none comes)."""
        with self._lock:
            reader = self._reader
        if reader is None:
            return None
        got = reader.latest()
        # A negative age is a clock set back since the frame: not known fresh, so refresh it.
        if (
            max_age_s is not None
            and reader.alive
            and (got is None or not 0 <= time.time() - got[1] <= max_age_s)
        ):
            if reader.wait_newer(reader.request_frame(), wait_s):
                got = reader.latest()
        return None if got is None else (got[0], got[1])

    def reader(self) -> FrameReader | None:
        """The current worker's reader (None between workers): the live encoder reads from it."""
        with self._lock:
            return self._reader

    def reader_status(self) -> ReaderStatus | None:
        with self._lock:
            reader = self._reader
        return reader.status() if reader is not None else None

    def sampled_fps(self) -> float:
        window = max(60.0, 3 * self.camera.interval_s)
        now = time.monotonic()
        with self._lock:
            recent = sum(1 for t in self._sample_times if now - t <= window)
        span = min(window, max(now - self._started, 1e-6))
        return round(recent / span, 3)

    def reconnects(self) -> int:
        """Reopens of the stream since the hub started: within a reader and across workers."""
        status = self.reader_status()
        with self._lock:
            before = self._reconnects_before
        if status is None:
            return before
        return before + status.reconnects

    def stats(self) -> StreamStats:
        status = self.reader_status()
        age = None
        if status is not None and status.last_frame_ts is not None:
            age = round(max(0.0, time.time() - status.last_frame_ts), 1)
        last = self.last_sample
        sound = self.audio.status() if self.audio is not None else None
        return StreamStats(
            camera=self.name,
            stream=status.state if status else "stopped",
            url=redact_url(self.camera.sample_url),
            last_frame_age_s=age,
            sampled_fps=self.sampled_fps(),
            reconnects=self.reconnects(),
            model_latency_ms=self.model_latency_ms,
            decode_mode=status.decode_mode if status else None,
            samples=self.samples,
            motion_samples=self.motion_samples,
            model_calls=self.model_calls,
            alerts=self.alerts,
            last_decision=last.result.decision if last else None,
            last_error=(status.last_error if status else "")[:300],  # redacted by the reader
            audio_codec=sound.codec if sound is not None else None,
            audio_level_dbfs=sound.level_dbfs if sound is not None else None,
            last_transcript_ts=sound.last_transcript_ts if sound is not None else None,
        )


class CameraWorker:
    """Worker protocol: samples the latest frame every ``interval_s`` until stopped."""

    def __init__(self, runtime: CameraRuntime) -> None:
        self.runtime = runtime
        camera = runtime.camera
        self.name = f"camera:{runtime.name}"
        # A sample may wait on the vision model; the reader never blocks past its own timeouts.
        self.heartbeat_timeout: float | None = max(120.0, 3 * camera.interval_s)
        # Longest a healthy reader can go without progress: an open, a blocked read, a backoff.
        self._stuck_after_s = (
            camera.reader.open_timeout_s
            + camera.reader.stall_timeout_s
            + camera.reader.backoff_max_s
            + _STUCK_MARGIN_S
        )

    def run(self, ctx: WorkerContext) -> None:
        camera = self.runtime.camera
        reader = FrameReader(
            camera.sample_url,
            camera.reader,
            name=self.runtime.name,
            interval_s=camera.interval_s,
            audio=self.runtime.audio,
        )
        self.runtime.attach(reader)
        reader.start()
        try:
            self._loop(ctx, reader)
        finally:
            reader.stop()
            if not reader.join(_READER_JOIN_S):
                # Left alone, never closed from here: it finishes on its own read timeout.
                log.warning(
                    "camera %s: reader still blocked after stop; leaving it to time out", self.runtime.name
                )

    def _loop(self, ctx: WorkerContext, reader: FrameReader) -> None:
        interval = self.runtime.camera.interval_s
        next_sample = time.monotonic()
        last_seq = 0
        connects = 0
        ctx.beat(**self.runtime.stats().beat())
        while not ctx.stop.is_set():
            now = time.monotonic()
            if now < next_sample:
                if ctx.wait(min(_BEAT_EVERY_S, next_sample - now)):
                    break
                self._check_reader(reader)
                ctx.beat(**self.runtime.stats().beat())
                continue
            got = self._fresh_frame(ctx, reader, last_seq, deadline=now + max(interval, 2.0))
            # Schedule from the plan, not from "now", so a slow model call does not drift the
            # cadence; skip the ticks a very slow call has already missed.
            next_sample += interval
            if next_sample < time.monotonic():
                next_sample = time.monotonic() + interval
            if got is None:
                continue
            frame, ts, last_seq = got
            now_connects = reader.status().connects
            if now_connects != connects:
                # A new connection: the previous analysed frame may be minutes old (or from
                # another exposure), so comparing against it would be a false global change.
                if connects:
                    self.runtime.pipeline.stream_restarted()
                connects = now_connects
            result = self.runtime.pipeline.process(frame, ts)
            self.runtime.record(ts, result, frame.shape)
            ctx.beat(**self.runtime.stats().beat())

    def _fresh_frame(
        self, ctx: WorkerContext, reader: FrameReader, last_seq: int, deadline: float
    ) -> tuple[np.ndarray, float, int] | None:
        """Ask the reader for a new frame and wait for it (beating meanwhile); None when the
        stream gave none before the deadline (stalled, reconnecting) or the worker stops."""
        seq = reader.request_frame()
        if seq <= last_seq:
            while not reader.wait_newer(max(seq, last_seq), _BEAT_EVERY_S):
                if ctx.stop.is_set() or time.monotonic() >= deadline:
                    return None
                self._check_reader(reader)
                ctx.beat(**self.runtime.stats().beat())
        got = reader.latest()
        return got if got is not None and got[2] > last_seq else None

    def _check_reader(self, reader: FrameReader) -> None:
        if not reader.alive:
            raise ReaderStuck(f"camera {self.runtime.name}: reader thread ended unexpectedly")
        age = reader.status().activity_age_s
        if age > self._stuck_after_s:
            # The seed's zombie: alive but making no progress. Crash so the supervisor
            # starts a fresh worker (and reader); the stuck thread is abandoned, not closed.
            raise ReaderStuck(f"camera {self.runtime.name}: reader made no progress for {age:.0f}s")
