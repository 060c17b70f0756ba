"""``homelab-hub inference ps|bench|set-context``: the inference tools' answers at a terminal.

The same engine calls as ``ollama_ps``, ``inference_bench`` and ``ollama_set_context``, read from
the hub's config; a table for people, ``--json`` for machines (the tools' exact JSON).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel

from homelab_hub.config import load_config
from homelab_hub.inference.engine import InferenceEngine
from homelab_hub.inference.report import BenchResult, DerivedModel, LoadedModel, OllamaHostReport
from homelab_hub.inference.report_llama import InferenceSnapshot, LlamaServerReport
from homelab_hub.inference.report_rpc import RpcServerReport
from homelab_hub.server.cli_options import config_option


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "inference",
        help="what the Ollama / llama.cpp hosts hold and why (ps), tokens/s (bench), context fix (set-context)",
    )
    sub = parser.add_subparsers(dest="inference_command", metavar="ACTION", required=True)
    ps = sub.add_parser("ps", help="loaded models: memory, context and why, KV cache, findings with fixes")
    ps.add_argument("--host", help="one host name from the config (default: all)")
    bench = sub.add_parser("bench", help="pp and tg tokens/s, measured apart like llama-bench")
    bench.add_argument("--host", required=True, help="host name from the config")
    bench.add_argument("--model", help="model to measure (Ollama hosts, llama-server routers)")
    bench.add_argument("--prompt-tokens", type=int, default=512, help="prompt length (default 512)")
    bench.add_argument("--max-tokens", type=int, default=128, help="tokens to generate (default 128)")
    setctx = sub.add_parser(
        "set-context", help="create a copy of an Ollama model with a smaller context baked in"
    )
    setctx.add_argument("model", help="installed model, e.g. qwen2.5vl:7b")
    setctx.add_argument("num_ctx", type=int, help="context tokens, e.g. 4096")
    setctx.add_argument("--host", help="Ollama host (default: the one that has the model)")
    setctx.add_argument("--name", help="new model name (default: <model>-4k)")
    for p, func in ((ps, cmd_ps), (bench, cmd_bench), (setctx, cmd_set_context)):
        config_option(p)
        p.add_argument("--json", action="store_true", help="print the tool's JSON answer instead of a table")
        p.set_defaults(func=func)


def _with_engine(args: argparse.Namespace, call: Callable[[InferenceEngine], BaseModel]) -> BaseModel:
    engine = InferenceEngine(load_config(getattr(args, "config", None)).inference)
    try:
        return call(engine)
    finally:
        engine.close()


def _emit(args: argparse.Namespace, answer: BaseModel, text: Callable[[Any], list[str]]) -> int:
    lines = [json.dumps(answer.model_dump(mode="json"), ensure_ascii=False)] if args.json else text(answer)
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    return 0


def cmd_ps(args: argparse.Namespace) -> int:
    answer = _with_engine(args, lambda e: e.snapshot(args.host or None))
    return _emit(args, answer, ps_lines)


def cmd_bench(args: argparse.Namespace) -> int:
    answer = _with_engine(args, lambda e: e.bench(args.host, args.model, args.prompt_tokens, args.max_tokens))
    return _emit(args, answer, bench_lines)


def cmd_set_context(args: argparse.Namespace) -> int:
    answer = _with_engine(
        args, lambda e: e.set_context(args.model, args.num_ctx, host=args.host, name=args.name)
    )
    return _emit(args, answer, set_context_lines)


def table(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Left-aligned columns, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _gb(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} GB"


def ps_lines(snap: InferenceSnapshot) -> list[str]:
    out: list[str] = []
    for host in snap.ollama:
        out += _ollama_lines(host)
    for server in snap.llama_cpp:
        out += _llama_lines(server)
    if snap.rpc:
        out += _rpc_lines(snap.rpc)
    return [*out, snap.summary]


def _ollama_lines(host: OllamaHostReport) -> list[str]:
    head = f"{host.host}  {host.state}  Ollama {host.version or '?'}  {host.url}"
    if host.state != "ok":
        return [head, f"  {host.error}", ""]
    out = [head + (f"  (log: {host.log})" if host.log else "")]
    if not host.models:
        return [*out, "  no models loaded", ""]
    rows = [["MODEL", "SIZE", "VRAM", "CPU", "CONTEXT", "KV CACHE", "UNTIL"]]
    rows += [_model_row(m) for m in host.models]
    out += table(rows)
    for m in host.models:
        out += _model_details(m)
    return [*out, ""]


def _model_row(m: LoadedModel) -> list[str]:
    mem = m.memory
    if mem is not None and mem.source == "measured" and mem.kv_cache_gb is not None:
        kv = f"{mem.kv_cache_gb:.1f} GB measured"
    elif m.kv_cache is not None:
        kv = f"{m.kv_cache.at_loaded_gb:.1f} GB estimated"
    else:
        kv = "-"
    context = f"{m.context_length:,}" if m.context_length else "?"
    return [m.name, _gb(m.size_gb), _gb(m.vram_gb), f"{m.cpu_percent:.0f}%", context, kv, m.expires_in or "-"]


def _model_details(m: LoadedModel) -> list[str]:
    out = [f"  {m.name}:"]
    mem = m.memory
    if mem is not None:
        parts = [
            f"weights {_gb(mem.weights_gb)}",
            f"KV {_gb(mem.kv_cache_gb)}",
            f"graph {_gb(mem.compute_graph_gb)}",
        ]
        if (mem.unattributed_gb or 0) >= 0.1:
            parts.append(f"unattributed {_gb(mem.unattributed_gb)}")
        out.append(f"    memory ({mem.source}): {', '.join(parts)} [{mem.basis}]")
        for d in mem.devices:
            out.append(
                f"      {d.device}: weights {_gb(d.weights_gb)}, KV {_gb(d.kv_cache_gb)}, "
                f"graph {_gb(d.compute_graph_gb)}"
            )
    if m.context_cause is not None:
        out.append(f"    context ({m.context_cause.source}): {m.context_cause.explanation}")
    for f in m.findings:
        out += [f"    ! {f.kind}: {f.message}", f"      fix: {f.fix}"]
    return out


def _llama_lines(server: LlamaServerReport) -> list[str]:
    head = f"{server.host}  {server.state}  llama-server {server.build or ''} ({server.mode})  {server.url}"
    if server.state != "ok":
        return [head, f"  {server.error or '; '.join(server.notes)}", *_split_lines(server), ""]
    out = [head]
    if server.models:
        rows = [["MODEL", "STATUS", "SLOTS", "BUSY", "CTX/SLOT", "KV CELLS", "UNIFIED", "KV FILL"]]
        for m in server.models:
            fill = f"{m.kv_fill:.0%} ({m.kv_fill_from})" if isinstance(m.kv_fill, float) else "unknown"
            unified = (
                "-" if m.kv_unified is None else ("yes" if m.kv_unified else "no") + f" ({m.kv_unified_from})"
            )
            rows.append(
                [
                    m.model,
                    m.status,
                    _n(m.total_slots),
                    _n(m.slots_busy),
                    _n(m.ctx_per_slot),
                    _n(m.context_total),
                    unified,
                    fill,
                ]
            )
        out += table(rows)
        for m in server.models:
            for f in m.findings:
                out += [f"  ! {m.model} {f.kind}: {f.message}", f"    fix: {f.fix}"]
    out += [f"  note: {n}" for n in server.notes]
    return [*out, *_split_lines(server), ""]


def _split_lines(server: LlamaServerReport) -> list[str]:
    out = [f"  log: {server.log}"] if server.log else []
    split = server.split
    if split is not None:
        out.append(f"  split of {split.model} ({split.layers_total or '?'} layers; {split.layers_from}):")
        rows = [["MACHINE", "DEVICE", "LAYERS", "MODEL", "KV", "COMPUTE", "FREE AT LOAD"]]
        rows += [
            [
                d.machine,
                d.device,
                _n(d.layers),
                _gb(d.model_gb),
                _gb(d.kv_cache_gb),
                _gb(d.compute_gb),
                _gb(d.free_at_load_gb),
            ]
            for d in split.devices
        ]
        out += table(rows, indent="    ")
        for m in split.machines:
            via = f" via rpc-server {m.rpc_server}" if m.rpc_server else ""
            out.append(
                f"    {m.machine}{via}: {_n(m.layers)} layers, {_gb(m.total_gb)}"
                + (f" of {_gb(m.capacity_gb)} free" if m.capacity_gb is not None else "")
            )
        rtt = f"{split.round_trip_ms:.2f} ms" if split.round_trip_ms is not None else "unknown"
        link = f"{split.link_ms_per_token:.1f} ms" if split.link_ms_per_token is not None else "unknown"
        decode = f"{split.decode_tokens_per_s:.1f} tok/s" if split.decode_tokens_per_s else "not measured"
        out.append(
            f"    needs {_gb(split.needs_gb)} on one machine; depends on {', '.join(split.depends_on)}; "
            f"round trip {rtt}; link per token {link}; decode {decode}"
        )
        if not any(f.kind in ("split_fits_one_host", "split_required") for f in server.findings):
            out.append(f"    {split.advice}")
    for f in server.findings:
        out += [f"  ! {f.kind}: {f.message}", f"    fix: {f.fix}"]
    return out


def _rpc_lines(servers: list[RpcServerReport]) -> list[str]:
    rows = [["RPC-SERVER", "ADDRESS", "STATE", "PROTOCOL", "DEVICES (free/total)", "ROUND TRIP", "USED BY"]]
    for r in servers:
        devices = ", ".join(f"#{d.index} {d.free_gb:.1f}/{d.total_gb:.1f} GB" for d in r.devices) or "-"
        rtt = f"{r.round_trip_ms:.2f} ms ({r.round_trip_from})" if r.round_trip_ms is not None else "-"
        rows.append(
            [r.host, r.address, r.state, r.protocol or "-", devices, rtt, ", ".join(r.used_by) or "-"]
        )
    out = table(rows, indent="")
    out += [f"  {r.host}: {r.error}" for r in servers if r.error]
    return [*out, ""]


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def bench_lines(r: BenchResult) -> list[str]:
    rows = [
        ["host", r.host],
        ["model", r.model],
        ["context", _n(r.context)],
        ["pp (prompt)", f"{r.prompt_tokens:,} tokens at {r.prompt_tokens_per_s or 0:.1f} tok/s"],
        ["tg (generation)", f"{r.generated_tokens:,} tokens at {r.generation_tokens_per_s or 0:.1f} tok/s"],
        ["wall time", f"{r.total_s:.2f} s" + (f" (load {r.load_s:.1f} s)" if r.load_s else "")],
    ]
    if r.devices:
        rows.insert(2, ["devices", r.devices])
    return table(rows, indent="") + ([f"note: {r.note}"] if r.note else [])


def set_context_lines(d: DerivedModel) -> list[str]:
    rows = [
        ["created", f"{d.name} on {d.host} ({d.status})"],
        ["from", d.from_model],
        ["num_ctx", f"{d.num_ctx:,} (trained {d.trained_context:,})"],
        ["KV cache", f"{d.kv_cache_gb:.2f} GB (at the trained context: {d.kv_cache_at_trained_gb:.2f} GB)"],
    ]
    return [*table(rows, indent=""), f"next: {d.next_step}"]
