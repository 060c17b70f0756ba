"""``homelab-hub camera analyze VIDEO``: replay a recorded clip through a camera's detector.

How an operator tunes thresholds on their own footage: every ``--interval`` seconds of the
clip one frame goes through the same pipeline the camera worker uses (motion prefilter,
zones, and the vision model when [vision] is enabled and --no-model is not given). Alerts
go to a throw-away database and image folder: a replay never notifies anyone and never
touches the hub's alert history.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

from homelab_hub.cameras.config import CameraConfig
from homelab_hub.cameras.pipeline import PipelineDeps, PipelineStats, SampleResult, make_pipeline
from homelab_hub.config import HubConfig, load_config
from homelab_hub.errors import InvalidInput, NotFound


def register(subparsers: Any) -> None:
    camera = subparsers.add_parser("camera", help="camera tools: replay a clip through the detector")
    csub = camera.add_subparsers(dest="camera_command", metavar="ACTION", required=True)
    analyze = csub.add_parser(
        "analyze",
        help="run a recorded clip through a camera's motion detector (and vision model) and print each sample",
        description="Sample VIDEO every --interval seconds and run each sample through the camera's "
        "pipeline: motion prefilter, zones, full-frame checks and (when [vision] is enabled) the model. "
        "Prints each sample's decision and boxes, then a summary. Nothing is notified or stored.",
    )
    analyze.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="config file (default: $HOMELAB_HUB_CONFIG, else ./homelab-hub.toml if present)",
    )
    analyze.add_argument("video", metavar="VIDEO", help="a video file PyAV can open (mp4, mkv, raw .h264, …)")
    analyze.add_argument(
        "--camera", metavar="NAME", help="use [cameras.NAME]'s motion settings, zones and model overrides"
    )
    analyze.add_argument(
        "--interval",
        type=float,
        metavar="S",
        help="seconds of video between samples (default: camera's interval_s)",
    )
    analyze.add_argument("--no-model", action="store_true", help="motion only: never call the vision model")
    analyze.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    analyze.set_defaults(func=cmd_analyze)


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


def video_samples(path: str, interval_s: float) -> Iterator[tuple[float, np.ndarray]]:
    """(seconds into the clip, BGR frame) every ``interval_s`` of media time, from 0.
    Every frame is decoded (references need it); only the sampled ones are converted.
    Raises InvalidInput for a file that cannot be read as video."""
    if interval_s <= 0:
        raise InvalidInput(f"--interval must be above 0 seconds, got {interval_s}")
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


def _camera(config: HubConfig, args: argparse.Namespace) -> tuple[str, CameraConfig]:
    if args.camera:
        if args.camera not in config.cameras:
            known = ", ".join(repr(n) for n in sorted(config.cameras)) or "none are configured"
            raise NotFound(f"unknown camera {args.camera!r}; known cameras: {known}")
        return args.camera, config.cameras[args.camera]
    return Path(args.video).stem or "replay", CameraConfig(url=args.video)


def _replay_deps(config: HubConfig, workdir: Path) -> PipelineDeps:
    """Deps on a throw-away SQLite database, with the configured model and no notifications."""
    from homelab_hub.cameras.alerts import AlertStore
    from homelab_hub.cameras.pipeline import AlertNotifier
    from homelab_hub.cameras.vision import VisionClassifier
    from homelab_hub.cameras.zones import ZoneStore
    from homelab_hub.store import Database, migrate

    db = Database.from_url(f"sqlite:///{workdir}/replay.db")
    migrate(db)
    return PipelineDeps(
        alerts=AlertStore(db, default_image_dir=workdir / "alerts"),
        zones=ZoneStore(db),
        classifier=VisionClassifier(config.vision),
        notifier=AlertNotifier(None, None),
    )


def cmd_analyze(args: argparse.Namespace) -> int:
    config = load_config(getattr(args, "config", None))
    name, camera = _camera(config, args)
    interval = args.interval if args.interval is not None else camera.interval_s
    use_model = config.vision.enabled and not args.no_model
    summary = ReplaySummary()
    rows: list[dict[str, Any]] = []
    base = time.time()  # alerts of a replay get "now + offset" times, like a live camera
    with tempfile.TemporaryDirectory(prefix="homelab-hub-replay-") as tmp:
        camera = camera.model_copy(
            update={
                "alerts": camera.alerts.model_copy(
                    update={"image_dir": Path(tmp) / "alerts", "notify": False}
                )
            }
        )
        deps = _replay_deps(config, Path(tmp)) if use_model else None
        try:
            pipeline = make_pipeline(name, camera, deps)
            samples = video_samples(args.video, interval)
            first = next(samples, None)  # a file that is not video fails here, before any output
            if not args.json:
                model = (camera.vision_model or config.vision.model) if use_model else "none (motion only)"
                print(
                    f"replaying {args.video} as camera {name!r}: one sample every {interval:g}s, model {model}"
                )
            for offset, frame in itertools.chain([first] if first else [], samples):
                result = pipeline.process(frame, base + offset)
                summary.add(result)
                row = _row(offset, result)
                rows.append(row)
                if not args.json:
                    print(_line(row))
            totals = summary.report(pipeline.stats)
        finally:
            if deps is not None:
                deps.close()
    if args.json:
        doc = {"video": args.video, "camera": name, "interval_s": interval, "model": use_model}
        print(json.dumps({**doc, "samples": rows, "summary": totals}, indent=2))
    else:
        print(
            f"summary: {totals['samples']} samples, {totals['motion_samples']} with motion, "
            f"{totals['recalibrations']} recalibrations, {totals['model_calls']} model calls, "
            f"{totals['alerts']} alerts, {totals['unverified']} unverified; "
            f"{totals['clear_without_model']} resolved without the model"
        )
    if totals["samples"] == 0:
        print(f"homelab-hub: {args.video} gave no samples", file=sys.stderr)
        return 1
    return 0


def _row(offset: float, result: SampleResult) -> dict[str, Any]:
    return {
        "t": round(offset, 3),
        "decision": result.decision,
        "boxes": [list(b) for b in result.boxes],
        "model_called": result.model_called,
        "full_frame": result.full_frame,
        "model_latency_ms": None
        if result.model_latency_s is None
        else round(result.model_latency_s * 1000, 1),
        "description": result.description,
    }


def _line(row: dict[str, Any]) -> str:
    parts = [f"{row['t']:8.2f}s  {row['decision']:<12}"]
    if row["boxes"]:
        parts.append("boxes=" + " ".join("({},{},{}x{})".format(*b) for b in row["boxes"]))
    if row["full_frame"]:
        parts.append("full-frame check")
    if row["model_called"]:
        latency = row["model_latency_ms"]
        parts.append("model" + (f" {latency:.0f} ms" if latency is not None else " failed"))
    if row["description"]:
        parts.append(repr(row["description"][:120]))
    return "  ".join(parts).rstrip()
