"""A camera's microphone: the audio track of the stream the reader already has open.

Cheap cameras allow two or three RTSP sessions, so audio is never a second connection: the
reader demuxes the audio packets of its own session and hands every one of them (keyframe
mode included: audio has no keyframes to wait for) to the camera's `AudioSink`, in the reader
thread. The sink decodes, resamples to 16 kHz mono float (what whisper wants), keeps the last
``chunk_s + preroll_s`` seconds in an `AudioRing` and, every ``chunk_s``, cuts a chunk at the
quietest point near the boundary (so a word is not split in two) and hands it to the shared
transcriber, which never blocks (its queue drops the oldest chunk).

A camera without ``audio.enabled`` has no sink and the reader demuxes its video only; a
stream without an audio track, or with a codec PyAV cannot decode, costs one check at open.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from homelab_hub.cameras.settings import AudioConfig
from homelab_hub.errors import InvalidInput
from homelab_hub.lazy import lazy_module

av = lazy_module("av")

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000  # whisper's input rate
SILENCE_DBFS = -120.0  # the floor: digital silence has no finite level
_CUT_SEARCH = 0.4  # the cut is searched in the last 40 % of a chunk
_CUT_WINDOW_S = 0.1
_LOUD_WINDOW_S = 0.5  # the level gate looks at the loudest half second of a chunk
_MIN_TAIL_S = 2.0  # a partial chunk left at a reconnect is sent only when at least this long

AudioState = Literal["connecting", "streaming", "no_track", "undecodable"]


def level_dbfs(samples: np.ndarray) -> float:
    """RMS level in dB relative to full scale (a full-scale square wave is 0 dBFS)."""
    if samples.size == 0:
        return SILENCE_DBFS
    rms = math.sqrt(float(np.mean(np.square(samples, dtype=np.float64))))
    return max(SILENCE_DBFS, 20 * math.log10(rms)) if rms > 0 else SILENCE_DBFS


def loudest_dbfs(samples: np.ndarray, window_s: float = _LOUD_WINDOW_S) -> float:
    """The level of the loudest window: two seconds of speech in a quiet 15 s chunk still count."""
    window = max(1, int(window_s * SAMPLE_RATE))
    if samples.size <= window:
        return level_dbfs(samples)
    usable = samples[: samples.size // window * window].astype(np.float64).reshape(-1, window)
    rms = np.sqrt(np.mean(np.square(usable), axis=1)).max()
    return max(SILENCE_DBFS, 20 * math.log10(rms)) if rms > 0 else SILENCE_DBFS


def clean(samples: np.ndarray) -> np.ndarray:
    """float32 in [-1, 1]: a decoder that hands back NaN, infinities or wild values (a corrupt
    packet) must not poison the level, the model or the clip."""
    out = np.nan_to_num(np.asarray(samples, dtype=np.float32).reshape(-1), nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(out, -1.0, 1.0, out=out)


@dataclass(frozen=True)
class AudioChunk:
    """About ``chunk_s`` of one camera's audio. ``start_ts`` is wall-clock time for a live
    camera and seconds into the clip for a replay."""

    camera: str
    start_ts: float
    samples: np.ndarray  # float32, mono, SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return self.samples.size / SAMPLE_RATE

    @property
    def end_ts(self) -> float:
        return self.start_ts + self.duration_s

    @property
    def level_dbfs(self) -> float:
        return loudest_dbfs(self.samples)


class AudioRing:
    """The last ``seconds`` of audio, preallocated once; not thread-safe (the sink locks)."""

    def __init__(self, seconds: float) -> None:
        self.capacity = max(SAMPLE_RATE, int(seconds * SAMPLE_RATE))
        self._buf = np.zeros(self.capacity, np.float32)
        self._write = 0
        self.filled = 0

    def push(self, samples: np.ndarray) -> None:
        samples = samples[-self.capacity :]
        n = samples.size
        first = min(n, self.capacity - self._write)
        self._buf[self._write : self._write + first] = samples[:first]
        self._buf[: n - first] = samples[first:]
        self._write = (self._write + n) % self.capacity
        self.filled = min(self.capacity, self.filled + n)

    def tail(self, n: int) -> np.ndarray:
        """A copy of the newest ``n`` samples (fewer when fewer were written)."""
        n = min(n, self.filled)
        start = (self._write - n) % self.capacity
        if start + n <= self.capacity:
            return self._buf[start : start + n].copy()
        return np.concatenate([self._buf[start:], self._buf[: (start + n) % self.capacity]])

    def clear(self) -> None:
        self._write = self.filled = 0


class AudioChunker:
    """Cuts a continuous 16 kHz stream into chunks of about ``chunk_s`` seconds, each ending
    in the quietest 100 ms of its last 40 %, so speech that crosses the boundary stays whole."""

    def __init__(self, camera: str, chunk_s: float, keep_s: float) -> None:
        self.camera = camera
        self.chunk = int(chunk_s * SAMPLE_RATE)
        self.ring = AudioRing(max(keep_s, 2 * chunk_s))
        self.pending = 0  # samples at the ring's end not yet cut into a chunk

    def push(self, samples: np.ndarray, now: float) -> list[AudioChunk]:
        """Add samples that ended at ``now``; returns the chunks this completed."""
        self.ring.push(samples)
        self.pending = min(self.pending + samples.size, self.ring.filled)
        out: list[AudioChunk] = []
        while self.pending >= self.chunk:
            span = self.ring.tail(self.pending)
            cut = _quiet_cut(span[: self.chunk])
            start = now - self.pending / SAMPLE_RATE
            out.append(AudioChunk(self.camera, start, span[:cut]))
            self.pending -= cut
        return out

    def flush(self, now: float, min_s: float = _MIN_TAIL_S) -> AudioChunk | None:
        """The partial chunk at the end (the stream ended or reconnects), if long enough."""
        pending, self.pending = self.pending, 0
        if pending < min_s * SAMPLE_RATE:
            return None
        return AudioChunk(self.camera, now - pending / SAMPLE_RATE, self.ring.tail(pending))

    def recent(self, seconds: float) -> np.ndarray:
        return self.ring.tail(int(seconds * SAMPLE_RATE))


def _quiet_cut(span: np.ndarray) -> int:
    window = int(_CUT_WINDOW_S * SAMPLE_RATE)
    lo = int(span.size * (1 - _CUT_SEARCH)) // window * window
    tail = span[lo : lo + (span.size - lo) // window * window]
    if tail.size < window:
        return span.size
    energy = np.mean(np.square(tail.reshape(-1, window)), axis=1)
    # The latest window within 3 dB of the quietest: a pause in speech is far quieter than the
    # words around it, and steady silence or hiss is cut near the full chunk length.
    quiet = np.flatnonzero(energy <= 2 * energy.min() + 1e-12)
    return lo + int(quiet[-1]) * window + window // 2


@dataclass(frozen=True)
class AudioStatus:
    """One camera's microphone, as camera_list and /api/health show it."""

    state: AudioState
    codec: str | None
    level_dbfs: float | None  # the last second
    chunks: int
    decode_errors: int
    last_transcript_ts: float | None
    last_error: str


