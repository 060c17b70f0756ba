"""What `homelab-hub serve` costs a small machine: RSS and threads, idle, beside the PyTorch embedder.

    python benchmarks/footprint.py [--memories 10000] [--camera-seconds 30] [--no-install | --install-only]

Each case runs `homelab-hub serve` in its own process on a fresh SQLite database, once with
the default ONNX embedder and once with ``memory.embedder = "torch"`` (the baseline: what the
hub loaded before; it needs the [torch] extra, which the test install carries). RSS and threads
are read from /proc once the hub is healthy and has idled for a few seconds:

- defaults, empty database;
- after `homelab-hub memory import` of N memories (its own peak RSS and time are printed too)
  and a restart;
- with 2 file cameras (640x360, 10 fps) and one WebSocket viewer of both, after a while.

Then the default install: `git archive HEAD` into a fresh directory, `scripts/serve` there with
a fresh virtualenv, wall time until /api/health answers 200 (and until memory is ok), and the
venv's size; beside it the same clean clone with the [torch] extra and memory.embedder = torch.
pip's cache and the package index are whatever this machine has (the archive is HEAD: commit
first).
The last table is issue 24's: its "today" figures as filed, this run's figures and the goals.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

MIB = 2**20
SETTLE_S = 8.0


def _status(pid: int, key: str) -> int:
    """A VmRSS/VmHWM-style field of /proc/PID/status, in bytes (0 once the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def _config(tmp: Path, name: str, embedder: str, extra: str = "") -> tuple[Path, int]:
    from tests.support import free_port

    port = free_port()
    path = tmp / f"{name}-{embedder}.toml"
    path.write_text(
        f'[server]\nport = {port}\ndata_dir = "{tmp}/data-{name}-{embedder}"\n'
        f'[storage]\nurl = "sqlite:///{tmp}/{name}-{embedder}.db"\n'
        f'[logging]\nfile = "{tmp}/{name}-{embedder}.log"\n'
        f'[memory]\nembedder = "{embedder}"\n' + extra,
        encoding="utf-8",
    )
    return path, port


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "homelab_hub.server.cli", *args]


def _healthy(port: int, cameras: bool) -> bool:
    import httpx

    try:
        parts = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).json()["components"]
    except (httpx.HTTPError, ValueError, KeyError):
        return False
    ok = parts["memory"]["state"] == "ok"
    return ok and (not cameras or parts["cameras"]["state"] == "ok")


