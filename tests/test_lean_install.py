"""The default install carries no PyTorch, and the hub serves and searches on it.

`pip install homelab-hub` (here: this checkout) into a fresh virtualenv, as scripts/serve does,
then `homelab-hub serve` from that venv saves and finds a memory over REST while `import
torch` fails there and no heavy library the configuration does not use (PyTorch, OpenCV,
PyAV, numba) is mapped into the hub process. The install is the expensive part (about 80 s on
2 cores with pip's cache warm from scripts/test's own install); it is the one check that the
dependency list, not only the code, stays lean.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support import free_port, wait_until

# The install runs in the first test's setup: pip alone may take minutes on a busy machine.
pytestmark = pytest.mark.timeout(900)

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("libtorch", "torch/lib", "cv2", "libavcodec", "llvmlite", "ctranslate2")


@pytest.fixture(scope="module")
def lean_venv(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    venv = tmp_path_factory.mktemp("lean") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # A copy of the tree: the build must not leave build/ or *.egg-info in the checkout.
    src = venv.parent / "src"
    archive = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, archive.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            target = src / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(src)],
        check=True,
        timeout=900,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    return venv


def test_the_default_install_has_no_torch(lean_venv):
    probe = subprocess.run(
        [str(lean_venv / "bin" / "python"), "-c", "import torch"], capture_output=True, text=True
    )
    assert probe.returncode != 0
    assert "No module named 'torch'" in probe.stderr


def test_the_camera_worker_runs_from_the_default_install_without_an_embedding_model(lean_venv):
    """`homelab-hub worker` (pip install homelab-hub[worker]: the same packages) loads no
    embedding runtime: neither ONNX Runtime nor the tokenizer, let alone PyTorch."""
    help_text = subprocess.run(
        [str(lean_venv / "bin" / "homelab-hub"), "worker", "--help"], capture_output=True, text=True
    )
    assert help_text.returncode == 0 and "--broker" in help_text.stdout
    probe = subprocess.run(
        [str(lean_venv / "bin" / "python"), "-c",
         "import sys, homelab_hub.remote.node, homelab_hub.server.cli; "
         "print(sorted(m for m in ('torch', 'onnxruntime', 'tokenizers', 'sentence_transformers') if m in sys.modules))"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "[]"


def test_the_hub_serves_and_searches_from_the_default_install(lean_venv, tmp_path):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("HF_")
    }
    env |= {"HOMELAB_HUB_SERVER__DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [str(lean_venv / "bin" / "homelab-hub"), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def memory_ok() -> bool:
            try:
                health = httpx.get(base + "/api/health", timeout=5).json()
            except (httpx.HTTPError, ValueError):
                return False
            return health["components"]["memory"]["state"] == "ok"

        wait_until(memory_ok, timeout=180, what="the lean hub's memory to load")
        saved = httpx.post(
            base + "/api/tools/memory_save",
            json={"content": "The NAS exports /tank/media over NFS to the Plex VM."},
            timeout=60,
        )
        assert saved.status_code == 200, saved.text
        found = httpx.post(
            base + "/api/tools/memory_search", json={"query": "where is the media share exported"}, timeout=60
        ).json()
        assert "/tank/media" in str(found)
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
        assert [lib for lib in HEAVY if lib in maps] == []
    finally:
        proc.terminate()
        proc.wait(30)
