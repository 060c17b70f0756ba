"""Every split, RPC and model-file finding: its text and its numbers, from the stand-in logs."""

from __future__ import annotations

import pytest

from homelab_hub.inference.llama_log import parse_llama_log
from homelab_hub.inference.rpc import RpcDevice, RpcProbe
from homelab_hub.inference.split import RpcHost, analyse
from tests.fakes import llama_server as fake

EP = "192.168.100.2:50052"
SEED_PAIRS = (
    "the seed measured Qwen2.5-72B Q4_K_M at 11 tok/s on one machine vs 6 tok/s split, and Qwen2.5-7B at 92 "
    "vs 53 tok/s. Keep a split for prefill-heavy work (long prompts, batch review): there the second "
    "machine's compute helps (the seed's 7B: prefill 76 -> 318 tok/s)."
)
REQUIRED_FIX = (
    "(the seed expects ~4-8 tok/s for a 200B+ MoE at Q4 across two machines). Use it where prefill matters more "
    "than decode (long prompts, batch review, code review); a direct cable without a switch keeps the round "
    "trip, and so every token, short."
)
SEED_RULE = "(the seed: every token crosses the link once per layer)"


def _dgx(**changes) -> dict[str, RpcHost]:
    """The seed's DGX behind a 10 GbE cable: 0.2 ms per round trip."""
    fields = {
        "address": EP,
        "state": "ok",
        "version": (3, 0, 0),
        "devices": [RpcDevice(0, 115_000 * 2**20, 122_572 * 2**20)],
        "connect_ms": 0.15,
        "command_ms": 0.2,
    } | changes
    return {EP: RpcHost("dgx", RpcProbe(**fields))}


def _findings(lines, rpc, tok_s=None, protocol=None):
    report, findings = analyse(
        "studio",
        parse_llama_log(lines, "file llama.log"),
        rpc,
        decode_tokens_per_s=tok_s,
        client_protocol=protocol,
    )
    return report, [(f.kind, f.message, f.fix) for f in findings]