class Hub:
    """`homelab-hub serve` in its own process."""

    def __init__(self, config: Path, port: int, cameras: bool = False) -> None:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        self.port = port
        self.proc = subprocess.Popen(
            _cli("serve", "--config", str(config)),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started = time.monotonic()
        while not _healthy(port, cameras):
            if self.proc.poll() is not None or time.monotonic() - started > 300:
                self.stop()
                raise SystemExit(f"the hub ({config}) did not become healthy; see its log")
            time.sleep(0.3)
        self.start_s = time.monotonic() - started

    def sample(self) -> dict[str, float]:
        pid = self.proc.pid
        return {"rss": _status(pid, "VmRSS"), "peak": _status(pid, "VmHWM"), "threads": _threads(pid)}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def idle(
    config: Path, port: int, cameras: bool = False, viewer: Any = None, wait_s: float = SETTLE_S
) -> dict:
    hub = Hub(config, port, cameras)
    try:
        stop = threading.Event()
        if viewer is not None:
            thread = threading.Thread(target=viewer, args=(port, stop), daemon=True)
            thread.start()
        time.sleep(wait_s)  # a benchmark: the figure is what an idle hub holds after a while
        out = hub.sample()
        stop.set()
        out["start_s"] = hub.start_s
        return out
    finally:
        hub.stop()


def cameras_over_time(seconds: float) -> None:
    """The camera case for as long as the issue's (21 min): the ONNX hub and the PyTorch hub
    side by side (each with the 2 cameras and a viewer), RSS sampled every minute."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="footprint-") as name:
        tmp = Path(name)
        cams = cameras_extra(tmp)
        hubs: dict[str, Hub] = {}
        stop = threading.Event()
        try:
            for emb in ("onnx", "torch"):
                config, port = _config(tmp, f"cameras-{emb}", emb, cams)
                hubs[emb] = Hub(config, port, True)
                threading.Thread(target=viewer, args=(port, stop), daemon=True).start()
            started = time.monotonic()
            print(f"  {'minute':>6}  {'ONNX RSS':>10} {'thr':>4}  {'PyTorch RSS':>12} {'thr':>4}", flush=True)
            first: dict[str, dict[str, float]] = {}
            while True:
                elapsed = time.monotonic() - started
                samples = {emb: hub.sample() for emb, hub in hubs.items()}
                first = first or samples
                a, b = samples["onnx"], samples["torch"]
                print(
                    f"  {elapsed / 60:>6.1f}  {a['rss'] / MIB:>6.0f} MiB {a['threads']:>4}  "
                    f"{b['rss'] / MIB:>8.0f} MiB {b['threads']:>4}",
                    flush=True,
                )
                if elapsed >= seconds:
                    break
                time.sleep(min(60.0, seconds - elapsed))
        finally:
            stop.set()
            for hub in hubs.values():
                hub.stop()
    print(
        f"hub RSS with 2 cameras and a viewer after {seconds / 60:.0f} min: ONNX {a['rss'] / MIB:.0f} MiB "
        f"(first sample {first['onnx']['rss'] / MIB:.0f}), PyTorch {b['rss'] / MIB:.0f} MiB "
        f"(first {first['torch']['rss'] / MIB:.0f}); goal <= 450 MiB; peak ONNX {a['peak'] / MIB:.0f} MiB"
    )
    print(f"1-minute load average at the start {load:.2f}, at the end {os.getloadavg()[0]:.2f}")


def import_memories(config: Path, n: int, tmp: Path) -> dict[str, float]:
    """`homelab-hub memory import` of n one-line memories (JSONL): wall time and peak RSS."""
    from memory_common import sentences

    records = tmp / f"memories-{n}.jsonl"
    if not records.exists():
        with records.open("w", encoding="utf-8") as fh:
            for text in sentences(n):
                fh.write(json.dumps({"agent": "local", "content": text}) + "\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TQDM_DISABLE": "1"}
    started = time.monotonic()
    proc = subprocess.Popen(
        _cli("memory", "import", str(records), "--config", str(config)),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _status(proc.pid, "VmHWM"))
        time.sleep(0.05)
    if proc.returncode:
        raise SystemExit(f"memory import failed with {proc.returncode}")
    return {"seconds": time.monotonic() - started, "peak": peak}


def viewer(port: int, stop: threading.Event) -> None:
    """One browser's worth of live view: both cameras over /ws/cameras at 2 fps."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{port}/ws/cameras", open_timeout=20, max_size=None) as conn:
        conn.recv(timeout=10)
        conn.send(json.dumps({"cmd": "subscribe", "cameras": ["gate", "yard"], "fps": 2, "width": 640}))
        while not stop.is_set():
            try:
                conn.recv(timeout=0.5)
            except TimeoutError:
                continue
            except ConnectionClosed:  # the hub stopping at the end of the case
                return


def install(tmp: Path, embedder: str) -> dict[str, float]:
    """A clean clone's first start, install included, to /api/health 200 (and to memory ok).

    onnx: `scripts/serve` as a new user runs it. torch (the baseline): the same clean clone,
    a fresh venv with the [torch] extra installed as scripts/_env.sh installs it (torch pinned
    first, so that pip takes its CPU build), then `homelab-hub serve` with memory.embedder = torch.
    """
    from tests.support import free_port

    clone = tmp / f"clone-{embedder}"
    clone.mkdir()
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(clone)], input=archive, check=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "HOMELAB_HUB_VENV", "PYTHONPATH")}
    if embedder == "onnx":
        command = [str(clone / "scripts" / "serve"), "--port", str(port)]
    else:
        env |= {"HOMELAB_HUB_MEMORY__EMBEDDER": "torch", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        command = [
            "bash",
            "-c",
            'set -e; "${PYTHON:-python3}" -m venv .venv; .venv/bin/python -m pip install -q torch==2.13.0; '
            '.venv/bin/python -m pip install -q -e ".[torch]"; '
            f"exec .venv/bin/homelab-hub serve --port {port}",
        ]
    started = time.monotonic()
    proc = subprocess.Popen(
        command,
        cwd=clone,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    out: dict[str, float] = {}
    try:
        while "seconds" not in out or "memory_s" not in out:
            status, memory = _health(port)
            if status == 200 and "seconds" not in out:
                out["seconds"] = time.monotonic() - started
            if memory == "ok" and "memory_s" not in out:
                out["memory_s"] = time.monotonic() - started
            if proc.poll() is not None or time.monotonic() - started > 900:
                raise SystemExit(f"the clean clone ({embedder}) did not answer /api/health; see {clone}")
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    out["venv"] = _du(clone / ".venv")
    return out


def _health(port: int) -> tuple[int, str]:
    """/api/health's status code and the memory component's state (0, "" while nothing answers)."""
    import httpx

    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
        return answer.status_code, answer.json().get("components", {}).get("memory", {}).get("state", "")
    except (httpx.HTTPError, ValueError):
        return 0, ""


def _du(path: Path) -> int:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0])


