"""Reading a llama-server's log: devices (RPC ones too), buffers and layers per device."""

from __future__ import annotations

import pytest

from homelab_hub.inference.llama_log import canonical_device, parse_llama_log
from tests.fakes import llama_server as fake

EP = "192.168.100.2:50052"
RPC = f"RPC0[{EP}]"


def test_the_seeds_72b_split_is_read_per_device():
    load = parse_llama_log(fake.split_72b(EP).lines(), "file llama.log")
    assert load.build == "b7079"
    assert load.model_path == "/Users/lab/models/Qwen2.5-72B-Instruct-Q4_K_M.gguf"
    assert (load.n_layer, load.offloaded) == (80, (81, 81))
    assert load.rpc_endpoints == [EP]
    rows = {
        name: (d.endpoint, d.layers, d.model // 2**20, d.kv // 2**20, d.compute // 2**20, d.free_at_load)
        for name, d in load.devices.items()
    }
    assert rows == {
        RPC: (EP, 25, 13_000, 400, 328, 115_000 * 2**20),
        "Metal": (None, 55, 28_610, 880, 304, 98_304 * 2**20),
        "CPU": (None, None, 500, 0, 24, None),
    }
    assert load.layers_from == "derived from the KV buffer sizes (each layer's share is the same)"


def test_per_layer_debug_lines_win_over_the_buffer_arithmetic():
    load = parse_llama_log(fake.split_235b(EP).lines(), "file llama.log")
    assert {n: d.layers for n, d in load.devices.items() if d.layers} == {RPC: 41, "Metal": 53}
    assert load.layers_from == "the log's per-layer lines"


def test_only_the_newest_start_counts_and_timestamps_do_not_hide_lines():
    old = fake.split_7b(EP).lines()
    new = [f"0.01.043.{i:03d} I {line}" for i, line in enumerate(fake.split_72b(EP).lines())]
    load = parse_llama_log([*old, *new], "docker logs llama")
    assert load.n_layer == 80
    assert load.devices["Metal"].layers == 55


def test_an_ollama_blob_that_fails_to_load_is_recognised():
    load = parse_llama_log(fake.ollama_blob_failure(), "journalctl -u llama-server")
    assert load.is_ollama_blob
    assert load.load_error == (
        "error loading model hyperparameters: key qwen25vl.rope.dimension_sections has wrong array length; "
        "expected 4, got 3"
    )


def test_a_refused_rpc_server_is_read_with_its_version():
    load = parse_llama_log(fake.version_mismatch(EP, "2.0.0"), "file llama.log")
    assert (load.rpc_mismatch, load.rpc_failures) == (["2.0.0"], [EP])


@pytest.mark.parametrize(
    ("raw", "description", "expected"),
    [
        ("RPC0", EP, (RPC, EP)),  # protocol 3.x: RPC<n> with the endpoint as description
        (RPC, "", (RPC, EP)),  # its buffer type
        (f"RPC[{EP}]", f"RPC[{EP}]", (f"RPC[{EP}]", EP)),  # before 3.0
        ("Metal_Mapped", "", ("Metal", None)),
        ("CUDA0", "NVIDIA GB10", ("CUDA0", None)),
        ("CPU_REPACK", "", ("CPU", None)),
        ("CUDA_Host", "", ("CPU", None)),
    ],
)
def test_device_names_old_and_new_map_to_one_device(raw, description, expected):
    assert canonical_device(raw, description) == expected


def test_devices_of_two_rpc_servers_pair_with_their_per_server_buffers():
    a, b = "10.0.0.2:50052", "10.0.0.3:50052"
    lines = [
        f"llama_model_load_from_file_impl: using device RPC0 ({a}) (unknown id) - 20000 MiB free",
        f"llama_model_load_from_file_impl: using device RPC1 ({a}) (unknown id) - 21000 MiB free",
        f"llama_model_load_from_file_impl: using device RPC2 ({b}) (unknown id) - 22000 MiB free",
        "print_info: n_layer          = 30",
        "load_tensors: layer   0 assigned to device RPC2, is_swa = 0",
        f"load_tensors: RPC0[{a}] model buffer size = 1000.00 MiB",
        f"load_tensors: RPC1[{a}] model buffer size = 1100.00 MiB",
        f"load_tensors: RPC0[{b}] model buffer size = 1200.00 MiB",
    ]
    load = parse_llama_log(lines, "file llama.log")
    rows = {n: (d.free_at_load // 2**20, d.model // 2**20, d.layers) for n, d in load.devices.items()}
    assert rows == {
        f"RPC0[{a}]": (20000, 1000, None),
        f"RPC1[{a}]": (21000, 1100, None),
        f"RPC0[{b}]": (22000, 1200, 1),
    }
