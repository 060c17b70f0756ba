"""ollama_ps across many hosts, some of them hung: the concurrent fan-out vs asking the same
hosts one after another (the baseline), measured in the same run against the stand-ins; then
the cost of measured memory: one host read with its server log (a --log-lines tail, mostly
request lines as a busy Ollama writes them) vs the same host without a log (the baseline).

    python benchmarks/inference_ps.py [--hosts 8] [--hung 2] [--latency-ms 20] [--rounds 5] [--timeout 1.0]
                                      [--log-lines 20000]

Each healthy stand-in answers after --latency-ms (a LAN round trip plus Ollama reading GGUF
metadata for /api/show). Targets: the answer takes about one host's time, or one timeout when
hosts hang, instead of the sum over hosts; reading the log adds a fraction of one host's time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from homelab_hub.inference.config import InferenceConfig  # noqa: E402
from homelab_hub.inference.engine import InferenceEngine  # noqa: E402
from tests.fakes.http import FakeHTTPServer  # noqa: E402
from tests.fakes.llama_server import FakeLlamaServer  # noqa: E402
from tests.fakes.ollama import FakeOllama, slow_host  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=8, help="healthy Ollama hosts")
    parser.add_argument("--hung", type=int, default=2, help="hosts that never answer in time")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="answer delay of each healthy request")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=1.0, help="per-request timeout_s")
    parser.add_argument("--log-lines", type=int, default=20_000, help="server log lines read per look")
    args = parser.parse_args()

    with ExitStack() as stack:
        ollamas = [stack.enter_context(FakeOllama()) for _ in range(args.hosts)]
        llama = stack.enter_context(FakeLlamaServer())
        for server in [*ollamas, llama]:
            _add_latency(server, args.latency_ms / 1000)
        for o in ollamas:
            o.load("qwen2.5vl:7b", context=131_072)
            o.load("llama3.1:8b", context=4096)
        hung = {
            f"hung{i}": {"url": stack.enter_context(slow_host(delay_s=args.timeout * 10)).url}
            for i in range(args.hung)
        }
        healthy = {f"gpu{i}": {"url": o.url} for i, o in enumerate(ollamas)}
        for title, hosts in (("all hosts healthy", healthy), (f"{args.hung} hosts hung", healthy | hung)):
            engine = InferenceEngine(
                InferenceConfig(
                    ollama=hosts, llama_cpp={"studio": {"url": llama.url}}, timeout_s=args.timeout
                )
            )
            _compare(engine, title, args)
            engine.close()
        _log_cost(ollamas[0], args)


def _add_latency(server: FakeHTTPServer, delay_s: float) -> None:
    for key, route in list(server.routes.items()):
        server.routes[key] = lambda req, route=route: replace(route(req), delay_s=delay_s)


def _compare(engine: InferenceEngine, title: str, args: argparse.Namespace) -> None:
    def sequential() -> None:
        for host in [*engine.ollama.values(), *engine.llama_cpp.values()]:
            engine._report(host)

    def concurrent() -> None:
        snapshot = engine.snapshot()
        assert sum(len(r.models) for r in snapshot.ollama) == 2 * args.hosts

    results = {}
    for label, fn in (("sequential (baseline)", sequential), ("concurrent (ollama_ps)", concurrent)):
        times = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        results[label] = statistics.median(times)
    base = results["sequential (baseline)"]
    print(
        f"{title}: {args.hosts} Ollama hosts (2 models each) + 1 llama-server, "
        f"{args.latency_ms:g} ms per request, timeout {args.timeout:g} s"
    )
    for label, median in results.items():
        print(f"  {label:<24} median {median * 1000:8.1f} ms   ratio to baseline {median / base:5.2f}")


def _log_cost(ollama: FakeOllama, args: argparse.Namespace) -> None:
    # A busy server's log is mostly request lines between the load lines that matter.
    filler = '[GIN] 2026/03/30 - 17:02:11 | 200 |  1.204s |  10.0.0.5 | POST     "/v1/chat/completions"'
    ollama._write([filler] * args.log_lines)
    ollama.load("qwen2.5vl:7b", context=131_072)
    results = {}
    for label, host in (
        ("without a log (baseline)", {"url": ollama.url}),
        ("with the server log", {"url": ollama.url, "log_file": ollama.log_path}),
    ):
        config = InferenceConfig(
            ollama={"spark": host}, timeout_s=args.timeout, log_tail_lines=args.log_lines
        )
        engine = InferenceEngine(config)
        times = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            snapshot = engine.snapshot()
            times.append(time.perf_counter() - start)
        engine.close()
        assert snapshot.ollama[0].models, "the stand-in lost its models"
        results[label] = statistics.median(times)
    base = results["without a log (baseline)"]
    print(
        f"measured memory: 1 Ollama host, {args.log_lines:,}-line server log, {args.latency_ms:g} ms per request"
    )
    for label, median in results.items():
        print(f"  {label:<24} median {median * 1000:8.1f} ms   ratio to baseline {median / base:5.2f}")


if __name__ == "__main__":
    main()
