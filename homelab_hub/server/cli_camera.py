"""``homelab-hub camera analyze VIDEO`` and ``camera listen CLIP``: replay a recorded clip
through a camera's detector, or its sound through the transcriber.

The replay itself is `homelab_hub.cameras.stream.replay`: every ``--interval`` seconds of the clip
one frame goes through the camera worker's pipeline (motion prefilter, zones, and the vision
model when [vision] is enabled and --no-model is not given). This module parses the command
line and prints each sample and the summary. ``listen`` runs a clip's audio through the
transcriber's chunker, level gate, model and gates (`AudioReplay`) and prints each chunk's
level, transcript, decision and why: how an operator tunes the level gate and the noise
phrases on their own microphone. Nothing is notified or stored.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

from homelab_hub.cameras.detect.pipeline import SampleResult
from homelab_hub.cameras.settings import CameraConfig
from homelab_hub.cameras.stream.replay import AudioReplay, ListenChunk, Replay
from homelab_hub.config import HubConfig, load_config
from homelab_hub.errors import NotFound
from homelab_hub.server.cli_options import config_option


def register(subparsers: Any) -> None:
    camera = subparsers.add_parser(
        "camera", help="camera tools: replay a clip through the detector or its sound through the transcriber"
    )
    csub = camera.add_subparsers(dest="camera_command", metavar="ACTION", required=True)
    analyze = csub.add_parser(
        "analyze",
        help="run a recorded clip through a camera's motion detector (and vision model) and print each sample",
        description="Sample VIDEO every --interval seconds and run each sample through the camera's "
        "pipeline: motion prefilter, zones, full-frame checks and (when [vision] is enabled) the model. "
        "Prints each sample's decision and boxes, then a summary. Nothing is notified or stored.",
    )
    config_option(analyze)
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
    _register_listen(csub)


def _register_listen(csub: Any) -> None:
    listen = csub.add_parser(
        "listen",
        help="run a recorded clip's audio through the transcriber and print each chunk's decision",
        description="Cut CLIP's audio into the camera's chunks and run each through the level gate, the "
        "speech model (with VAD), the noise phrases and the gate, as the transcriber would. Prints each "
        "chunk's level, transcript, decision and why, then a summary. Nothing is notified or stored.",
    )
    config_option(listen)
    listen.add_argument("clip", metavar="CLIP", help="an audio or video file with sound (wav, mka, mp4, …)")
    listen.add_argument(
        "--camera", metavar="NAME", help="use [cameras.NAME.audio]'s chunk, gates and phrases"
    )
    listen.add_argument(
        "--visual-alert-at",
        type=float,
        action="append",
        default=[],
        metavar="S",
        help="a visual alert at S seconds into the clip (repeat for more): opens the gate as a real one would",
    )
    listen.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    listen.set_defaults(func=cmd_listen)


def _camera(config: HubConfig, args: argparse.Namespace) -> tuple[str, CameraConfig]:
    clip = getattr(args, "video", None) or args.clip
    if args.camera:
        if args.camera not in config.cameras:
            known = ", ".join(repr(n) for n in sorted(config.cameras)) or "none are configured"
            raise NotFound(f"unknown camera {args.camera!r}; known cameras: {known}")
        return args.camera, config.cameras[args.camera]
    return Path(clip).stem or "replay", CameraConfig(url=clip)


def cmd_listen(args: argparse.Namespace) -> int:
    config = load_config(getattr(args, "config", None))
    name, camera = _camera(config, args)
    replay = AudioReplay(name, camera, config.transcriber, visual_alerts_at=args.visual_alert_at)
    chunks = replay.chunks(args.clip)
    first = next(chunks, None)  # a file without sound fails here, before any output
    audio = camera.audio
    if not args.json:
        print(
            f"listening to {args.clip} as camera {name!r}: {audio.chunk_s:g}s chunks, level gate "
            f"{audio.level_gate_dbfs:g} dBFS, model {replay.model.name}"
        )
    rows: list[dict[str, Any]] = []
    for chunk in itertools.chain([first] if first else [], chunks):
        row = _chunk_row(chunk)
        rows.append(row)
        if not args.json:
            print(_chunk_line(row))
    totals = replay.report()
    if args.json:
        doc = {"clip": args.clip, "camera": name, "model": replay.model.name, "chunk_s": audio.chunk_s}
        print(json.dumps({**doc, "chunks": rows, "summary": totals}, indent=2))
    else:
        print(
            f"summary: {totals['chunks']} chunks, {totals['skipped_quiet']} skipped as quiet, "
            f"{totals['transcribed']} transcribed, {totals['alerts']} alerts ({totals['urgent']} urgent)"
        )
    return 0


def _chunk_row(chunk: ListenChunk) -> dict[str, Any]:
    v = chunk.verdict
    return {
        "t": chunk.t,
        "duration_s": chunk.duration_s,
        "level_dbfs": round(v.level_dbfs, 1),
        "decision": v.decision,
        "why": v.why,
        "transcript": v.transcript,
        "dropped": [{"text": d.text, "why": d.why} for d in v.dropped],
        "alert": v.kind if v.raises_alert else None,
        "model_latency_ms": None if v.model_latency_s is None else round(v.model_latency_s * 1000, 1),
    }


def _chunk_line(row: dict[str, Any]) -> str:
    parts = [f"{row['t']:8.2f}s  {row['level_dbfs']:6.1f} dBFS  {row['decision']:<10}"]
    if row["transcript"]:
        parts.append(repr(row["transcript"][:120]))
    for dropped in row["dropped"]:
        parts.append(f"dropped {dropped['text'][:60]!r}")
    parts.append(f"({row['why']})")
    return "  ".join(parts)


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
