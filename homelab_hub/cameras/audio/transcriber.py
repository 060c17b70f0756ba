"""The one transcriber of the hub: every camera's audio chunks, one model, one supervised worker.

Camera readers hand chunks to `Transcriber.submit` (never blocking: the queue holds
``queue_chunks`` and drops the oldest, so a slow model falls behind by losing old audio, not
by delaying new). The worker takes them one at a time through the gates
(`homelab_hub.cameras.audio.gate`); a chunk that passes is stored as an alert of kind
``audio`` or ``audio_urgent`` with its transcript and clip, logged and notified (Apprise with
the clip, the MQTT event, speakers). A transcript that fails the gate is kept in memory for
``rejected_keep_s`` for debugging and never notified; when a visual ALERT of the camera comes
within ``preroll_s`` after it, it is raised then (the speech just before the person was seen).

The `Transcriber` outlives its workers (like a camera's runtime): queue, model and counters
survive a crash of the worker thread, which the supervisor replaces.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from homelab_hub.cameras.audio.gate import ChunkVerdict, judge
from homelab_hub.cameras.audio.sink import AudioChunk, AudioSink
from homelab_hub.cameras.audio.speech import SpeechModel
from homelab_hub.cameras.settings import AlertsConfig, TranscriberConfig
from homelab_hub.errors import HubError
from homelab_hub.notify.bus import CameraAlert

if TYPE_CHECKING:
    from homelab_hub.cameras.alerts.store import AlertStore
    from homelab_hub.notify.bus import NotificationBus
    from homelab_hub.workers import WorkerContext

log = logging.getLogger(__name__)

WORKER_NAME = "audio:transcriber"
_MAX_REJECTED = 50
_PENDING_CHECK_S = 1.0


@dataclass(frozen=True)
class RejectedTranscript:
    """A transcript that failed the gate: shown in health for tuning, never notified."""

    camera: str
    ts: float
    transcript: str
    decision: str
    why: str


@dataclass
class TranscriberCounts:
    chunks: int = 0
    dropped: int = 0  # the queue was full: the oldest chunk went
    skipped_quiet: int = 0
    transcribed: int = 0
    alerts: int = 0
    urgent: int = 0
    gated: int = 0
    cooldown: int = 0
    failures: int = 0


@dataclass(frozen=True)
class TranscriberStatus:
    model: str
    model_dir: str
    loaded: bool
    device: str
    compute_type: str
    queued: int
    counts: TranscriberCounts
    last_error: str
    rejected: list[RejectedTranscript] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Camera:
    sink: AudioSink
    alerts: AlertsConfig


@dataclass
class _Pending:
    chunk: AudioChunk
    verdict: ChunkVerdict
    until: float  # wall time after which no visual alert can claim it


class Transcriber:
    """The shared queue, model and counters; thread-safe."""

    def __init__(
        self,
        config: TranscriberConfig,
        model: SpeechModel,
        *,
        alerts: AlertStore,
        bus: NotificationBus | None,
    ) -> None:
        self.config = config
        self.model = model
        self.alerts = alerts
        self.bus = bus
        self.counts = TranscriberCounts()
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._queue: deque[AudioChunk] = deque()
        self._cameras: dict[str, _Camera] = {}
        self._pending: list[_Pending] = []
        self._rejected: deque[RejectedTranscript] = deque(maxlen=_MAX_REJECTED)
        self._last_error = ""
        self._last_pending_check = 0.0

    # -- cameras (the manager) ---------------------------------------------------------------
    def attach(self, sink: AudioSink, alerts: AlertsConfig) -> None:
        with self._lock:
            self._cameras[sink.camera] = _Camera(sink, alerts)

    def detach(self, sink: AudioSink) -> None:
        """Forget a camera's sink (removed, or replaced by a reload); its queued chunks go."""
        with self._lock:
            if (cam := self._cameras.get(sink.camera)) is not None and cam.sink is sink:
                del self._cameras[sink.camera]
                self._queue = deque(c for c in self._queue if c.camera != sink.camera)
                self._pending = [p for p in self._pending if p.chunk.camera != sink.camera]

    # -- the readers ---------------------------------------------------------------------------
    def submit(self, chunk: AudioChunk) -> bool:
        """Queue a chunk without blocking; False when the oldest one had to go to make room."""
        with self._ready:
            self.counts.chunks += 1
            dropped = len(self._queue) >= self.config.queue_chunks
            if dropped:
                old = self._queue.popleft()
                self.counts.dropped += 1
                log.warning(
                    "transcriber: %d chunks waiting; dropped %s's chunk of %.0fs",
                    self.config.queue_chunks, old.camera, old.duration_s,
                )  # fmt: skip
            self._queue.append(chunk)
            self._ready.notify()
        return not dropped

    # -- the worker ------------------------------------------------------------------------------
    def take(self, timeout: float) -> AudioChunk | None:
        with self._ready:
            if not self._queue:
                self._ready.wait(timeout)
            return self._queue.popleft() if self._queue else None

    def process(self, chunk: AudioChunk) -> ChunkVerdict | None:
        """Judge one chunk and act on it; None when its camera is gone. Raises ConfigError
        (the model cannot load): the worker crashes and the supervisor says why."""
        with self._lock:
            cam = self._cameras.get(chunk.camera)
        if cam is None:
            return None
        verdict = judge(chunk, cam.sink.config, self.config, self.model, self._visual_alert)
        with self._lock:
            self.counts.skipped_quiet += verdict.decision == "quiet"
            self.counts.transcribed += verdict.transcribed
        if verdict.transcript:
            cam.sink.note_transcript(chunk.end_ts)
        if verdict.raises_alert:
            self._raise(chunk, verdict, cam)
        elif verdict.transcript or any(d.text for d in verdict.dropped):
            self._reject(chunk, verdict, cam)
        log.debug(
            "transcriber: %s %.1f dBFS %s (%s): %r",
            chunk.camera, verdict.level_dbfs, verdict.decision, verdict.why, verdict.transcript,
        )  # fmt: skip
        return verdict

    def promote_pending(self, now: float | None = None) -> int:
        """Raise gate-failed speech that a visual alert has since confirmed (the pre-roll);
        forget what can no longer be. Returns the alerts raised."""
        now = time.time() if now is None else now
        if now - self._last_pending_check < _PENDING_CHECK_S:
            return 0
        self._last_pending_check = now
        with self._lock:
            pending, self._pending = self._pending, []
        keep: list[_Pending] = []
        raised = 0
        for item in pending:
            chunk = item.chunk
            seen = self._visual_alert(chunk.camera, chunk.end_ts, item.until)
            with self._lock:
                cam = self._cameras.get(chunk.camera)
            if seen is not None and cam is not None:
                item.verdict.decision = "alert"
                item.verdict.visual_alert_ts = seen
                item.verdict.why = f"visual alert {seen - chunk.end_ts:.0f}s after the speech"
                self._raise(chunk, item.verdict, cam)
                raised += 1
            elif now <= item.until and cam is not None:
                keep.append(item)
        with self._lock:
            self._pending = keep + self._pending
        return raised

    def status(self) -> TranscriberStatus:
        cutoff = time.time() - self.config.rejected_keep_s
        with self._lock:
            while self._rejected and self._rejected[0].ts < cutoff:
                self._rejected.popleft()
            return TranscriberStatus(
                model=self.model.name,
                model_dir=str(self.model.path),
                loaded=self.model.loaded,
                device=self.config.device,
                compute_type=self.config.compute_type,
                queued=len(self._queue),
                counts=TranscriberCounts(**asdict(self.counts)),
                last_error=self._last_error,
                rejected=list(reversed(self._rejected)),
            )

    def note_failure(self, message: str) -> None:
        with self._lock:
            self.counts.failures += 1
            self._last_error = message[:300]

    # -- internals ---------------------------------------------------------------------------------
    def _visual_alert(self, camera: str, earliest: float, latest: float) -> float | None:
        try:
            return self.alerts.visual_alert_between(camera, earliest, latest)
        except HubError as exc:  # the database went away: the gate stays shut, urgent still passes
            log.warning("transcriber: cannot look up visual alerts of %s: %s", camera, exc.message)
            return None

    def _reject(self, chunk: AudioChunk, verdict: ChunkVerdict, cam: _Camera) -> None:
        with self._lock:
            self.counts.gated += verdict.decision == "gated"
            heard = verdict.transcript or " ".join(d.text for d in verdict.dropped if d.text)
            self._rejected.append(
                RejectedTranscript(chunk.camera, chunk.end_ts, heard, verdict.decision, verdict.why)
            )
            if verdict.decision == "gated" and cam.sink.config.preroll_s > 0:
                self._pending.append(_Pending(chunk, verdict, chunk.end_ts + cam.sink.config.preroll_s))

    def _raise(self, chunk: AudioChunk, verdict: ChunkVerdict, cam: _Camera) -> None:
        kind = verdict.kind
        if self.alerts.in_cooldown(chunk.camera, chunk.start_ts, cam.alerts.cooldown_s, kind):
            with self._lock:
                self.counts.cooldown += 1
            log.info("transcriber: %s %s alert in cooldown: %r", chunk.camera, kind, verdict.transcript)
            return
        try:
            record = self.alerts.record_audio(
                camera=chunk.camera, ts=chunk.start_ts, kind=kind, transcript=verdict.transcript,
                samples=chunk.samples, model=self.model.name, latency_s=verdict.model_latency_s, config=cam.alerts,
            )  # fmt: skip
        except (HubError, OSError) as exc:
            self.note_failure(f"audio alert of {chunk.camera} not stored: {exc}")
            log.error("AUDIO ALERT camera=%s not stored (%s): %s", chunk.camera, exc, verdict.transcript)
            return
        with self._lock:
            self.counts.alerts += 1
            self.counts.urgent += kind == "audio_urgent"
        if cam.alerts.notify and self.bus is not None:
            self.bus.camera_alert(
                CameraAlert(
                    record.camera,
                    record.description,
                    record.ts,
                    record.id,
                    None,
                    kind=kind,
                    transcript=record.transcript,
                    clip_path=record.clip_path,
                )  # fmt: skip
            )


class TranscriberWorker:
    """Worker protocol: loads the model, then transcribes queued chunks until stopped."""

    name = WORKER_NAME
    # A chunk through a big model on a small CPU takes tens of seconds; loading even longer.
    heartbeat_timeout: float | None = 600.0

    def __init__(self, transcriber: Transcriber) -> None:
        self.transcriber = transcriber

    def run(self, ctx: WorkerContext) -> None:
        t = self.transcriber
        ctx.beat(model=t.model.name, loaded=t.model.loaded)
        t.model.load()  # ConfigError: crash, the supervisor records why and backs off
        while not ctx.stop.is_set():
            chunk = t.take(1.0)
            if chunk is not None:
                try:
                    t.process(chunk)
                except HubError:
                    raise
                except Exception as exc:  # one bad chunk must not end transcription
                    t.note_failure(f"chunk of {chunk.camera} failed: {type(exc).__name__}: {exc}")
                    log.exception("transcriber: a chunk of %s failed", chunk.camera)
            t.promote_pending()
            counts = t.counts
            ctx.beat(
                model=t.model.name, loaded=t.model.loaded, queued=t.status().queued,
                transcribed=counts.transcribed, alerts=counts.alerts,
            )  # fmt: skip
