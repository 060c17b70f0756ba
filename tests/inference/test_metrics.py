"""The hub as the Prometheus exporter Ollama does not have: every documented
``homelab_hub_inference_*`` series on a live hub's /metrics, with sane values, from the probe."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from homelab_hub.inference.prometheus import SERIES
from tests.fakes.llama_server import split_72b
from tests.inference.support import hub_overrides, inference_config
from tests.support import wait_until

README = Path(__file__).resolve().parents[2] / "README.md"


def _documented() -> list[str]:
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- inference-metrics:begin -->")[1].split("<!-- inference-metrics:end -->")[0]
    return re.findall(r"^\| `(homelab_hub_inference_\w+)` \|", block, re.MULTILINE)


@pytest.fixture
def scraped(hub_factory, ollama, llama_server, garbage, rpc_server, tmp_path):
    ollama.load("qwen2.5vl:7b", context=131_072, keep_alive_s=None, size=70_800_000_000)
    llama_server.reset(ctx_size=4096, slot_tokens=[1200], deferred=2)
    log = tmp_path / "llama-server.log"  # the seed's 72B split over the stand-in rpc-server
    log.write_text("\n".join(split_72b(rpc_server.address).lines()) + "\n", encoding="utf-8")
    inference = inference_config(
        {"spark": {"url": ollama.url, "log_file": ollama.log_path}, "closet": garbage},
        {"studio": {"url": llama_server.url, "log_file": str(log)}},
        rpc={"dgx": {"address": rpc_server.address}},
        probe_interval_s=5,
    )
    hub = hub_factory(hub_overrides(inference))
    wait_until(lambda: hub.services.inference.last_snapshot, 15, "the first probe round")
    asked = len(ollama.requests) + len(llama_server.requests)
    reply = hub.get("/metrics")
    assert reply.status_code == 200
    samples: dict[str, list] = {}
    for family in text_string_to_metric_families(reply.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples, asked, ollama, llama_server


def test_the_readme_documents_exactly_the_series_the_hub_exports():
    assert _documented() == list(SERIES)


def test_every_documented_series_is_scraped_with_sane_values(scraped):
    samples, _, _, _ = scraped
    missing = [name for name in _documented() if name not in samples]
    assert missing == []
    for name in _documented():
        for sample in samples[name]:
            assert math.isfinite(sample.value), name
            assert sample.value >= 0, name
            if name.endswith("_ratio"):
                assert sample.value <= 1, name
    [stamp] = samples["homelab_hub_inference_probe_timestamp_seconds"]
    assert time.time() - 60 < stamp.value <= time.time()


def test_the_gauges_carry_the_seeds_numbers_and_the_hosts_states(scraped):
    samples, _, _, _ = scraped

    def value(name, **labels):
        return next(s.value for s in samples[name] if all(s.labels.get(k) == v for k, v in labels.items()))

    up = {(s.labels["host"], s.labels["kind"]): s.value for s in samples["homelab_hub_inference_host_up"]}
    assert up == {
        ("spark", "ollama"): 1.0,
        ("closet", "ollama"): 0.0,
        ("studio", "llama_cpp"): 1.0,
        ("dgx", "rpc"): 1.0,
    }
    seed = {"host": "spark", "model": "qwen2.5vl:7b"}
    assert value("homelab_hub_inference_model_size_bytes", **seed) == pytest.approx(70.8e9)
    assert value("homelab_hub_inference_model_context_tokens", **seed) == 131_072
    assert value("homelab_hub_inference_model_kv_cache_measured_bytes", **seed) == pytest.approx(7.52e9)
    assert value("homelab_hub_inference_model_kv_cache_estimated_bytes", **seed) == pytest.approx(7.52e9)
    assert value("homelab_hub_inference_model_cpu_ratio", **seed) == 0.0
    assert value("homelab_hub_inference_model_expires_in_seconds", **seed) > 9e9  # keep_alive -1
    assert value("homelab_hub_inference_model_findings", kind="context_oversized", **seed) == 1
    studio = {"host": "studio"}
    assert value("homelab_hub_inference_llama_slots", **studio) == 4
    assert value("homelab_hub_inference_llama_context_tokens", **studio) == 4096  # the unified pool, not 4 x
    assert value("homelab_hub_inference_llama_kv_fill_ratio", **studio) == pytest.approx(
        1200 / 4096, abs=1e-4
    )
    assert value("homelab_hub_inference_llama_requests_deferred", **studio) == 2
    metal = {"host": "studio", "device": "Metal", "machine": "studio"}
    assert value("homelab_hub_inference_llama_device_layers", **metal) == 55
    assert value("homelab_hub_inference_llama_device_memory_bytes", buffer="model", **metal) == pytest.approx(
        30.0e9
    )
    rpc0 = next(
        s for s in samples["homelab_hub_inference_llama_device_layers"] if s.labels["machine"] == "dgx"
    )
    assert rpc0.value == 25
    assert value(
        "homelab_hub_inference_rpc_device_memory_total_bytes", host="dgx", device="0"
    ) == pytest.approx(128.53e9)
    assert value("homelab_hub_inference_rpc_round_trip_seconds", host="dgx") > 0


def test_a_scrape_reads_the_probes_results_and_never_asks_a_host(scraped):
    _, asked, ollama, llama_server = scraped
    assert len(ollama.requests) + len(llama_server.requests) == asked