CASES = {
    "72b_fits_the_studio": (
        fake.split_72b(EP).lines(),
        _dgx(),
        6.0,
        None,
        [
            (
                "split_fits_one_host",
                "Qwen2.5-72B-Instruct-Q4_K_M.gguf is split across studio (55 layers, 31.8 GB), dgx (25 layers, "
                "14.4 GB), but it needs 45.8 GB and studio had 103.1 GB free before the load: it fits on studio "
                f"alone. The link costs 80 layers x 0.20 ms = 16.0 ms per generated token {SEED_RULE}, 10% of the "
                "166.7 ms per token at the measured 6.0 tok/s.",
                "Run it on studio alone (drop --rpc so every layer stays on one machine): decode will be faster "
                f"(without the link's 16.0 ms: at least 6.6 tok/s); {SEED_PAIRS}",
            )
        ],
    ),
    "7b_fits_the_studio": (
        fake.split_7b(EP).lines(),
        _dgx(),
        53.0,
        None,
        [
            (
                "split_fits_one_host",
                "Qwen2.5-7B-Instruct-Q4_K_M.gguf is split across studio (20 layers, 3.9 GB), dgx (8 layers, 1.7 "
                "GB), but it needs 5.2 GB and studio had 103.1 GB free before the load: it fits on studio alone. "
                f"The link costs 28 layers x 0.20 ms = 5.6 ms per generated token {SEED_RULE}, 30% of the 18.9 ms "
                "per token at the measured 53.0 tok/s.",
                "Run it on studio alone (drop --rpc so every layer stays on one machine): decode will be faster "
                f"(without the link's 5.6 ms: at least 75.4 tok/s); {SEED_PAIRS}",
            )
        ],
    ),
    "235b_needs_both": (
        fake.split_235b(EP).lines(),
        _dgx(),
        5.0,
        None,
        [
            (
                "split_required",
                "Qwen3-235B-A22B-Q4_K_M-00001-of-00003.gguf needs 133.1 GB and the largest machine (dgx) had "
                "120.6 GB free: the split across studio (53 layers, 75.1 GB), dgx (41 layers, 58.5 GB) is the "
                f"only way to run it. The link costs 94 layers x 0.20 ms = 18.8 ms per generated token {SEED_RULE}, "
                "9% of the 200.0 ms per token at the measured 5.0 tok/s.",
                f"Keep the split; for decode expect the measured 5.0 tok/s {REQUIRED_FIX}",
            )
        ],
    ),
    "235b_before_any_measured_speed": (
        fake.split_235b(EP).lines(),
        _dgx(),
        None,
        None,
        [
            (
                "split_required",
                "Qwen3-235B-A22B-Q4_K_M-00001-of-00003.gguf needs 133.1 GB and the largest machine (dgx) had "
                "120.6 GB free: the split across studio (53 layers, 75.1 GB), dgx (41 layers, 58.5 GB) is the "
                f"only way to run it. The link costs 94 layers x 0.20 ms = 18.8 ms per generated token {SEED_RULE}; "
                "no measured generation speed yet (start llama-server with --metrics, or run inference_bench).",
                f"Keep the split; for decode expect at most 53 tok/s from the link alone, less with compute {REQUIRED_FIX}",
            )
        ],
    ),
    "ollama_blob": (
        fake.ollama_blob_failure(),
        {},
        None,
        None,
        [
            (
                "gguf_ollama_metadata",
                f"llama-server studio could not load {fake.OLLAMA_BLOB}, a file from an Ollama blob directory: "
                "error loading model hyperparameters: key qwen25vl.rope.dimension_sections has wrong array length; "
                "expected 4, got 3",
                "Ollama's GGUF files carry metadata upstream llama.cpp cannot read (e.g. rope.dimension_sections "
                "with the wrong array length): download a community GGUF of the same model (e.g. bartowski's on "
                "Hugging Face) for llama-server, and leave the blob to Ollama.",
            )
        ],
    ),
    "mismatch_in_the_log": (
        fake.version_mismatch(EP, "2.0.0"),
        _dgx(version=(2, 0, 0)),
        None,
        None,
        [
            (
                "rpc_version_mismatch",
                "llama-server studio speaks an RPC protocol that refuses 2.0.0 (a major other than 2; "
                "[inference.llama_cpp.NAME] rpc_protocol names it); rpc-server dgx (192.168.100.2:50052) speaks "
                "2.0.0: a client refuses a server whose major differs or whose minor is above its own ('RPC server "
                "version mismatch').",
                "Build rpc-server and llama-server from the same llama.cpp commit (GGML_RPC=ON on both, with each "
                "machine's GPU backend) and restart both.",
            )
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_finding_says_what_and_why_with_the_arithmetic(case):
    lines, rpc, tok_s, protocol, expected = CASES[case]
    _, findings = _findings(lines, rpc, tok_s, protocol)
    assert findings == expected


def test_a_configured_protocol_names_both_versions_of_a_mismatch():
    _, findings = _findings(fake.split_72b(EP).lines(), _dgx(version=(3, 1, 0)), 6.0, "3.0.0")
    assert [k for k, _, _ in findings] == ["rpc_version_mismatch", "split_fits_one_host"]
    assert findings[0][1].startswith(
        "llama-server studio speaks RPC protocol 3.0.0; rpc-server dgx (192.168.100.2:50052) speaks 3.1.0:"
    )


def test_a_dead_rpc_server_says_the_llama_server_will_fail_or_fall_back():
    dead = _dgx(
        state="down",
        version=None,
        devices=[],
        connect_ms=None,
        command_ms=None,
        error="TCP connect failed: Connection refused",
    )
    report, findings = _findings(fake.split_72b(EP).lines(), dead, 6.0)
    assert [k for k, _, _ in findings] == ["rpc_server_down", "split_fits_one_host"]
    kind, message, fix = findings[0]
    assert message == (
        "rpc-server dgx (192.168.100.2:50052), which llama-server studio's model depends on, is down: "
        "TCP connect failed: Connection refused"
    )
    assert fix.startswith("llama-server studio aborts on its next request that reaches the remote layers")
    assert "falls back to its local devices" in fix
    assert report is not None and report.link_ms_per_token is None
    assert "the rpc-server did not answer, so the round trip is unknown" in findings[1][1]


def test_the_split_lists_machines_layers_and_gigabytes():
    report, _ = _findings(fake.split_72b(EP).lines(), _dgx(), 6.0)
    assert report is not None
    assert [(m.machine, m.rpc_server, m.layers, m.total_gb, m.capacity_gb) for m in report.machines] == [
        ("studio", None, 55, 31.79, 103.08),
        ("dgx", "dgx", 25, 14.39, 120.59),
    ]
    assert report.depends_on == ["dgx"]
    assert (report.needs_gb, report.round_trip_ms, report.link_ms_per_token) == (45.84, 0.2, 16.0)


def test_an_unconfigured_rpc_endpoint_is_shown_by_address_and_asks_for_a_config():
    report, _ = _findings(fake.split_72b(EP).lines(), {}, 6.0)
    assert report is not None
    assert report.depends_on == [EP]
    assert [m.machine for m in report.machines] == ["studio", EP]
    assert (
        "configure the rpc-server ([inference.rpc.NAME] address) to measure the round trip" in report.advice
    )


def test_a_load_on_one_machine_is_no_split():
    lines = [line for line in fake.split_72b(EP).lines() if "RPC0" not in line]
    report, findings = _findings(lines, _dgx(), 11.0)
    assert (report, findings) == (None, [])