def cameras_extra(tmp: Path) -> str:
    from tests.cameras.clips import ClipSpec, write_clip

    lines = ["[vision]\nenabled = false\n"]
    for n, name in enumerate(("gate", "yard")):
        clip = write_clip(
            tmp / f"{name}.mp4", ClipSpec("moving_object", width=640, height=360, seconds=60, seed=n)
        )
        lines.append(f'[cameras.{name}]\nurl = "{clip}"\n')
    return "".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--camera-seconds", type=float, default=30.0)
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--no-install", action="store_true", help="skip the clean scripts/serve install")
    only.add_argument("--install-only", action="store_true", help="the clean install alone, no RSS cases")
    only.add_argument(
        "--cameras-only",
        action="store_true",
        help="the camera case alone, both embedders' hubs side by side for --camera-seconds, RSS every minute",
    )
    args = parser.parse_args()
    if args.cameras_only:
        cameras_over_time(args.camera_seconds)
        return

    rows: dict[str, dict[str, Any]] = {"load": {"start": os.getloadavg()[0]}}
    with tempfile.TemporaryDirectory(prefix="footprint-") as name:
        tmp = Path(name)
        cams = "" if args.install_only else cameras_extra(tmp)
        for emb in ("onnx", "torch") if not args.install_only else ():
            config, port = _config(tmp, "empty", emb)
            rows[f"idle-{emb}"] = idle(config, port)
            config, port = _config(tmp, "memories", emb)
            rows[f"import-{emb}"] = import_memories(config, args.memories, tmp)
            rows[f"memories-{emb}"] = idle(config, port)
            config, port = _config(tmp, "cameras", emb, cams)
            rows[f"cameras-{emb}"] = idle(config, port, True, viewer, args.camera_seconds)
            print(
                f"  measured {emb}: " + json.dumps({k: v for k, v in rows.items() if k.endswith(emb)}),
                flush=True,
            )
        if not args.no_install:
            for emb in ("onnx", "torch"):
                rows[f"install-{emb}"] = install(tmp, emb)
                print(f"  measured install {emb}: " + json.dumps(rows[f"install-{emb}"]), flush=True)
    rows["load"]["end"] = os.getloadavg()[0]
    report(rows, args)


