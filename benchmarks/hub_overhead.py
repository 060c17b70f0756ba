"""Hub overhead: hub_status over REST and over MCP tools/call (Streamable HTTP) against a
bare Starlette route on the same uvicorn; plus the size of the whole tools/list answer.

    python benchmarks/hub_overhead.py [--requests 2000]

Every path is timed with the same synchronous HTTP client, so the figures compare what the
server does; the hub process's CPU time per request is printed beside the latency (it moves
far less than latency when other work shares the machine). MCP is one initialized session, then plain JSON-RPC ``tools/call`` POSTs on it.
The MCP SDK's own client is timed too, for reference: its figure adds the client's work
(its task group, stream plumbing and result validation).

Targets: REST <= 1.5x the bare route, MCP tools/call <= 2x (p50). tools/list < 2,500 tokens.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import anyio
import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hubclient import mcp_session, raw_session  # noqa: E402

SERVER = textwrap.dedent(
    """
    import sys, uvicorn
    from starlette.responses import JSONResponse
    from homelab_hub.config import load_config
    from homelab_hub.server.app import create_app

    port, tmp = int(sys.argv[1]), sys.argv[2]
    config = load_config(None, storage={"url": f"sqlite:///{tmp}/hub.db"}, logging={"file": None},
                         server={"port": port, "data_dir": tmp})
    hub = create_app(config)
    bare_body = {"version": "0.1.0", "uptime_s": 1.0, "storage": "sqlite", "agent": "local", "role": "admin",
                 "components": {"storage": "ok"}, "workers": []}

    async def app(scope, receive, send):
        # The bare route: same uvicorn, same process, no hub code in the path.
        if scope["type"] == "http" and scope["path"] == "/bare":
            await JSONResponse(bare_body)(scope, receive, send)
        else:
            await hub(scope, receive, send)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def time_requests(client: httpx.Client, method: str, url: str, n: int, **kw) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = client.request(method, url, **kw)
        out.append(time.perf_counter() - t)
        r.raise_for_status()
    return out


async def mcp_times(base: str, n: int) -> tuple[list[float], int]:
    async with mcp_session(base, "http") as session:
        listed = await session.list_tools()
        size = len(json.dumps(listed.model_dump(mode="json", by_alias=True, exclude_none=True)))
        out = []
        for _ in range(n):
            t = time.perf_counter()
            result = await session.call_tool("hub_status", {})
            out.append(time.perf_counter() - t)
            assert not result.is_error
        return out, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), tmp], env=env, cwd=ROOT)
        try:
            deadline = time.monotonic() + 120
            while True:
                # Wait for the memory model and index to finish loading: its background
                # thread's CPU would count against whichever path runs first.
                try:
                    health = httpx.get(base + "/api/health", timeout=1).json()
                    if health["components"].get("memory", {}).get("state") == "ok":
                        break
                except (httpx.HTTPError, ValueError, KeyError):
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("hub did not start")
                time.sleep(0.2)
            with httpx.Client() as client:
                n = args.requests
                # Warm up both paths, then interleave rounds so drift hits both alike.
                time_requests(client, "GET", base + "/bare", 200)
                time_requests(client, "POST", base + "/api/tools/hub_status", 200, json={})
                headers = raw_session(base, post=client.post)
                call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "hub_status"}}
                time_requests(client, "POST", base + "/mcp", 200, json=call, headers=headers)
                server = psutil.Process(proc.pid)
                cpu = {"bare": 0.0, "rest": 0.0, "mcp": 0.0}

                def timed(path: str, *a: object, **kw: object) -> list[float]:
                    before = server.cpu_times()
                    out = time_requests(client, *a, **kw)  # type: ignore[arg-type]
                    after = server.cpu_times()
                    cpu[path] += (after.user - before.user) + (after.system - before.system)
                    return out

                bare: list[float] = []
                rest: list[float] = []
                raw: list[float] = []
                for _ in range(10):
                    bare += timed("bare", "GET", base + "/bare", n // 10)
                    rest += timed("rest", "POST", base + "/api/tools/hub_status", n // 10, json={})
                    raw += timed("mcp", "POST", base + "/mcp", n // 10, json=call, headers=headers)
            mcp, size = anyio.run(mcp_times, base, max(200, n // 4))
        finally:
            proc.terminate()
            proc.wait(10)
    ms = 1000
    print(f"requests per path: {len(bare)} (bare, REST, MCP), {len(mcp)} (MCP through the SDK client)")
    print(
        f"bare Starlette route      p50 {statistics.median(bare) * ms:7.3f} ms   p99 {pct(bare, 0.99) * ms:7.3f} ms"
    )
    print(
        f"REST hub_status           p50 {statistics.median(rest) * ms:7.3f} ms   p99 {pct(rest, 0.99) * ms:7.3f} ms"
    )
    print(
        f"MCP tools/call hub_status p50 {statistics.median(raw) * ms:7.3f} ms   p99 {pct(raw, 0.99) * ms:7.3f} ms"
    )
    print(
        f"  same, SDK client        p50 {statistics.median(mcp) * ms:7.3f} ms   p99 {pct(mcp, 0.99) * ms:7.3f} ms"
    )
    per = {k: v / len(bare) * ms for k, v in cpu.items()}
    print(
        f"hub CPU per request: bare {per['bare']:.3f} ms, REST {per['rest']:.3f} ms, MCP {per['mcp']:.3f} ms"
    )
    for label, values, key, target in (("REST", rest, "rest", 1.5), ("MCP tools/call", raw, "mcp", 2.0)):
        ratio50 = statistics.median(values) / statistics.median(bare)
        ratio99 = pct(values, 0.99) / pct(bare, 0.99)
        print(
            f"{label} vs bare: p50 {ratio50:.2f}x  p99 {ratio99:.2f}x  CPU {per[key] / per['bare']:.2f}x"
            f"  (target p50 <= {target}x)"
        )
    print(f"tools/list answer: {size} characters = ~{size // 4} tokens (target < 2,500)")


if __name__ == "__main__":
    main()
