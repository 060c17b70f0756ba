"""Opt-in: our RPC client against a real llama.cpp ``rpc-server`` binary, to check the stand-in's
wire format against upstream. Set HOMELAB_HUB_LLAMA_RPC_SERVER to the binary (built with
``cmake -DGGML_RPC=ON`` and ``--target ggml-rpc-server``; the CPU device is enough). CI has no
such binary, so this skips there rather than failing under HOMELAB_HUB_REQUIRE_ALL."""

from __future__ import annotations

import os
import subprocess

import pytest

from homelab_hub.inference.rpc import probe
from tests.support import free_port, wait_until

BINARY = os.environ.get("HOMELAB_HUB_LLAMA_RPC_SERVER", "")


@pytest.mark.skipif(
    not BINARY, reason="opt-in: set HOMELAB_HUB_LLAMA_RPC_SERVER to a llama.cpp rpc-server binary"
)
def test_a_real_rpc_server_answers_our_handshake_and_memory_query():
    port = free_port()
    server = subprocess.Popen(
        [BINARY, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        found = wait_until(
            lambda: (r := probe(f"127.0.0.1:{port}", 2.0)).state == "ok" and r, 60, "rpc-server to start"
        )
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0]
    printed = next(line for line in output.splitlines() if line.startswith("Starting RPC server v"))
    assert printed == f"Starting RPC server v{found.version_text}"
    assert found.devices and all(0 < d.free <= d.total for d in found.devices)
    assert "Accepted client connection" in output
