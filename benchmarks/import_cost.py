"""What each heavy import costs: wall time, RSS and threads, each in a fresh interpreter.

    python benchmarks/import_cost.py [--repeat 3]

Each module is imported alone in a new `python -c` (the baseline: the same interpreter
importing nothing), after numpy, which the hub imports anyway; printed are the median
import time over --repeat runs and the RSS and threads it adds. The last rows are the
hub's own entry (`homelab_hub.server.app`, what `homelab-hub serve` imports before it reads
its configuration) and which of the heavy modules that import pulled in: with no camera
configured it must be none of them (they load on first use, homelab_hub/lazy.py).
A module that is not installed (torch without the [torch] extra) prints as such.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIB = 2**20

# The heavy ones: what each configuration choice would load.
HEAVY = {
    "torch": "the [torch] embedder's runtime",
    "sentence_transformers": "the [torch] embedder (with torch)",
    "onnxruntime": "the default embedder's runtime",
    "tokenizers": "the default embedder's WordPiece tokenizer",
    "cv2": "cameras, zones, live view",
    "av": "camera streams and audio",
    "faster_whisper": "camera audio transcription",
    "numba": "the [fast-scan] index kernel",
}

PROBE = """
import json, os, sys, time
import numpy
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
before, threads = rss(), len(os.listdir("/proc/self/task"))
name = sys.argv[1]
started = time.perf_counter()
if name:
    try:
        __import__(name)
    except ImportError as exc:
        print(json.dumps({"missing": str(exc)}))
        raise SystemExit(0)
seconds = time.perf_counter() - started
heavy = sorted(m for m in sys.argv[2].split(",") if m in sys.modules)
print(json.dumps({"seconds": seconds, "rss": rss() - before, "rss_total": rss(),
                  "threads": len(os.listdir("/proc/self/task")) - threads, "heavy": heavy}))
"""


def measure(name: str, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", PROBE, name, ",".join(HEAVY)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)},
        ).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
        if "missing" in runs[-1]:
            return runs[-1]
    result = dict(runs[-1])
    result["seconds"] = statistics.median(r["seconds"] for r in runs)
    result["rss"] = statistics.median(r["rss"] for r in runs)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    base = measure("", args.repeat)
    print(f"{sys.executable} (numpy imported first)")
    print(f"  {'import':<26}{'seconds':>9}{'+RSS':>11}{'+thr':>6}   used by")
    print(
        f"  {'(nothing: the baseline)':<26}{base['seconds']:>9.3f}{base['rss'] / MIB:>7.0f} MiB"
        f"{base['threads']:>6}   RSS of the interpreter with numpy: {base['rss_total'] / MIB:.0f} MiB"
    )
    for name, what in [*HEAVY.items(), ("homelab_hub.server.app", "homelab-hub serve's own import")]:
        row = measure(name, args.repeat)
        if "missing" in row:
            print(f"  {name:<26}{'not installed':>26}   {what}")
            continue
        print(f"  {name:<26}{row['seconds']:>9.3f}{row['rss'] / MIB:>7.0f} MiB{row['threads']:>6}   {what}")
    print(f"  heavy modules homelab_hub.server.app pulls in: {', '.join(row['heavy']) or 'none'}")


if __name__ == "__main__":
    main()
