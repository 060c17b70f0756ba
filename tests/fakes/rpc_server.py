"""A faithful stand-in for llama.cpp's ``rpc-server``, on a real TCP socket.

It speaks the wire format of ``ggml/src/ggml-rpc/ggml-rpc.cpp`` (little-endian, packed):
``| cmd u8 | size u64 | input |`` in, ``| size u64 | output |`` out; HELLO (14) first on every
connection, else the connection is dropped ("Expected HELLO command, update client"); up to
3.x HELLO has no input and answers major, minor, patch; builds with transport capabilities
(``caps=True``) want 24 bytes of ``conn_caps`` and answer 28 bytes, and either kind drops a HELLO
of the other size. DEVICE_COUNT (15) exists from 3.0, GET_DEVICE_MEMORY (11) takes a u32 device
index from 3.0 and nothing before. ``version=None`` is a server from before HELLO: it drops a
connection whose first command it does not know.

Like the real one it serves one client at a time: a second client connects (the kernel's
backlog) but waits for its HELLO answer until the first one leaves. ``latency_s`` delays every
reply (a slow link). Run as a process for the watchdog tests:

    python -m tests.fakes.rpc_server --port 50052 --version 3.0.0 --device 120000:128000
"""

from __future__ import annotations

import argparse
import socket
import struct
import sys
import threading
import time
from collections.abc import Sequence

MIB = 1024**2
# The seed's DGX Spark: 120 GB of unified memory seen by CUDA as one device.
DGX_DEVICES = ((115_000 * MIB, 122_572 * MIB),)
HELLO, DEVICE_COUNT, GET_DEVICE_MEMORY = 14, 15, 11
CAPS = 24


class FakeRpcServer:
    def __init__(
        self,
        *,
        version: tuple[int, int, int] | None = (3, 0, 0),
        devices: Sequence[tuple[int, int]] = DGX_DEVICES,
        latency_s: float = 0.0,
        caps: bool | None = None,
        port: int = 0,
    ) -> None:
        self.version = version
        self.devices = list(devices)  # (free, total) bytes per device
        self.latency_s = latency_s
        self.caps = caps if caps is not None else bool(version and version[0] >= 4)
        self.connections = 0
        self.commands: list[int] = []
        self._listener = socket.create_server(("127.0.0.1", port), backlog=8)
        self._listener.settimeout(0.2)  # accept wakes up to see the stop event
        self.port = self._listener.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._held: socket.socket | None = None

    # --- lifecycle ---

    def start(self) -> FakeRpcServer:
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the port (idempotent): clients then get a refused connection, as from a dead server."""
        self._stop.set()
        self.release()
        self._listener.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeRpcServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def hold(self) -> None:
        """Connect and handshake as a llama-server would, keeping the server busy until `release`."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        payload = bytes(CAPS) if self.caps else b""
        sock.sendall(struct.pack("<BQ", HELLO, len(payload)) + payload)
        size = struct.unpack("<Q", _read(sock, 8))[0]
        _read(sock, size)
        self._held = sock

    def release(self) -> None:
        if self._held is not None:
            self._held.close()
            self._held = None

    # --- the server: one client at a time, as rpc-server's accept loop ---

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            with client:
                try:
                    self._serve_client(client)
                except (OSError, ConnectionError, struct.error):
                    pass

    def _serve_client(self, sock: socket.socket) -> None:
        cmd = _read(sock, 1)[0]
        self.commands.append(cmd)
        if self.version is None or cmd != HELLO:
            return  # "Expected HELLO command, update client" / unknown command: drop it
        size = struct.unpack("<Q", _read(sock, 8))[0]
        if size != (CAPS if self.caps else 0):
            return  # "HELLO request size mismatch": drop it
        _read(sock, size)
        hello = bytes(self.version)
        if self.caps:
            hello += bytes(1 + CAPS)  # padding, then no transport upgrade offered
        self._reply(sock, hello)
        multi = self.version[0] >= 3
        while not self._stop.is_set():
            try:
                cmd = _read(sock, 1)[0]
            except ConnectionError:
                return
            self.commands.append(cmd)
            size = struct.unpack("<Q", _read(sock, 8))[0]
            payload = _read(sock, size)
            if cmd == DEVICE_COUNT and multi and size == 0:
                self._reply(sock, struct.pack("<I", len(self.devices)))
            elif cmd == GET_DEVICE_MEMORY and size == (4 if multi else 0):
                index = struct.unpack("<I", payload)[0] if multi else 0
                if index >= len(self.devices):
                    return  # the real server drops a request for a device it does not have
                self._reply(sock, struct.pack("<QQ", *self.devices[index]))
            else:
                return  # anything else this stand-in does not serve closes the connection

    def _reply(self, sock: socket.socket, data: bytes) -> None:
        if self.latency_s:
            time.sleep(self.latency_s)  # the injected slow link
        sock.sendall(struct.pack("<Q", len(data)) + data)


def _read(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("peer closed")
        data += chunk
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--version", default="3.0.0", help="protocol major.minor.patch, or 'none'")
    parser.add_argument("--device", action="append", help="FREE_MIB:TOTAL_MIB, once per device")
    args = parser.parse_args(argv)
    version = None if args.version == "none" else tuple(int(p) for p in args.version.split("."))
    devices = [tuple(int(v) * MIB for v in d.split(":")) for d in args.device or []] or list(DGX_DEVICES)
    server = FakeRpcServer(version=version, devices=devices, port=args.port)  # type: ignore[arg-type]
    print(f"Starting RPC server v{args.version}", flush=True)
    print(f"  endpoint       : 127.0.0.1:{server.port}", flush=True)
    server._serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
