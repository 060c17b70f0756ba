"""A model split across machines with llama.cpp's RPC backend: where it lives, what the link
costs, and whether to split at all.

The rules are the seed's measurements (a DGX Spark and a Mac Studio on a direct 10 GbE cable,
llama.cpp built from one commit on both):

* Decode pays the link: every token crosses it once per layer, ~0.2 ms per layer per token at
  10 GbE (16 ms per token for 80 layers). So the cost predicted here is layers x the measured
  round trip, set against the measured time per token.
* A model that fits one machine decodes faster there: Qwen2.5-72B Q4_K_M 11 tok/s on the Mac
  alone vs 6 tok/s split; Qwen2.5-7B 92 vs 53.
* Prefill gains from the extra compute (7B: 76 -> 318 tok/s): long prompts and batch review are
  the work a split helps.
* A model too big for any one machine has no alternative: the split is the way to run it.

"Fits" compares what the model needs on one machine (weights + KV cache + one compute buffer,
all from the log) with the free GPU memory the log saw on that machine before the load.
"""

from __future__ import annotations

from dataclasses import dataclass

from homelab_hub.inference.llama_log import DeviceLoad, LlamaLoad
from homelab_hub.inference.report import Finding
from homelab_hub.inference.report_rpc import SplitDevice, SplitMachine, SplitReport
from homelab_hub.inference.rpc import RpcProbe, compatible, parse_version

GB = 1e9
SEED_PAIRS = (
    "the seed measured Qwen2.5-72B Q4_K_M at 11 tok/s on one machine vs 6 tok/s split, "
    "and Qwen2.5-7B at 92 vs 53 tok/s"
)
PREFILL = (
    "Keep a split for prefill-heavy work (long prompts, batch review): there the second machine's compute "
    "helps (the seed's 7B: prefill 76 -> 318 tok/s)."
)


@dataclass(frozen=True)
class RpcHost:
    """A configured rpc-server and what the last look at it found."""

    name: str
    probe: RpcProbe


def _gb(n: float | None) -> float | None:
    return None if n is None else round(n / GB, 2)


def analyse(
    host: str,
    load: LlamaLoad,
    rpc: dict[str, RpcHost],
    *,
    decode_tokens_per_s: float | None,
    client_protocol: str | None,
) -> tuple[SplitReport | None, list[Finding]]:
    """The split (None when the load uses no RPC device) and its findings. ``rpc`` maps a
    configured rpc-server's address to it."""
    findings = _load_findings(host, load, rpc, client_protocol)
    if not load.rpc_endpoints or not load.devices:
        return None, findings
    machines = _machines(host, load, rpc)
    needs = sum(d.model + d.kv for d in load.devices.values()) + max(
        (d.compute for d in load.devices.values()), default=0
    )
    rtts = [rpc[e].probe.round_trip_ms for e in load.rpc_endpoints if e in rpc]
    rtt = max((r for r in rtts if r is not None), default=None)
    layers = load.n_layer
    link_ms = round(layers * rtt, 2) if layers and rtt is not None else None
    report = SplitReport(
        model=load.model_path or "?",
        log=load.source,
        layers_total=layers,
        layers_from=load.layers_from,
        devices=[_device(d, _machine_of(host, d, rpc)) for d in _ordered(load)],
        machines=machines,
        depends_on=[rpc[e].name if e in rpc else e for e in load.rpc_endpoints],
        needs_gb=round(needs / GB, 2),
        round_trip_ms=rtt,
        link_ms_per_token=link_ms,
        decode_tokens_per_s=decode_tokens_per_s,
    )
    finding = _advice(host, report, _file_name(report.model))
    report.advice = finding.message + " " + finding.fix if finding else _cost_text(report)
    if finding is not None:
        findings.append(finding)  # after what is broken (an rpc-server down, a version refused)
    return report, findings


def _ordered(load: LlamaLoad) -> list[DeviceLoad]:
    return sorted(load.devices.values(), key=lambda d: (d.is_cpu, d.endpoint is not None, d.name))


def _machine_of(host: str, device: DeviceLoad, rpc: dict[str, RpcHost]) -> str:
    if device.endpoint is None:
        return host
    return rpc[device.endpoint].name if device.endpoint in rpc else device.endpoint


