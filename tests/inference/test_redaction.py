"""Host URLs with ``user:password@`` and secret query parameters work, and the secrets never
leave the hub: not in ollama_ps, the health endpoint, /metrics, error texts or the hub log."""

from __future__ import annotations

import logging

from tests.inference.support import hub_overrides, inference_config
from tests.support import free_port, wait_until

SECRETS = ("S3cretPw", "T0ken")


def test_credentials_in_host_urls_never_show_in_answers_health_metrics_or_the_log(
    hub_factory, ollama, llama_server, caplog
):
    caplog.set_level(logging.DEBUG)
    ollama.load("qwen2.5vl:7b", context=131_072)
    spark = f"http://user:S3cretPw@127.0.0.1:{ollama.port}?token=T0ken"
    dead_port = free_port()
    attic = f"http://admin:S3cretPw@127.0.0.1:{dead_port}?api_key=T0ken"  # nothing listens: errors name it
    studio = f"http://user:S3cretPw@127.0.0.1:{llama_server.port}/?token=T0ken"
    inference = inference_config({"spark": spark, "attic": attic}, {"studio": studio}, probe_interval_s=5)
    hub = hub_factory(hub_overrides(inference))
    wait_until(lambda: hub.services.inference.last_snapshot, 15, "the first probe round")

    ps = hub.rest("ollama_ps", {})
    bench = hub.rest("inference_bench", {"host": "attic", "model": "qwen2.5vl:7b"})
    texts = {
        "ollama_ps": ps.text,
        "bench error": bench.text,
        "health": hub.get("/api/health").text,
        "metrics": hub.get("/metrics").text,
        "log": "\n".join(r.getMessage() for r in caplog.records),
    }
    leaks = [(where, secret) for where, text in texts.items() for secret in SECRETS if secret in text]
    assert leaks == []
    # The shape stays readable, and the hosts were really reached with the credentials.
    assert f'"url":"http://user:***@127.0.0.1:{ollama.port}?token=***"' in ps.text.replace(" ", "")
    assert bench.status_code == 503
    assert bench.json()["error"]["message"] == (
        f"attic (http://admin:***@127.0.0.1:{dead_port}/api/ps?api_key=***) is unreachable: "
        "ConnectError: [Errno 111] Connection refused"
    )
    asked = [r for r in ollama.requests if r.path == "/api/ps"]
    assert asked[-1].query["token"] == ["T0ken"]
    assert asked[-1].headers["Authorization"].startswith("Basic ")
    assert any("inference host attic down" in r.getMessage() for r in caplog.records)
