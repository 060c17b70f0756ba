"""Replaying a recorded clip through a camera's pipeline, as the worker would see it.

How an operator tunes thresholds on their own footage (``homelab-hub camera analyze``) and
how the tests drive the pipeline: every ``interval_s`` of media time one frame goes through
the same `CameraPipeline` a camera worker uses. `AudioReplay` does the same for a clip's
sound (``homelab-hub camera listen``): the transcriber's chunker, gates and model. With a vision config, alerts go to a
throw-away SQLite database and image folder, and the notification bus has no sinks: a replay
never notifies anyone and never touches the hub's alert history.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from homelab_hub.cameras import schema
from homelab_hub.cameras.alerts.store import AlertStore
from homelab_hub.cameras.audio.gate import ChunkVerdict, judge
from homelab_hub.cameras.audio.sink import SAMPLE_RATE, AudioChunk, AudioChunker, file_audio
from homelab_hub.cameras.audio.speech import SpeechModel
from homelab_hub.cameras.detect.pipeline import CameraPipeline, PipelineDeps, PipelineStats, SampleResult
from homelab_hub.cameras.detect.vision import VisionClassifier
from homelab_hub.cameras.settings import CameraConfig, TranscriberConfig, VisionConfig
from homelab_hub.cameras.zones.store import ZoneStore
from homelab_hub.errors import InvalidInput
from homelab_hub.lazy import lazy_module
from homelab_hub.notify.bus import NotificationBus
from homelab_hub.store import Database, migrate

av = lazy_module("av")


def video_samples(path: str | Path, interval_s: float) -> Iterator[tuple[float, np.ndarray]]:
    """(seconds into the clip, BGR frame) every ``interval_s`` of media time, from 0.
    Every frame is decoded (references need it); only the sampled ones are converted.
    Raises InvalidInput for a file that cannot be read as video."""
    if interval_s <= 0:
        raise InvalidInput(f"--interval must be above 0 seconds, got {interval_s}")
    path = str(path)
    try:
        container = av.open(path)
    except FileNotFoundError as exc:
        raise InvalidInput(f"video {path!r} does not exist") from exc
    except (av.error.FFmpegError, OSError) as exc:
        raise InvalidInput(f"cannot read {path!r} as video: {getattr(exc, 'strerror', None) or exc}") from exc
    with container:
        if not container.streams.video:
            raise InvalidInput(f"{path!r} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # a file: throughput matters, latency does not
        start: float | None = None
        due = 0.0
        index = 0
        try:
            for frame in container.decode(stream):
                t = frame.time if frame.time is not None else index / float(stream.average_rate or 25)
                index += 1
                if start is None:
                    start = t
                offset = t - start
                if offset + 1e-6 >= due:
                    yield offset, frame.to_ndarray(format="bgr24")
                    while due <= offset + 1e-6:
                        due += interval_s
        except av.error.FFmpegError as exc:
            raise InvalidInput(f"cannot decode {path!r} after {index} frames: {exc.strerror or exc}") from exc
        if index == 0:
            raise InvalidInput(f"{path!r} holds no decodable video frame")


@dataclass(frozen=True)
class ReplaySample:
    t: float  # seconds into the clip
    result: SampleResult


@dataclass
class ReplaySummary:
    """What the replay adds to the pipeline's own counters (PipelineStats)."""

    clear_without_model: int = 0
    decisions: dict[str, int] = field(default_factory=dict)

    def add(self, result: SampleResult) -> None:
        self.decisions[result.decision] = self.decisions.get(result.decision, 0) + 1
        self.clear_without_model += not result.model_called and result.decision in ("clear", "recalibrated")

    def report(self, stats: PipelineStats) -> dict[str, Any]:
        return {
            "samples": stats.samples,
            "motion_samples": stats.motion_samples,
            "recalibrations": stats.recalibrations,
            "model_calls": stats.model_calls,
            "alerts": stats.alerts,
            "unverified": stats.unverified,
            "clear_without_model": self.clear_without_model,
            "decisions": self.decisions,
        }


