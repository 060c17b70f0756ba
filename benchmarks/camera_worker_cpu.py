"""CPU of one camera worker on a 1080p 15 fps H.264 RTSP stream sampled every 5 s, against a
plain PyAV loop that decodes every frame of the same stream (target: at most 20 % of it).

    python benchmarks/camera_worker_cpu.py [--seconds 30] [--gop 15]

gst-rtsp-server (Debian's /usr/bin/python3 with python3-gi and gir1.2-gst-rtsp-server-1.0)
streams a generated clip by stream copy; each contender runs in its own process for the same
wall time and reports its own CPU time (user + system), so the camera server is not counted.
Contenders: a loop that only receives packets (the floor), the plain loop decoding every frame, the same loop converting every frame to BGR
(what a cv2.VideoCapture loop costs), the camera worker (keyframes only, motion prefilter on
each sample) and the camera worker forced to decode every frame (its fallback for long GOPs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


WARMUP_S = 5.0  # opening and probing the stream are not the steady state being compared


def run_plain_loop(url: str, seconds: float, convert: bool) -> dict[str, float]:
    import av

    wall0 = time.monotonic()
    cpu0 = start = None
    frames = 0
    with av.open(url, options={"rtsp_transport": "tcp"}, timeout=(10, 10)) as container:
        for frame in container.decode(video=0):
            if convert:
                frame.to_ndarray(format="bgr24")
            now = time.monotonic()
            if start is None and now - wall0 >= WARMUP_S:
                cpu0, start = _cpu(), now
            elif start is not None:
                frames += 1
                if now - start >= seconds:
                    break
    assert cpu0 is not None and start is not None
    return {"cpu_s": _cpu() - cpu0, "wall_s": time.monotonic() - start, "frames": frames}


def run_demux(url: str, seconds: float) -> dict[str, float]:
    """The floor: receiving and depacketizing the stream, decoding nothing."""
    import av

    wall0 = time.monotonic()
    cpu0 = start = None
    with av.open(url, options={"rtsp_transport": "tcp"}, timeout=(10, 10)) as container:
        for _packet in container.demux(video=0):
            now = time.monotonic()
            if start is None and now - wall0 >= WARMUP_S:
                cpu0, start = _cpu(), now
            elif start is not None and now - start >= seconds:
                break
    assert cpu0 is not None and start is not None
    return {"cpu_s": _cpu() - cpu0, "wall_s": time.monotonic() - start, "frames": 0}


class _NoDetection:
    """A pipeline that looks at nothing: isolates the cost of reading and sampling."""

    def process(self, frame: object, ts: float) -> object:
        from homelab_hub.cameras.detect.pipeline import SampleResult

        return SampleResult("clear")


def run_worker(url: str, seconds: float, decode: str, detect: bool = True) -> dict[str, float]:
    from homelab_hub.cameras.detect.pipeline import CameraPipeline
    from homelab_hub.cameras.settings import CameraConfig
    from homelab_hub.cameras.stream.worker import CameraRuntime, CameraWorker
    from homelab_hub.workers import WorkerContext

    camera = CameraConfig(url=url, interval_s=5.0, reader={"decode": decode})
    pipeline = CameraPipeline("bench", camera, None) if detect else _NoDetection()
    runtime = CameraRuntime("bench", camera, pipeline)  # type: ignore[arg-type]
    ctx = WorkerContext(stop=threading.Event())
    thread = threading.Thread(target=CameraWorker(runtime).run, args=(ctx,))
    thread.start()
    time.sleep(WARMUP_S)
    before = runtime.reader_status()
    samples0 = runtime.samples
    cpu0, start = _cpu(), time.monotonic()
    time.sleep(seconds)
    cpu1, wall = _cpu(), time.monotonic() - start
    after = runtime.reader_status()
    ctx.stop.set()
    thread.join(30)
    assert before is not None and after is not None
    return {
        "cpu_s": cpu1 - cpu0,
        "wall_s": wall,
        "frames": after.frames_decoded - before.frames_decoded,
        "packets": after.packets_read - before.packets_read,
        "samples": runtime.samples - samples0,
        "mode": after.decode_mode,  # type: ignore[dict-item]
    }


def child(role: str, url: str, seconds: float) -> None:
    if role == "demux-only":
        result = run_demux(url, seconds)
    elif role == "decode-all":
        result = run_plain_loop(url, seconds, convert=False)
    elif role == "decode-all-bgr":
        result = run_plain_loop(url, seconds, convert=True)
    elif role == "worker":
        result = run_worker(url, seconds, "auto")
    elif role == "worker-no-detection":
        result = run_worker(url, seconds, "auto", detect=False)
    else:
        result = run_worker(url, seconds, "all")
    print(json.dumps(result))


def measure(role: str, url: str, seconds: float) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", role, "--url", url, "--seconds", str(seconds)],
        capture_output=True,
        text=True,
        timeout=seconds + WARMUP_S + 120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    if done.returncode != 0:
        raise SystemExit(f"{role} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=25.0, help="seconds of steady state measured per contender"
    )
    parser.add_argument("--gop", type=int, default=15, help="frames between keyframes in the stream")
    parser.add_argument("--kbps", type=int, default=4000, help="stream bitrate (constant, like an IP camera)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.seconds)
        return

    from tests.cameras.clips import ClipSpec, write_clip
    from tests.fakes.rtsp_server import RTSPCamera, gst_rtsp_available

    if not gst_rtsp_available():
        raise SystemExit(
            "needs gst-rtsp-server for /usr/bin/python3 (gir1.2-gst-rtsp-server-1.0, python3-gi)"
        )
    # Sensor noise at a camera's constant 4 Mbit/s gives real-looking P-frames (~20 KB each);
    # a noiseless synthetic scene would make every P-frame nearly empty and decoding unrealistically cheap.
    spec = ClipSpec(
        "moving_object", width=1920, height=1080, fps=15, seconds=8, gop=args.gop, noise_sigma=3.0
    )
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        clip = write_clip(Path(tmp) / "yard1080.h264", spec, bitrate_kbps=args.kbps)
        sub_spec = ClipSpec(
            "moving_object", width=640, height=360, fps=15, seconds=8, gop=args.gop, noise_sigma=3.0
        )
        sub_clip = write_clip(Path(tmp) / "yard360.h264", sub_spec, bitrate_kbps=512)
        print(
            f"stream: 1920x1080 @ 15 fps H.264, {clip.stat().st_size * 8 / spec.seconds / 1e6:.1f} Mbit/s, "
            f"keyframe every {args.gop} frames, an {spec.seconds:g} s clip looped (encoded in {time.monotonic() - t0:.0f} s)"
        )
        print(
            f"each contender runs in its own process; CPU (user + system, all threads) over {args.seconds:g} s "
            f"of steady state after a {WARMUP_S:g} s warm-up\n"
        )
        results: dict[str, dict[str, float]] = {}
        with RTSPCamera(clip, fps=spec.fps) as camera, RTSPCamera(sub_clip, fps=sub_spec.fps) as substream:
            for role in (
                "demux-only",
                "decode-all",
                "decode-all-bgr",
                "worker-no-detection",
                "worker",
                "worker-decode-all",
            ):
                results[role] = measure(role, camera.url, args.seconds)
            results["worker-substream"] = measure("worker", substream.url, args.seconds)
    base = results["decode-all"]
    base_pct = 100 * base["cpu_s"] / base["wall_s"]
    labels = {
        "demux-only": "floor: PyAV loop receiving packets, decoding none",
        "decode-all": "baseline: PyAV loop decoding every frame",
        "decode-all-bgr": "PyAV loop decoding + BGR-converting every frame",
        "worker-no-detection": "camera worker, 5 s sampling, no-op pipeline",
        "worker": "camera worker, 5 s sampling (auto: keyframes only)",
        "worker-decode-all": "camera worker, 5 s sampling, decode='all'",
        "worker-substream": "camera worker on a 640x360 512 kbit/s detect_url",
    }
    print(f"{'contender':<54} {'CPU %':>7} {'frames':>7} {'vs baseline':>12}")
    for role, r in results.items():
        pct = 100 * r["cpu_s"] / r["wall_s"]
        print(f"{labels[role]:<54} {pct:6.1f}% {int(r['frames']):7d} {pct / base_pct:11.1%}")
    worker = results["worker"]
    print(
        f"\nworker: {int(worker['samples'])} samples, decoded {int(worker['frames'])} of {int(worker['packets'])} "
        f"packets, decode mode {worker['mode']}"
    )
    ratio = (worker["cpu_s"] / worker["wall_s"]) / (base["cpu_s"] / base["wall_s"])
    print(f"worker CPU / baseline CPU = {ratio:.1%} (target <= 20%): {'PASS' if ratio <= 0.20 else 'FAIL'}")


if __name__ == "__main__":
    main()