class AudioSink:
    """Receives one camera's audio packets from its reader thread; outlives reconnects.

    ``open``, ``feed`` and ``close`` are called by the reader thread only; ``status`` and
    ``note_transcript`` from any thread.
    """

    def __init__(self, camera: str, config: AudioConfig, submit: Callable[[AudioChunk], object]) -> None:
        self.camera = camera
        self.config = config
        self._submit = submit
        self._lock = threading.Lock()
        self._chunker = AudioChunker(camera, config.chunk_s, config.chunk_s + config.preroll_s)
        self._resampler: Any = None
        self._state: AudioState = "connecting"
        self._codec: str | None = None
        self._chunks = self._errors = 0
        self._last_error = ""
        self._last_transcript: float | None = None

    # -- the reader thread ------------------------------------------------------------------
    def open(self, container: Any) -> Any | None:
        """The audio stream of a freshly opened container to demux with the video, or None
        (no track, or a codec PyAV cannot decode: then the video is read alone, as before)."""
        streams = container.streams.audio
        if not streams:
            self._set("no_track", None, "")
            return None
        stream = streams[0]
        codec = stream.codec_context
        if codec is None:
            name = _codec_name(stream)
            self._set("undecodable", name, f"audio codec {name} cannot be decoded by PyAV; video only")
            log.warning("camera %s: audio codec %s cannot be decoded; reading video only", self.camera, name)
            return None
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        self._set("streaming", codec.name, "")
        log.info("camera %s: audio %s at %s Hz", self.camera, codec.name, codec.sample_rate)
        return stream

    def feed(self, packet: Any) -> None:
        """Decode one audio packet; a corrupt one is counted and skipped, never raised."""
        try:
            samples = [self._resample(frame) for frame in packet.decode()]
        except (av.error.FFmpegError, ValueError) as exc:
            with self._lock:
                self._errors += 1
                self._last_error = f"undecodable audio packet: {type(exc).__name__}"
            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            return
        if not samples:
            return
        block = clean(np.concatenate(samples)) if len(samples) > 1 else clean(samples[0])
        with self._lock:
            chunks = self._chunker.push(block, time.time())
        self._hand_over(chunks)

    def close(self) -> None:
        """The connection ended: send what is pending (when long enough), start afresh."""
        with self._lock:
            tail = self._chunker.flush(time.time())
            self._chunker.ring.clear()
            if self._state == "streaming":
                self._state = "connecting"
        self._resampler = None
        self._hand_over([tail] if tail is not None else [])

    # -- any thread ---------------------------------------------------------------------------
    def note_transcript(self, ts: float) -> None:
        with self._lock:
            self._last_transcript = ts

    def status(self) -> AudioStatus:
        with self._lock:
            recent = self._chunker.recent(1.0) if self._state == "streaming" else None
            return AudioStatus(
                state=self._state,
                codec=self._codec,
                level_dbfs=None if recent is None or recent.size == 0 else round(level_dbfs(recent), 1),
                chunks=self._chunks,
                decode_errors=self._errors,
                last_transcript_ts=self._last_transcript,
                last_error=self._last_error,
            )

    def _resample(self, frame: Any) -> np.ndarray:
        frames = self._resampler.resample(frame)
        if not frames:
            return np.zeros(0, np.float32)
        return np.concatenate([f.to_ndarray().reshape(-1) for f in frames])

    def _hand_over(self, chunks: list[AudioChunk]) -> None:
        for chunk in chunks:
            with self._lock:
                self._chunks += 1
            self._submit(chunk)

    def _set(self, state: AudioState, codec: str | None, error: str) -> None:
        with self._lock:
            self._state, self._codec = state, codec
            if error:
                self._last_error = error


