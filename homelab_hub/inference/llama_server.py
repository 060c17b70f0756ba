"""A llama.cpp ``llama-server`` host: /health, /props, /slots, /metrics and /completion.

/slots and /metrics are optional on the server (``--no-slots``, ``--metrics``); when off they
answer 501, which the report shows as a note rather than a failure.
"""

from __future__ import annotations

from typing import Any

from homelab_hub.errors import HubError
from homelab_hub.inference.config import LlamaServerHostConfig
from homelab_hub.inference.http import HostBadResponse, HostClient, expect_dict
from homelab_hub.inference.report import Finding, LlamaServerMetrics, LlamaServerReport

_METRICS = {
    "llamacpp:prompt_tokens_seconds": "prompt_tokens_per_s",
    "llamacpp:predicted_tokens_seconds": "generation_tokens_per_s",
    "llamacpp:prompt_tokens_total": "prompt_tokens_total",
    "llamacpp:tokens_predicted_total": "generated_tokens_total",
    "llamacpp:kv_cache_usage_ratio": "kv_cache_usage_ratio",
    "llamacpp:requests_processing": "requests_processing",
    "llamacpp:requests_deferred": "requests_deferred",
}


def parse_metrics(text: str) -> LlamaServerMetrics:
    """Prometheus text exposition → the figures we show. Unknown lines are ignored."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        name = parts[0].split("{", 1)[0]
        if name in _METRICS and len(parts) >= 2:
            try:
                values[_METRICS[name]] = round(float(parts[1]), 3)
            except ValueError:
                continue
    return LlamaServerMetrics(**values)


class LlamaServerHost:
    """One configured llama-server. Blocking; call from worker threads."""

    def __init__(self, name: str, config: LlamaServerHostConfig, *, timeout: float) -> None:
        self.name = name
        self.client = HostClient(name, config.url, timeout)

    @property
    def url(self) -> str:
        return self.client.url

    def health(self) -> str:
        """'ok' or 'loading'. Raises HostTimeout, HostDown or HostBadResponse."""
        try:
            data = self.client.request("GET", "/health")
        except HostBadResponse as exc:
            # 503 {"error": {"message": "Loading model"}} while the model loads.
            if "503" in exc.message and "loading" in exc.message.lower():
                return "loading"
            raise
        status = expect_dict(data, f"{self.name} /health", "status")["status"]
        return "loading" if status == "loading" else "ok"

    def props(self) -> dict[str, Any]:
        return expect_dict(self.client.request("GET", "/props"), f"{self.name} /props")

    def completion(self, prompt: str, max_tokens: int, timeout: float) -> dict[str, Any]:
        body = {"prompt": prompt, "n_predict": max_tokens, "cache_prompt": False, "temperature": 0}
        data = self.client.request("POST", "/completion", body=body, timeout=timeout)
        return expect_dict(data, f"{self.name} /completion", "timings")

    def report(self) -> LlamaServerReport:
        """Health, context, slots and metrics. Raises HostTimeout, HostDown or HostBadResponse
        when /health or /props cannot be read."""
        state = self.health()
        out = LlamaServerReport(host=self.name, url=self.url, state="loading" if state == "loading" else "ok")
        if state == "loading":
            out.notes.append("model still loading; context and slots appear once it is ready")
            return out
        props = self.props()
        settings = props.get("default_generation_settings")
        settings = settings if isinstance(settings, dict) else {}
        out.model = (
            _str(props.get("model_alias")) or _str(props.get("model_path")) or _str(settings.get("model"))
        )
        out.ctx_per_slot = _pos_int(settings.get("n_ctx"))
        out.total_slots = _pos_int(props.get("total_slots"))
        self._read_slots(out)
        if out.ctx_per_slot and out.total_slots:
            out.context_total = out.ctx_per_slot * out.total_slots
        self._read_metrics(out)
        return out

    def _read_slots(self, out: LlamaServerReport) -> None:
        try:
            slots = self.client.request("GET", "/slots")
        except HubError as exc:
            out.notes.append(_off("/slots", exc, "it is on unless llama-server runs with --no-slots"))
            return
        if not isinstance(slots, list) or not all(isinstance(s, dict) for s in slots):
            out.notes.append("/slots answered something other than a list of slots")
            return
        out.slots_busy = sum(1 for s in slots if s.get("is_processing") or _pos_int(s.get("state")))
        out.total_slots = out.total_slots or len(slots)
        if out.ctx_per_slot is None and slots:
            out.ctx_per_slot = _pos_int(slots[0].get("n_ctx"))

    def _read_metrics(self, out: LlamaServerReport) -> None:
        try:
            text = self.client.request("GET", "/metrics", raw=True)
        except HubError as exc:
            out.notes.append(_off("/metrics", exc, "start llama-server with --metrics"))
            return
        out.metrics = parse_metrics(str(text))
        deferred = out.metrics.requests_deferred or 0
        if deferred > 0:
            out.findings.append(
                Finding(
                    kind="requests_deferred",
                    message=f"{deferred:.0f} request(s) wait for a free slot; all {out.total_slots or '?'} slots are busy.",
                    fix="Raise --parallel (each slot gets -c / parallel tokens, so raise -c with it) or spread load.",
                )
            )
        usage = out.metrics.kv_cache_usage_ratio or 0
        if usage >= 0.95:
            out.findings.append(
                Finding(
                    kind="kv_cache_full",
                    message=f"KV cache is {usage:.0%} used; long prompts will be truncated or rejected.",
                    fix="Raise -c (context) if memory allows, or lower --parallel so each slot gets more.",
                )
            )


def _off(endpoint: str, exc: HubError, how: str) -> str:
    if "501" in exc.message:
        return f"{endpoint} is off (HTTP 501): {how}"
    return f"{endpoint} failed: {exc.message}"


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _pos_int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