def _device(d: DeviceLoad, machine: str) -> SplitDevice:
    return SplitDevice(
        device=d.name,
        machine=machine,
        layers=d.layers,
        model_gb=_gb(d.model) or 0.0,
        kv_cache_gb=_gb(d.kv) or 0.0,
        compute_gb=_gb(d.compute) or 0.0,
        free_at_load_gb=_gb(d.free_at_load),
    )


def _machines(host: str, load: LlamaLoad, rpc: dict[str, RpcHost]) -> list[SplitMachine]:
    grouped: dict[str, list[DeviceLoad]] = {}
    for d in _ordered(load):
        grouped.setdefault(_machine_of(host, d, rpc), []).append(d)
    out = []
    for machine, devices in grouped.items():
        gpus = [d for d in devices if not d.is_cpu]
        known = [d.free_at_load for d in gpus if d.free_at_load is not None]
        counted = [d.layers for d in devices if d.layers is not None]
        endpoint = next((d.endpoint for d in devices if d.endpoint), None)
        out.append(
            SplitMachine(
                machine=machine,
                rpc_server=(rpc[endpoint].name if endpoint in rpc else endpoint) if endpoint else None,
                layers=sum(counted) if counted else None,
                total_gb=_gb(sum(d.total for d in devices)) or 0.0,
                capacity_gb=_gb(sum(known)) if known else None,
            )
        )
    return out


def _cost_text(r: SplitReport) -> str:
    if r.link_ms_per_token is None:
        why = "configure the rpc-server ([inference.rpc.NAME] address) to measure the round trip"
        if r.round_trip_ms is None and r.depends_on and all(":" not in d for d in r.depends_on):
            why = "the rpc-server did not answer, so the round trip is unknown"
        return f"The link's cost per token is unknown: {why}."
    text = (
        f"The link costs {r.layers_total} layers x {r.round_trip_ms:.2f} ms = {r.link_ms_per_token:.1f} ms per "
        "generated token (the seed: every token crosses the link once per layer)"
    )
    if r.decode_tokens_per_s:
        per_token = 1000 / r.decode_tokens_per_s
        share = r.link_ms_per_token / per_token
        text += f", {share:.0%} of the {per_token:.1f} ms per token at the measured {r.decode_tokens_per_s:.1f} tok/s"
    else:
        text += (
            "; no measured generation speed yet (start llama-server with --metrics, or run inference_bench)"
        )
    return text + "."


def _file_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _advice(host: str, r: SplitReport, model: str) -> Finding | None:
    sized = [m for m in r.machines if m.capacity_gb is not None]
    if not sized:
        return None
    fits = [m for m in sized if m.capacity_gb is not None and m.capacity_gb >= r.needs_gb]
    where = ", ".join(
        f"{m.machine} ({m.layers if m.layers is not None else '?'} layers, {m.total_gb:.1f} GB)"
        for m in r.machines
    )
    cost = _cost_text(r)
    if fits:
        best = next((m for m in fits if m.machine == host), fits[0])
        faster = ""
        if r.link_ms_per_token is not None and r.decode_tokens_per_s:
            per_token = 1000 / r.decode_tokens_per_s
            if per_token > r.link_ms_per_token:
                faster = f" (without the link's {r.link_ms_per_token:.1f} ms: at least {1000 / (per_token - r.link_ms_per_token):.1f} tok/s)"
        drop = (
            "drop --rpc so"
            if best.machine == host
            else f"copy the model file to {best.machine} and load it there so"
        )
        return Finding(
            kind="split_fits_one_host",
            message=f"{model} is split across {where}, but it needs {r.needs_gb:.1f} GB and {best.machine} had "
            f"{best.capacity_gb:.1f} GB free before the load: it fits on {best.machine} alone. {cost}",
            fix=f"Run it on {best.machine} alone ({drop} every layer stays on one machine): decode will be faster"
            f"{faster}; {SEED_PAIRS}. {PREFILL}",
        )
    largest = max(sized, key=lambda m: m.capacity_gb or 0.0)
    if r.decode_tokens_per_s:
        expect = f"expect the measured {r.decode_tokens_per_s:.1f} tok/s"
    elif r.link_ms_per_token:
        expect = (
            f"expect at most {1000 / r.link_ms_per_token:.0f} tok/s from the link alone, less with compute"
        )
    else:
        expect = "measure it with inference_bench"
    return Finding(
        kind="split_required",
        message=f"{model} needs {r.needs_gb:.1f} GB and the largest machine ({largest.machine}) had "
        f"{largest.capacity_gb:.1f} GB free: the split across {where} is the only way to run it. {cost}",
        fix=f"Keep the split; for decode {expect} (the seed expects ~4-8 tok/s for a 200B+ MoE at Q4 across two "
        "machines). Use it where prefill matters more than decode (long prompts, batch review, code review); "
        "a direct cable without a switch keeps the round trip, and so every token, short.",
    )


