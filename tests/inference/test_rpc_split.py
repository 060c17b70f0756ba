"""A model split across machines, seen from one ollama_ps call and the CLI: the llama-server's
log (devices, layers, buffers), the rpc-server's own handshake, the link's cost and the advice."""

from __future__ import annotations

from pathlib import Path

import pytest

from homelab_hub.config import load_config
from homelab_hub.errors import InvalidInput
from homelab_hub.server.cli import main
from homelab_hub.server.lifecycle import build_services, close_services
from homelab_hub.tools.inference import OllamaPsInput, ollama_ps
from homelab_hub.tools.registry import Identity, ToolContext
from tests.fakes import llama_server as fake
from tests.inference.support import hub_overrides, inference_config
from tests.support import free_port


@pytest.fixture
def split_72b(tmp_path: Path, llama_server, rpc_server):
    """The seed's setup: Qwen2.5-72B on the Mac Studio's llama-server, 25 layers on the DGX."""
    load = fake.split_72b(rpc_server.address)
    llama_server.reset(model_path=load.model_path, speeds=(30.0, 6.0))  # the seed's RPC row
    log = tmp_path / "llama-server.log"
    log.write_text("\n".join(load.lines()) + "\n", encoding="utf-8")
    section = inference_config(
        llama_cpp={"studio": {"url": llama_server.url, "log_file": str(log)}},
        rpc={"dgx": {"address": rpc_server.address}},
    )
    return section, log


def test_one_call_shows_where_each_layer_lives_what_the_link_costs_and_whether_to_split(
    split_72b, make_engine
):
    section, _ = split_72b
    snap = make_engine(llama_cpp=section["llama_cpp"], rpc=section["rpc"]).snapshot()
    (studio,) = snap.llama_cpp
    split = studio.split
    assert split is not None
    assert [(d.machine, d.device.split("[")[0], d.layers) for d in split.devices] == [
        ("studio", "Metal", 55),
        ("dgx", "RPC0", 25),
        ("studio", "CPU", None),
    ]
    assert [(m.machine, m.total_gb) for m in split.machines] == [("studio", 31.79), ("dgx", 14.39)]
    assert split.depends_on == ["dgx"]
    assert split.decode_tokens_per_s == 6.0
    assert split.round_trip_ms is not None and split.link_ms_per_token == round(80 * split.round_trip_ms, 2)
    assert [f.kind for f in studio.findings] == ["split_fits_one_host"]
    assert "it fits on studio alone" in studio.findings[0].message
    (dgx,) = snap.rpc
    assert (dgx.host, dgx.state, dgx.protocol, dgx.used_by, dgx.round_trip_from) == (
        "dgx",
        "ok",
        "3.0.0",
        ["studio"],
        "command",
    )
    assert [(d.index, d.free_gb, d.total_gb) for d in dgx.devices] == [(0, 120.59, 128.53)]
    assert snap.summary == "1 llama-server(s), 1 finding(s); 1 rpc-server(s)"


def test_ollama_ps_answers_the_split_through_services(tmp_path, split_72b):
    section, _ = split_72b
    config = load_config(None, storage={"url": f"sqlite:///{tmp_path}/hub.db"}, **hub_overrides(section))
    services = build_services(config, start_workers=False)
    try:
        out = ollama_ps(ToolContext(services, Identity("agent-a")), OllamaPsInput(host="studio"))
    finally:
        close_services(services)
    assert out.llama_cpp[0].split is not None
    assert out.llama_cpp[0].split.machines[1].rpc_server == "dgx"
    assert [r.host for r in out.rpc] == ["dgx"]  # the rpc-server studio depends on


