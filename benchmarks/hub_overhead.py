"""Hub overhead: hub_status over REST vs a bare Starlette route on the same uvicorn, and
tools/call over Streamable HTTP; plus the size of the whole tools/list answer in tokens.

    python benchmarks/hub_overhead.py [--requests 2000]

Target: REST overhead <= 1.5x the bare route (p50). tools/list under 2,500 tokens.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hubclient import mcp_session  # noqa: E402

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
                try:
                    if httpx.get(base + "/api/health", timeout=1).status_code in (200, 503):
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("hub did not start")
                time.sleep(0.2)
            with httpx.Client() as client:
                n = args.requests
                # Warm up both paths, then interleave rounds so drift hits both alike.
                time_requests(client, "GET", base + "/bare", 200)
                time_requests(client, "POST", base + "/api/tools/hub_status", 200, json={})
                bare: list[float] = []
                rest: list[float] = []
                for _ in range(10):
                    bare += time_requests(client, "GET", base + "/bare", n // 10)
                    rest += time_requests(client, "POST", base + "/api/tools/hub_status", n // 10, json={})
            mcp, size = anyio.run(mcp_times, base, max(200, n // 4))
        finally:
            proc.terminate()
            proc.wait(10)
    ms = 1000
    print(f"requests per path: {len(bare)} (REST, bare), {len(mcp)} (MCP tools/call)")
    print(
        f"bare Starlette route      p50 {statistics.median(bare) * ms:7.3f} ms   p99 {pct(bare, 0.99) * ms:7.3f} ms"
    )
    print(
        f"REST hub_status           p50 {statistics.median(rest) * ms:7.3f} ms   p99 {pct(rest, 0.99) * ms:7.3f} ms"
    )
    print(
        f"MCP tools/call hub_status p50 {statistics.median(mcp) * ms:7.3f} ms   p99 {pct(mcp, 0.99) * ms:7.3f} ms"
    )
    ratio50 = statistics.median(rest) / statistics.median(bare)
    ratio99 = pct(rest, 0.99) / pct(bare, 0.99)
    print(f"REST overhead vs bare: p50 {ratio50:.2f}x  p99 {ratio99:.2f}x  (target p50 <= 1.5x)")
    print(f"tools/list answer: {size} characters = ~{size // 4} tokens (target < 2,500)")


if __name__ == "__main__":
    main()