def _codec_name(stream: Any) -> str:
    try:
        name = stream.codec.name if stream.codec is not None else ""
    except Exception:  # PyAV raises for a stream without a codec
        name = ""
    return name or "unknown"


def file_audio(path: str | Path, block_s: float = 1.0) -> Iterator[np.ndarray]:
    """The audio track of a file as 16 kHz mono float blocks (about ``block_s`` each), as fast
    as it decodes. Raises InvalidInput for a missing file, no audio track or no decoder."""
    path = str(path)
    try:
        container = av.open(path)
    except FileNotFoundError as exc:
        raise InvalidInput(f"clip {path!r} does not exist") from exc
    except (av.error.FFmpegError, OSError) as exc:
        raise InvalidInput(f"cannot read {path!r}: {getattr(exc, 'strerror', None) or exc}") from exc
    with container:
        if not container.streams.audio:
            raise InvalidInput(f"{path!r} has no audio track")
        stream = container.streams.audio[0]
        if stream.codec_context is None:
            raise InvalidInput(f"{path!r}: audio codec {_codec_name(stream)} cannot be decoded")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        pending: list[np.ndarray] = []
        size = 0
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    block = out.to_ndarray().reshape(-1)
                    pending.append(block)
                    size += block.size
                if size >= block_s * SAMPLE_RATE:
                    yield clean(np.concatenate(pending))
                    pending, size = [], 0
        except av.error.FFmpegError as exc:
            raise InvalidInput(f"cannot decode the audio of {path!r}: {exc.strerror or exc}") from exc
        for out in resampler.resample(None):
            pending.append(out.to_ndarray().reshape(-1))
        if pending:
            yield clean(np.concatenate(pending))


def write_clip(samples: np.ndarray, path: Path) -> int:
    """Save a chunk as Ogg Opus (24 kbit/s: 15 s is about 45 KB, and messengers play it as a
    voice note). Returns the bytes written. Raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = (clean(samples) * 32767).astype(np.int16).reshape(1, -1)
    try:
        with av.open(str(path), "w", format="ogg") as container:
            stream = container.add_stream("libopus", rate=SAMPLE_RATE, layout="mono")
            stream.bit_rate = 24_000
            frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            for packet in stream.encode(frame):
                container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
    except av.error.FFmpegError as exc:
        raise OSError(f"cannot write the audio clip {path}: {exc.strerror or exc}") from exc
    return path.stat().st_size