def test_the_cli_prints_the_split_per_machine_and_the_advice(tmp_path, capsys, split_72b, rpc_server):
    section, log = split_72b
    config = tmp_path / "hub.toml"
    config.write_text(
        f'[inference]\ntimeout_s = 2\n[inference.llama_cpp.studio]\nurl = "{section["llama_cpp"]["studio"]["url"]}"\n'
        f'log_file = "{log}"\n[inference.rpc.dgx]\naddress = "{rpc_server.address}"\n',
        encoding="utf-8",
    )
    assert main(["inference", "ps", "--config", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = lines.index(
        "  split of /Users/lab/models/Qwen2.5-72B-Instruct-Q4_K_M.gguf (80 layers; derived from the KV buffer "
        "sizes (each layer's share is the same)):"
    )
    assert lines[start + 1].split() == [
        "MACHINE",
        "DEVICE",
        "LAYERS",
        "MODEL",
        "KV",
        "COMPUTE",
        "FREE",
        "AT",
        "LOAD",
    ]
    assert lines[start + 2].split() == [
        "studio",
        "Metal",
        "55",
        "30.0",
        "GB",
        "0.9",
        "GB",
        "0.3",
        "GB",
        "103.1",
        "GB",
    ]
    assert lines[start + 3].split() == [
        "dgx",
        f"RPC0[{rpc_server.address}]",
        "25",
        "13.6",
        "GB",
        "0.4",
        "GB",
        "0.3",
        "GB",
        "120.6",
        "GB",
    ]
    assert "    studio: 55 layers, 31.8 GB of 103.1 GB free" in lines
    assert "    dgx via rpc-server dgx: 25 layers, 14.4 GB of 120.6 GB free" in lines
    assert any(
        line.startswith("    needs 45.8 GB on one machine; depends on dgx; round trip ") for line in lines
    )
    assert any(
        line.startswith("  ! split_fits_one_host: Qwen2.5-72B-Instruct-Q4_K_M.gguf is split")
        for line in lines
    )
    assert any(line.startswith("    fix: Run it on studio alone (drop --rpc") for line in lines)
    rpc_row = next(line for line in lines if line.startswith("dgx "))
    assert rpc_row.split()[:4] == ["dgx", rpc_server.address, "ok", "3.0.0"]
    assert lines[-1] == "1 llama-server(s), 1 finding(s); 1 rpc-server(s)"


def test_an_rpc_server_serving_its_llama_server_is_up_and_measured_by_tcp(split_72b, make_engine, rpc_server):
    section, _ = split_72b
    rpc_server.hold()
    engine = make_engine(llama_cpp=section["llama_cpp"], rpc=section["rpc"])
    results = engine.probe()
    _, snap = engine.last_snapshot
    assert results["dgx"][0] is True
    assert "busy serving a client" in results["dgx"][1]
    assert (snap.rpc[0].state, snap.rpc[0].round_trip_from) == ("busy", "tcp connect")
    assert snap.llama_cpp[0].split.link_ms_per_token is not None
    assert [f.kind for f in snap.llama_cpp[0].findings] == ["split_fits_one_host"]


def test_a_dead_rpc_server_under_a_live_llama_server_is_a_finding_and_a_down_host(
    split_72b, make_engine, rpc_server
):
    section, _ = split_72b
    rpc_server.stop()
    engine = make_engine(llama_cpp=section["llama_cpp"], rpc=section["rpc"])
    results = engine.probe()
    _, snap = engine.last_snapshot
    assert results["studio"][0] is True
    assert results["dgx"][0] is False and "TCP connect failed" in results["dgx"][1]
    assert [f.kind for f in snap.llama_cpp[0].findings] == ["rpc_server_down", "split_fits_one_host"]
    assert "1 rpc-server(s) (dgx down)" in snap.summary


def test_a_llama_server_that_died_on_an_ollama_blob_says_why(tmp_path, make_engine):
    log = tmp_path / "llama-server.log"
    log.write_text("\n".join(fake.ollama_blob_failure()) + "\n", encoding="utf-8")
    dead = {"url": f"http://127.0.0.1:{free_port()}", "log_file": str(log)}
    (studio,) = make_engine(llama_cpp={"studio": dead}).snapshot().llama_cpp
    assert studio.state == "down"
    assert [f.kind for f in studio.findings] == ["gguf_ollama_metadata"]
    assert studio.log == f"file {log}"


def test_bench_names_the_machines_a_split_model_ran_on(split_72b, make_engine, rpc_server):
    section, _ = split_72b
    engine = make_engine(llama_cpp=section["llama_cpp"], rpc=section["rpc"])
    result = engine.bench("studio", None, prompt_tokens=64, max_tokens=8)
    # In llama.cpp's device order: RPC devices first (the first layers go there).
    assert result.devices == f"RPC0[{rpc_server.address}] (dgx) + Metal (studio)"
    assert (result.prompt_tokens_per_s, result.generation_tokens_per_s) == (30.0, 6.0)
    with pytest.raises(InvalidInput, match="'dgx' is an rpc-server: it has no API to generate with"):
        engine.bench("dgx", None)
