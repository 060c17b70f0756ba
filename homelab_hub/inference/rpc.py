"""Our own client for llama.cpp's RPC protocol (``rpc-server``): handshake, devices, memory.

The wire format, from ggml-org/llama.cpp ``ggml/src/ggml-rpc/ggml-rpc.cpp`` and
``ggml/include/ggml-rpc.h`` (all integers little-endian, structs packed):

* request:  ``| cmd (1 byte) | input size (u64) | input |``;
  response: ``| output size (u64) | output |`` (commands without a reply send none).
* Commands keep their numbers across versions: GET_DEVICE_MEMORY = 11, HELLO = 14 (a
  static_assert upstream), DEVICE_COUNT = 15 (protocol 3.0 and later).
* HELLO must be the first command of a connection. Up to 3.x its input is empty and the reply is
  ``major, minor, patch`` (3 bytes). Later builds (7.0.0 in the llama.cpp that llama-cpp-python
  0.3.36 vendors) send 24 bytes of transport capabilities (``conn_caps``, all zero for plain TCP:
  "a peer that has no RDMA advertises all-zero caps") and answer ``major, minor, patch, padding,
  conn_caps[24]`` (28 bytes); such a server drops a connection whose HELLO has the old size
  ("HELLO request size mismatch"), and an old one drops the new size.
  Servers from before HELLO (protocol 1.0, early 2025) drop any connection that starts with it.
* GET_DEVICE_MEMORY answers ``free, total`` (2 x u64). From 3.0 (ggml-org/llama.cpp#16276,
  several devices per rpc-server) it takes a u32 device index; before, no input and one device.
* A client refuses a server whose major differs or whose minor is above its own
  (``negotiate_hello``): "RPC server version mismatch".
* rpc-server serves one client at a time (an accept loop that serves each connection to its
  end): while a llama-server holds it, a second client's TCP connect succeeds (the kernel's
  backlog) but its HELLO waits. The probe reports that as ``busy``, with the TCP connect time as
  the network round trip, instead of calling a working split down.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

CMD_GET_DEVICE_MEMORY = 11
CMD_HELLO = 14
CMD_DEVICE_COUNT = 15
CONN_CAPS_SIZE = 24
MULTI_DEVICE_MAJOR = 3  # DEVICE_COUNT and per-device requests
MAX_DEVICES = 64  # far above any rpc-server's device list; a larger count is a bad reply
DEFAULT_PORT = 50052
RTT_SAMPLES = 5

RpcState = Literal["ok", "busy", "down", "timeout", "bad_response"]
# HELLO's two layouts: (input, reply size). An `RpcProber` tries the one that worked last at an
# address first, so an rpc-server of today does not log "HELLO request size mismatch" at every probe.
HelloLayout = Literal["v1-v3", "conn_caps"]
_HELLO: dict[HelloLayout, tuple[bytes, int]] = {
    "v1-v3": (b"", 3),
    "conn_caps": (bytes(CONN_CAPS_SIZE), 4 + CONN_CAPS_SIZE),
}
Version = tuple[int, int, int]


class RpcError(Exception):
    """A failed exchange; ``state`` says how (down, timeout, closed, bad_response)."""

    def __init__(self, state: str, message: str) -> None:
        super().__init__(message)
        self.state = state
        self.message = message


@dataclass
class RpcDevice:
    index: int
    free: int
    total: int


@dataclass
class RpcProbe:
    """What one look at an rpc-server found."""

    address: str
    state: RpcState
    version: Version | None = None
    hello_format: HelloLayout | None = None
    devices: list[RpcDevice] = field(default_factory=list)
    connect_ms: float | None = None  # TCP handshake: one network round trip, served by the kernel
    command_ms: float | None = None  # a small command (GET_DEVICE_MEMORY) answered by rpc-server
    error: str = ""

    @property
    def round_trip_ms(self) -> float | None:
        return self.command_ms if self.command_ms is not None else self.connect_ms

    @property
    def version_text(self) -> str | None:
        return ".".join(map(str, self.version)) if self.version else None


def parse_address(address: str) -> tuple[str, int]:
    """``"192.168.100.2:50052"`` or ``"[fe80::1]:50052"`` → (host, port). Raises ValueError."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"HOST:PORT such as 192.168.100.2:{DEFAULT_PORT}, got {address!r}")
    return host.strip("[]"), int(port)


def parse_version(text: str) -> Version | None:
    parts = text.strip().lstrip("v").split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


def compatible(client: Version, server: Version) -> bool:
    """The client's own rule (``negotiate_hello``): same major, server minor not above the client's."""
    return server[0] == client[0] and server[1] <= client[1]