def _load_findings(
    host: str, load: LlamaLoad, rpc: dict[str, RpcHost], client_protocol: str | None
) -> list[Finding]:
    out: list[Finding] = []
    if load.load_error and load.is_ollama_blob:
        out.append(
            Finding(
                kind="gguf_ollama_metadata",
                message=f"llama-server {host} could not load {load.model_path}, a file from an Ollama blob "
                f"directory: {load.load_error}",
                fix="Ollama's GGUF files carry metadata upstream llama.cpp cannot read (e.g. rope.dimension_sections "
                "with the wrong array length): download a community GGUF of the same model (e.g. bartowski's on "
                "Hugging Face) for llama-server, and leave the blob to Ollama.",
            )
        )
    client = parse_version(client_protocol) if client_protocol else None
    endpoints = sorted(set(load.rpc_endpoints) | set(load.rpc_failures))
    for endpoint in endpoints:
        known = rpc.get(endpoint)
        name = f"rpc-server {known.name} ({endpoint})" if known else f"rpc-server {endpoint}"
        server = known.probe.version if known else None
        refused = [v for v in load.rpc_mismatch]
        if server is None and refused:
            server = parse_version(refused[-1])
        if server is not None and ((client and not compatible(client, server)) or refused):
            out.append(_mismatch(host, name, client_protocol, server))
        elif known and known.probe.state in ("down", "timeout", "bad_response"):
            out.append(_down(host, name, known.probe))
    return out


def _mismatch(host: str, name: str, client: str | None, server: tuple[int, int, int]) -> Finding:
    theirs = ".".join(map(str, server))
    older = f", or {server[0]}.{server[1] - 1} or older" if server[1] > 0 else ""
    ours = (
        f"RPC protocol {client}"
        if client
        else f"an RPC protocol that refuses {theirs} (a major other than {server[0]}{older}; "
        "[inference.llama_cpp.NAME] rpc_protocol names it)"
    )
    return Finding(
        kind="rpc_version_mismatch",
        message=f"llama-server {host} speaks {ours}; {name} speaks {theirs}: a client refuses a server whose "
        "major differs or whose minor is above its own ('RPC server version mismatch').",
        fix="Build rpc-server and llama-server from the same llama.cpp commit (GGML_RPC=ON on both, with each "
        "machine's GPU backend) and restart both.",
    )


def _down(host: str, name: str, probe: RpcProbe) -> Finding:
    return Finding(
        kind="rpc_server_down",
        message=f"{name}, which llama-server {host}'s model depends on, is {probe.state}: {probe.error}",
        fix=f"llama-server {host} aborts on its next request that reaches the remote layers ('Remote RPC server "
        "crashed or returned malformed response') and cannot load the model again while the rpc-server is "
        "away; started without --rpc it falls back to its local devices (fewer layers on the GPU, if the "
        "model fits at all). Start rpc-server again on that machine (rpc-server -H ADDR -p PORT).",
    )


def rpc_down_detail(address: str, probe: RpcProbe) -> str:
    """The watchdog's words for a dead rpc-server."""
    return (
        f"rpc-server {address} is {probe.state}: {probe.error}; a llama-server using it (--rpc {address}) "
        "will fail on its next request or load, or fall back to its local devices if restarted without --rpc"
    )
