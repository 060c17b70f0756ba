"""``homelab-hub camera analyze VIDEO``: replay a recorded clip through a camera's detector.

The replay itself is `homelab_hub.cameras.replay`: every ``--interval`` seconds of the clip
one frame goes through the camera worker's pipeline (motion prefilter, zones, and the vision
model when [vision] is enabled and --no-model is not given). This module parses the command
line and prints each sample and the summary. Nothing is notified or stored.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

from homelab_hub.cameras.config import CameraConfig
from homelab_hub.cameras.pipeline import SampleResult
from homelab_hub.cameras.replay import Replay
from homelab_hub.config import HubConfig, load_config
from homelab_hub.errors import NotFound


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


def _camera(config: HubConfig, args: argparse.Namespace) -> tuple[str, CameraConfig]:
    if args.camera:
        if args.camera not in config.cameras:
            known = ", ".join(repr(n) for n in sorted(config.cameras)) or "none are configured"
            raise NotFound(f"unknown camera {args.camera!r}; known cameras: {known}")
        return args.camera, config.cameras[args.camera]
    return Path(args.video).stem or "replay", CameraConfig(url=args.video)


def cmd_analyze(args: argparse.Namespace) -> int:
    config = load_config(getattr(args, "config", None))
    name, camera = _camera(config, args)
    interval = args.interval if args.interval is not None else camera.interval_s
    use_model = config.vision.enabled and not args.no_model
    rows: list[dict[str, Any]] = []
    with Replay(name, camera, config.vision if use_model else None) as replay:
        samples = replay.samples(args.video, interval)
        first = next(samples, None)  # a file that is not video fails here, before any output
        if not args.json:
            model = (camera.vision_model or config.vision.model) if use_model else "none (motion only)"
            print(f"replaying {args.video} as camera {name!r}: one sample every {interval:g}s, model {model}")
        for sample in itertools.chain([first] if first else [], samples):
            row = _row(sample.t, sample.result)
            rows.append(row)
            if not args.json:
                print(_line(row))
        totals = replay.report()
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