class _Connection:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        started = time.perf_counter()
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except TimeoutError:
            raise RpcError("timeout", f"TCP connect did not finish within {timeout:g} s") from None
        except OSError as exc:
            raise RpcError("down", f"TCP connect failed: {exc.strerror or exc}") from None
        self.connect_ms = (time.perf_counter() - started) * 1000
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        self.sock.close()

    def call(self, cmd: int, payload: bytes, reply_size: int) -> bytes:
        """One command and its fixed-size reply. Raises RpcError."""
        try:
            self.sock.sendall(struct.pack("<BQ", cmd, len(payload)) + payload)
            size = struct.unpack("<Q", self._read(8))[0]
            if size != reply_size:
                raise RpcError("bad_response", f"command {cmd} answered {size} bytes, expected {reply_size}")
            return self._read(reply_size)
        except TimeoutError:
            raise RpcError("timeout", f"no answer to command {cmd}") from None
        except (BrokenPipeError, ConnectionResetError):
            raise RpcError("closed", f"connection closed on command {cmd}") from None
        except OSError as exc:
            raise RpcError("down", f"command {cmd} failed: {exc.strerror or exc}") from None

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise RpcError("closed", "the server closed the connection")
            data += chunk
        return data


class RpcProber:
    """Looks at rpc-servers, remembering per address the HELLO layout that worked last (its
    owner, the inference engine or the watchdog, keeps one for its life). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._layouts: dict[str, HelloLayout] = {}

    def probe(self, address: str, timeout: float = 3.0) -> RpcProbe:
        """Handshake, device count and memory of the rpc-server at ``address``. Never raises."""
        with self._lock:
            first = self._layouts.get(address, "v1-v3")
        found = probe(address, timeout, first=first)
        if found.hello_format is not None:
            with self._lock:
                self._layouts[address] = found.hello_format
        return found


def probe(address: str, timeout: float = 3.0, *, first: HelloLayout = "v1-v3") -> RpcProbe:
    """Handshake, device count and memory of the rpc-server at ``address``, trying the ``first``
    HELLO layout first. Never raises."""
    try:
        host, port = parse_address(address)
    except ValueError as exc:
        return RpcProbe(address, "bad_response", error=str(exc))
    out = RpcProbe(address, "down")
    try:
        _handshake_and_query(out, host, port, timeout, first)
    except RpcError as exc:
        out.state = _state(exc, out)
        out.error = _explain(exc, out, timeout)
    return out


def _handshake_and_query(out: RpcProbe, host: str, port: int, timeout: float, first: HelloLayout) -> None:
    conn = _Connection(host, port, timeout)
    out.connect_ms = round(conn.connect_ms, 3)
    layouts = sorted(_HELLO, key=lambda name: name != first)
    try:
        for attempt, layout in enumerate(layouts):
            payload, reply_size = _HELLO[layout]
            try:
                raw = conn.call(CMD_HELLO, payload, reply_size)
            except RpcError as exc:
                if exc.state != "closed" or attempt == len(layouts) - 1:
                    raise
                conn.close()  # a server of the other layout drops the HELLO: reconnect and try it
                conn = _Connection(host, port, timeout)
                continue
            out.hello_format = layout
            break
        major, minor, patch = raw[0], raw[1], raw[2]
        out.version = (major, minor, patch)
        count = 1
        if major >= MULTI_DEVICE_MAJOR:
            count = struct.unpack("<I", conn.call(CMD_DEVICE_COUNT, b"", 4))[0]
            if not 0 < count <= MAX_DEVICES:
                raise RpcError("bad_response", f"DEVICE_COUNT answered {count}")
        timings = []
        # Every device once, then device 0 again up to RTT_SAMPLES calls: the fastest small command
        # is the round trip (the first may wake the device, a scheduler hiccup delays one).
        for index in [*range(count), *[0] * max(0, RTT_SAMPLES - count)]:
            payload = struct.pack("<I", index) if major >= MULTI_DEVICE_MAJOR else b""
            started = time.perf_counter()
            free, total = struct.unpack("<QQ", conn.call(CMD_GET_DEVICE_MEMORY, payload, 16))
            timings.append((time.perf_counter() - started) * 1000)
            if len(out.devices) < count:
                out.devices.append(RpcDevice(index, free, total))
        out.command_ms = round(min(timings), 3)
        out.state = "ok"
    finally:
        conn.close()


def _state(exc: RpcError, out: RpcProbe) -> RpcState:
    if exc.state == "timeout" and out.connect_ms is not None and out.version is None:
        return "busy"  # connected, HELLO unanswered: another client holds the server
    if exc.state == "closed":
        return "bad_response"
    return exc.state if exc.state in ("down", "timeout", "bad_response") else "down"  # type: ignore[return-value]


def _explain(exc: RpcError, out: RpcProbe, timeout: float) -> str:
    if out.connect_ms is not None and out.version is None and exc.state == "timeout":
        return (
            f"TCP connect in {out.connect_ms:.2f} ms but no HELLO answer within {timeout:g} s: rpc-server serves "
            "one client at a time, so another client (the llama-server using it) holds it, or it hangs"
        )
    if exc.state == "closed" and out.version is None:
        return (
            "the server closed the connection on HELLO in both layouts (empty and conn_caps): not an rpc-server, "
            "or one older than protocol 1.0 (early 2025) that has no HELLO"
        )
    return exc.message