class Replay:
    """One camera's pipeline on a scratch folder: ``with Replay("gate", camera, vision) as r``.

    Without ``vision`` the pipeline is motion only (no database, no model). Alerts of a replay
    get "now + offset" times, like a live camera's.
    """

    def __init__(self, name: str, camera: CameraConfig, vision: VisionConfig | None = None) -> None:
        self.name = name
        self._tmp = tempfile.TemporaryDirectory(prefix="homelab-hub-replay-")
        workdir = Path(self._tmp.name)
        alerts = camera.alerts.model_copy(update={"image_dir": workdir / "alerts", "notify": False})
        self.camera = camera.model_copy(update={"alerts": alerts})
        self._db: Database | None = None
        self.deps: PipelineDeps | None = None
        if vision is not None:
            self._db = Database.from_url(f"sqlite:///{workdir}/replay.db")
            migrate(self._db, schema.MIGRATIONS)  # its own tables only: no other engine's
            self.deps = PipelineDeps(
                alerts=AlertStore(self._db),
                zones=ZoneStore(self._db),
                classifier=VisionClassifier(vision),
                bus=NotificationBus(),
            )
        self.pipeline = CameraPipeline(name, self.camera, self.deps)
        self.summary = ReplaySummary()
        self._base = time.time()

    def samples(self, video: str | Path, interval_s: float) -> Iterator[ReplaySample]:
        """Each sample's decision, as it is made. Raises InvalidInput (not a video)."""
        for offset, frame in video_samples(video, interval_s):
            result = self.pipeline.process(frame, self._base + offset)
            self.summary.add(result)
            yield ReplaySample(offset, result)

    def report(self) -> dict[str, Any]:
        """The totals: the pipeline's counters and the replay's decision counts."""
        return self.summary.report(self.pipeline.stats)

    def close(self) -> None:
        if self.deps is not None:
            self.deps.close()
        if self._db is not None:
            self._db.close()
        self._tmp.cleanup()

    def __enter__(self) -> Replay:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@dataclass(frozen=True)
class ListenChunk:
    t: float  # seconds into the clip where the chunk starts
    duration_s: float
    verdict: ChunkVerdict


class AudioReplay:
    """A clip's audio through the transcriber's chunker, gates and model, as fast as it
    decodes (``homelab-hub camera listen``). Visual alerts are the given offsets into the
    clip; nothing is stored or notified."""

    def __init__(
        self,
        name: str,
        camera: CameraConfig,
        transcriber: TranscriberConfig,
        *,
        model: SpeechModel | None = None,
        visual_alerts_at: list[float] = (),  # type: ignore[assignment]
    ) -> None:
        self.name = name
        self.audio = camera.audio
        self.transcriber = transcriber
        self.model = model or SpeechModel(transcriber)  # ConfigError for a missing model, before any output
        self.visual = sorted(visual_alerts_at)
        self.counts: dict[str, int] = {}

    def _visual(self, camera: str, earliest: float, latest: float) -> float | None:
        return max((t for t in self.visual if earliest <= t <= latest), default=None)

    def chunks(self, clip: str | Path) -> Iterator[ListenChunk]:
        """Each chunk's way through the gates, as it is decided. Raises InvalidInput (no audio)."""
        chunker = AudioChunker(self.name, self.audio.chunk_s, 2 * self.audio.chunk_s)
        t = 0.0
        for block in file_audio(clip):
            t += block.size / SAMPLE_RATE
            for chunk in chunker.push(block, t):
                yield self._judge(chunk)
        tail = chunker.flush(t, min_s=0.5)
        if tail is not None:
            yield self._judge(tail)

    def _judge(self, chunk: AudioChunk) -> ListenChunk:
        verdict = judge(chunk, self.audio, self.transcriber, self.model, self._visual)
        self.counts[verdict.decision] = self.counts.get(verdict.decision, 0) + 1
        return ListenChunk(round(chunk.start_ts, 3), round(chunk.duration_s, 3), verdict)

    def report(self) -> dict[str, Any]:
        c = self.counts
        return {
            "chunks": sum(c.values()),
            "skipped_quiet": c.get("quiet", 0),
            "transcribed": sum(n for d, n in c.items() if d != "quiet"),
            "alerts": c.get("alert", 0) + c.get("urgent", 0),
            "urgent": c.get("urgent", 0),
            "decisions": dict(c),
        }