def report(rows: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    def mib(v: float) -> str:
        return f"{v / MIB:7.0f} MiB"

    print("homelab-hub serve, RSS and threads (ONNX default vs baseline: memory.embedder = torch)")
    print(f"  {'case':<44}{'ONNX':>14}{'thr':>5}   {'PyTorch':>12}{'thr':>5}")
    if "idle-onnx" in rows:
        _rss_rows(rows, args, mib)
    here = _du(Path(sys.prefix))
    inst, base = rows.get("install-onnx"), rows.get("install-torch")
    if inst and base:
        print(
            f"  {'clean clone to /api/health 200 (s)':<44}{inst['seconds']:>14.0f}{'':>5}   {base['seconds']:>12.0f}"
        )
        print(
            f"  {'clean clone to memory ok (s)':<44}{inst['memory_s']:>14.0f}{'':>5}   {base['memory_s']:>12.0f}"
        )
        print(f"  {'clean clone: its venv':<44}{mib(inst['venv']):>14}{'':>5}   {mib(base['venv']):>12}")
        print(f"  (this test venv, with PyTorch and the test tools: {here / MIB:.0f} MiB)")
    print()
    print("Issue 24's table: 'today' as filed; this run: ONNX default (PyTorch embedder)")
    skipped = "skipped"
    imports = rows.get("import-onnx"), rows.get("import-torch")
    table = [
        (
            "first scripts/serve, install included",
            "247 s",
            f"{inst['seconds']:.0f} s ({base['seconds']:.0f} s)" if inst and base else skipped,
            "<= 120 s",
        ),
        ("hub RSS idle, defaults, empty database", "713 MB, 9 thr", _pair(rows, "idle"), "<= 300 MiB"),
        (
            f"hub RSS idle, restarted, {args.memories:,} memories",
            "614 MB (368)",
            _pair(rows, "memories"),
            "<= 300 MiB",
        ),
        ("hub RSS with 2 cameras and a viewer", "880 MB (21 min)", _pair(rows, "cameras"), "<= 450 MiB"),
        (
            "memory import, peak RSS of its process",
            "1.27 GB (6 notes)",
            f"{imports[0]['peak'] / MIB:.0f} MiB ({imports[1]['peak'] / MIB:.0f})"
            if imports[0] and imports[1]
            else skipped,
            "<= 500 MiB",
        ),
        (
            "runtime venv",
            "2.6 GB with tests",
            f"{inst['venv'] / MIB:.0f} MiB ({base['venv'] / MIB:.0f})" if inst and base else skipped,
            "<= 1 GB",
        ),
    ]
    print(f"  | {'what':<42} | {'today':<18} | {'this run':<26} | {'goal':<10} |")
    for what, today, now, goal in table:
        print(f"  | {what:<42} | {today:<18} | {now:<26} | {goal:<10} |")
    load = rows.get("load", {})
    if load:
        print(
            f"1-minute load average at the start {load['start']:.2f}, at the end {load.get('end', 0):.2f} "
            f"({os.cpu_count()} CPUs): timings stretch with what else runs"
        )


def _rss_rows(rows: dict[str, dict[str, Any]], args: argparse.Namespace, mib: Any) -> None:
    cases = [
        ("idle", "idle, defaults, empty database"),
        ("memories", f"idle after restart with {args.memories:,} memories"),
        ("cameras", f"2 file cameras + 1 viewer, after {args.camera_seconds:.0f} s"),
    ]
    for key, label in cases:
        a, b = rows[f"{key}-onnx"], rows[f"{key}-torch"]
        print(f"  {label:<44}{mib(a['rss']):>14}{a['threads']:>5}   {mib(b['rss']):>12}{b['threads']:>5}")
    a, b = rows["idle-onnx"], rows["idle-torch"]
    print(f"  {'start to healthy memory (s)':<44}{a['start_s']:>14.1f}{'':>5}   {b['start_s']:>12.1f}")
    a, b = rows["import-onnx"], rows["import-torch"]
    print(
        f"  {f'memory import of {args.memories:,}: peak RSS':<44}{mib(a['peak']):>14}{'':>5}   {mib(b['peak']):>12}"
    )
    print(
        f"  {f'memory import of {args.memories:,}: memories/s':<44}"
        f"{args.memories / a['seconds']:>14.0f}{'':>5}   {args.memories / b['seconds']:>12.0f}"
    )


def _pair(rows: dict[str, dict[str, Any]], key: str) -> str:
    if f"{key}-onnx" not in rows:
        return "skipped"
    a, b = rows[f"{key}-onnx"], rows[f"{key}-torch"]
    return f"{a['rss'] / MIB:.0f} MiB, {a['threads']} thr ({b['rss'] / MIB:.0f})"


if __name__ == "__main__":
    main()
