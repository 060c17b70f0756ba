"""Shared data for the memory benchmarks: operator-style sentences and their MiniLM embeddings.

The 100k-vector sets are synthetic but realistic: real all-MiniLM-L6-v2 embeddings of a few
thousand generated operator sentences, plus noise-perturbed copies of them (each copy stays
about 0.9 cosine from its original, as paraphrases and near-duplicates do). Everything is
cached under $TMPDIR/homelab-hub-bench so a second run skips the embedding.
"""

from __future__ import annotations

import itertools
import os
import random
import resource
import tempfile
from pathlib import Path

import numpy as np

CACHE = Path(tempfile.gettempdir()) / "homelab-hub-bench"

HOSTS = [
    "dell-r740",
    "dgx-spark",
    "pve-01",
    "pve-02",
    "nas-01",
    "pi-garage",
    "pi-gate",
    "opnsense",
    "jetson-nano",
    "mac-mini",
    "backup-vps",
    "unifi-ctl",
]
SERVICES = [
    "Ollama",
    "Home Assistant",
    "Frigate",
    "go2rtc",
    "Mosquitto",
    "Grafana",
    "Prometheus",
    "Loki",
    "Jellyfin",
    "Nextcloud",
    "Vaultwarden",
    "Pi-hole",
    "Unbound",
    "Caddy",
    "Zigbee2MQTT",
    "Uptime Kuma",
    "Gitea",
    "PostgreSQL",
    "MariaDB",
    "Redis",
    "Syncthing",
    "Immich",
    "Paperless-ngx",
    "WireGuard",
    "llama-server",
    "ComfyUI",
    "the gate monitor",
    "the job scraper",
    "the diet tracker",
    "Scrypted",
]
TEMPLATES = [
    "{svc} runs on {host} port {port}; restart it with systemctl restart {unit}.",
    "{svc} on {host} crashed with exit code {code} after the {month} upgrade; fixed by pinning the previous image.",
    "Decision: {svc} stays on {host} because it needs the {thing} attached there.",
    "{svc} config lives in /etc/{unit}/{unit}.conf on {host}; reload after every change.",
    "{svc} logs 'connection refused' when {host} reboots before {other}; start order fixed with After={unit2}.service.",
    "Backups of {svc} on {host} run nightly at 0{hour}:30 and are kept {days} days on nas-01.",
    "{svc} uses {mem} GB of RAM on {host}; the limit in compose is {limit} GB.",
    "Never upgrade {svc} on {host} without snapshotting {unit} first: {month} upgrade corrupted the database.",
    "{svc} health check: curl http://{host}:{port}/health should answer within 2 s.",
    "{svc} on {host} talks to {other} over MQTT topic lab/{unit}/state.",
]
THINGS = ["GPU", "Zigbee dongle", "ZFS pool", "USB camera", "UPS serial cable", "Coral TPU", "10G NIC"]
MONTHS = ["January", "March", "May", "July", "September", "November"]


def sentences(n: int, seed: int = 11) -> list[str]:
    """n distinct operator-style sentences."""
    rng = random.Random(seed)
    out: set[str] = set()
    for _ in itertools.count():
        if len(out) >= n:
            break
        svc, other = rng.sample(SERVICES, 2)
        unit = svc.lower().replace(" ", "-").replace("the-", "")
        out.add(
            rng.choice(TEMPLATES).format(
                svc=svc,
                other=other,
                host=rng.choice(HOSTS),
                port=rng.randint(1024, 65000),
                unit=unit,
                unit2=other.lower().replace(" ", "-").replace("the-", ""),
                code=rng.randint(1, 255),
                month=rng.choice(MONTHS),
                thing=rng.choice(THINGS),
                hour=rng.randint(0, 5),
                days=rng.choice([7, 14, 30, 90]),
                mem=rng.randint(1, 64),
                limit=rng.randint(2, 96),
            )
        )
    return sorted(out)[:n]


def queries(n: int, seed: int = 99) -> list[str]:
    rng = random.Random(seed)
    forms = [
        "which port does {svc} use on {host}",
        "how do I restart {svc}",
        "{svc} crashed after upgrade",
        "where is the {svc} config",
        "backup schedule for {svc}",
        "why is {svc} on {host}",
        "{svc} memory limit",
        "{svc} health check url",
    ]
    return [rng.choice(forms).format(svc=rng.choice(SERVICES), host=rng.choice(HOSTS)) for _ in range(n)]


def load_embedder(kind: str = "onnx"):  # type: ignore[no-untyped-def]
    """The embedder ``memory.embedder = kind`` selects (default: ONNX), loaded."""
    from homelab_hub.memory.config import MemoryConfig
    from homelab_hub.memory.embedders import build_embedder

    embedder = build_embedder(MemoryConfig(embedder=kind))  # type: ignore[arg-type]
    embedder.load_now()
    return embedder


def real_embeddings(n: int = 4000) -> tuple[list[str], np.ndarray]:
    """n sentences and their real MiniLM embeddings (cached)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"real-{n}.npy"
    texts = sentences(n)
    if path.exists():
        return texts, np.load(path)
    vecs = load_embedder().embed(texts, batch_size=128)
    np.save(path, vecs)
    return texts, vecs


def vectors_100k(n: int = 100_000, real: int = 4000, seed: int = 5) -> Path:
    """Path of an .npy file with n unit vectors: real embeddings plus perturbed copies."""
    path = CACHE / f"vectors-{n}.npy"
    if path.exists():
        return path
    _, base = real_embeddings(real)
    rng = np.random.default_rng(seed)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, base.shape[1]))
    out[:real] = base
    for start in range(real, n, 8192):
        stop = min(n, start + 8192)
        src = base[rng.integers(0, real, stop - start)]
        noisy = src + rng.standard_normal(src.shape).astype(np.float32) * (0.45 / np.sqrt(base.shape[1]))
        out[start:stop] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    out.flush()
    del out
    return path


def read_rows(path: Path, start: int, stop: int) -> np.ndarray:
    """Rows of an .npy file read with plain file I/O (a memmap would count in RSS)."""
    with path.open("rb") as fh:
        major, _ = np.lib.format.read_magic(fh)
        read_header = (
            np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        )
        shape, _, _ = read_header(fh)
        offset = fh.tell()
        dim = shape[1]
        fh.seek(offset + start * dim * 4)
        return np.frombuffer(fh.read((stop - start) * dim * 4), dtype=np.float32).reshape(-1, dim)


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


def cpu_note() -> str:
    return f"{os.cpu_count()} CPUs"
