"""Our RPC client against a real llama.cpp ``rpc-server`` binary: checks the stand-in's wire
format (tests/fakes/rpc_server.py) against upstream's. CI has no such binary (the suite uses the
stand-in), so this is run by hand with a binary built with ``cmake -DGGML_RPC=ON`` and
``--target ggml-rpc-server`` (the CPU device is enough):

    python benchmarks/rpc_upstream.py /path/to/rpc-server

Prints the version and devices our handshake read, the server's own start line, and the round
trip of a small command next to the TCP connect time (the baseline); exits 1 on a mismatch.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from homelab_hub.inference.rpc import probe
from tests.support import free_port, wait_until


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary", help="llama.cpp rpc-server binary")
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [args.binary, "-H", "127.0.0.1", "-p", str(port)],
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
    printed = next((line for line in output.splitlines() if line.startswith("Starting RPC server v")), "")
    print(f"handshake: protocol {found.version_text}; server printed: {printed or '(no start line)'}")
    for device in found.devices:
        print(f"  device: free {device.free / 2**30:.1f} GiB of {device.total / 2**30:.1f} GiB")
    print(f"round trip {found.command_ms} ms (command) vs connect {found.connect_ms} ms (baseline)")
    ok = (
        printed == f"Starting RPC server v{found.version_text}"
        and bool(found.devices)
        and all(0 < d.free <= d.total for d in found.devices)
        and "Accepted client connection" in output
    )
    print("matches upstream" if ok else "MISMATCH with upstream")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
