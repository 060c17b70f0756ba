"""A llama.cpp ``llama-server`` host: /health, /props, /slots, /metrics, /models, /completion.

Today's server, as its tools/server README and code describe it:

* /slots (on unless ``--no-slots``) and /metrics (off unless ``--metrics``) answer 501 when off,
  which the report shows as a note rather than a failure.
* ``llamacpp:kv_cache_usage_ratio`` and ``llamacpp:kv_cache_tokens`` are gone from /metrics
  (removed with llama.cpp's KV-cache rework in 2025); ``llamacpp:n_tokens_max`` (the high
  watermark) remains. The fill is computed from /slots (``n_prompt_tokens`` + decoded tokens per
  slot) when the ratio is absent, and is "unknown", never 0, when neither tells.
* Without ``-np`` the server runs 4 slots over one unified KV cache (ggml-org/llama.cpp#16736,
  late 2025; ``--kv-unified`` is on when the slot count is auto) and every slot reports the
  whole pool as its ``n_ctx``: the pool is n_ctx, not n_ctx x slots. With an explicit ``-np N``
  (and no ``-kvu``) each slot gets ``-c / N``.
* Router mode (started without ``-m``): /models lists models with a status, and GET endpoints
  take ``?model=ID`` (/metrics answers 400 without it). ``autoload=false`` keeps the probe from
  loading a model just by looking.
"""

from __future__ import annotations

import re
from typing import Any

from homelab_hub.clients.http import HostBadResponse, HostClient, expect_dict
from homelab_hub.errors import HubError
from homelab_hub.inference.config import LlamaServerHostConfig
from homelab_hub.inference.llama_log import LlamaLoad, parse_llama_log
from homelab_hub.inference.log_source import LogSpec, LogUnavailable, read_log
from homelab_hub.inference.report import Finding
from homelab_hub.inference.report_llama import LlamaModelReport, LlamaServerMetrics, LlamaServerReport
from homelab_hub.redact import redact_text

_METRICS = {
    "llamacpp:prompt_tokens_seconds": "prompt_tokens_per_s",
    "llamacpp:predicted_tokens_seconds": "generation_tokens_per_s",
    "llamacpp:prompt_tokens_total": "prompt_tokens_total",
    "llamacpp:tokens_predicted_total": "generated_tokens_total",
    "llamacpp:requests_processing": "requests_processing",
    "llamacpp:requests_deferred": "requests_deferred",
    "llamacpp:n_tokens_max": "peak_tokens",
    "llamacpp:kv_cache_usage_ratio": "kv_cache_usage_ratio",  # older builds only
    "llamacpp:kv_cache_tokens": "kv_cache_tokens",  # older builds only
}
# Builds from about b6900 (early November 2025) start 4 unified slots when -np is not given;
# older ones started 1, so 4 slots there meant an explicit -np 4 without a shared pool.
UNIFIED_DEFAULT_BUILD = 6900
AUTO_SLOTS = 4
_BUILD = re.compile(r"^b(\d+)")
FULL_FILL = 0.95


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


def slot_tokens(slot: dict[str, Any]) -> int | None:
    """Tokens a slot holds: its prompt plus what it decoded; 0 for a slot never used; None when
    the build does not say."""
    if isinstance(slot.get("n_past"), int):
        return max(0, int(slot["n_past"]))
    if isinstance(slot.get("n_prompt_tokens"), int):
        return max(0, int(slot["n_prompt_tokens"])) + _decoded(slot.get("next_token"))
    if "id_task" not in slot and "params" not in slot:
        return 0
    return None


def _decoded(next_token: Any) -> int:
    # One object on older builds, a list of one object on newer ones.
    items = next_token if isinstance(next_token, list) else [next_token]
    return sum(int(t.get("n_decoded") or 0) for t in items if isinstance(t, dict))


class LlamaServerHost:
    """One configured llama-server. Blocking; call from worker threads."""

    def __init__(
        self, name: str, config: LlamaServerHostConfig, *, timeout: float, log_lines: int = 20_000
    ) -> None:
        self.name = name
        self.config = config
        self.client = HostClient(name, config.url, timeout)
        self.log_spec = LogSpec(config.log_file, config.log_journald_unit, config.log_docker_container)
        self.log_lines = log_lines

    def load(self) -> tuple[LlamaLoad | None, str]:
        """The newest load in the server log and what was read, or (None, why not); ('', None)
        when no log is configured. Never raises: an unreadable log is a note."""
        if not self.log_spec.configured:
            return None, ""
        try:
            lines = read_log(self.log_spec, self.log_lines, self.client.timeout)
        except LogUnavailable as exc:
            return None, f"{self.log_spec.describe()} unreadable: {exc}"
        return parse_llama_log(lines, self.log_spec.describe()), self.log_spec.describe()

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

    def props(self, model: str | None = None, *, autoload: bool = False) -> dict[str, Any]:
        """/props (a router's model with ``model``; ``autoload`` lets the router load it first)."""
        params = {"model": model, "autoload": "true" if autoload else "false"} if model else None
        return expect_dict(self.client.request("GET", "/props", params=params), f"{self.name} /props")

    def router_models(self) -> list[dict[str, Any]]:
        """The router's model list (each with a status). Raises HostBadResponse."""
        data = expect_dict(self.client.request("GET", "/models"), f"{self.name} /models", "data")["data"]
        if not isinstance(data, list):
            raise HostBadResponse(f"{self.name} /models: 'data' is not a list")
        return [m for m in data if isinstance(m, dict) and m.get("id")]

    def completion(
        self, prompt: str, max_tokens: int, timeout: float, model: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prompt": prompt,
            "n_predict": max_tokens,
            "cache_prompt": False,
            "temperature": 0,
        }
        if model:
            body["model"] = model  # the router routes POSTs by the body's model
        data = self.client.request("POST", "/completion", body=body, timeout=timeout)
        return expect_dict(data, f"{self.name} /completion", "timings")

    def report(self) -> LlamaServerReport:
        """Health, models, slots and metrics. Raises HostTimeout, HostDown or HostBadResponse
        when /health or /props cannot be read."""
        state = self.health()
        out = LlamaServerReport(host=self.name, url=self.url, state="loading" if state == "loading" else "ok")
        if state == "loading":
            out.notes.append("model still loading; context and slots appear once it is ready")
            return out
        try:
            props = self.props()
        except HostBadResponse as exc:
            if "HTTP 400" not in exc.message:
                raise
            props = {"role": "router"}  # a router that wants ?model= even on /props
        out.build = redact_text(_str(props.get("build_info")) or "") or None
        if props.get("role") == "router" or "default_generation_settings" not in props:
            out.mode = "router"
            for entry in self.router_models():
                out.models.append(self._router_model(entry, out))
            return out
        out.models.append(self._model(_model_name(props), props, None, out))
        return out

    def _router_model(self, entry: dict[str, Any], out: LlamaServerReport) -> LlamaModelReport:
        model_id = redact_text(str(entry["id"]))
        status = entry.get("status")
        value = str(status.get("value") if isinstance(status, dict) else status or "unknown")
        if value != "loaded":
            return LlamaModelReport(model=model_id, status=redact_text(value))
        try:
            props = self.props(str(entry["id"]))
        except HubError as exc:
            out.notes.append(f"{model_id}: /props failed: {exc.message}")
            return LlamaModelReport(model=model_id, status=value)
        return self._model(model_id, props, {"model": str(entry["id"]), "autoload": "false"}, out)

    def _model(
        self, name: str, props: dict[str, Any], params: dict[str, str] | None, out: LlamaServerReport
    ) -> LlamaModelReport:
        settings = props.get("default_generation_settings")
        settings = settings if isinstance(settings, dict) else {}
        report = LlamaModelReport(
            model=name,
            ctx_per_slot=_pos_int(settings.get("n_ctx")),
            total_slots=_pos_int(props.get("total_slots")),
        )
        prefix = f"{name}: " if out.mode == "router" else ""
        slots = self._slots(params, out, prefix)
        if slots is not None:
            report.slots_busy = sum(1 for s in slots if s.get("is_processing"))
            report.total_slots = report.total_slots or len(slots) or None
            report.ctx_per_slot = report.ctx_per_slot or (_pos_int(slots[0].get("n_ctx")) if slots else None)
        report.kv_unified, report.kv_unified_from = self._unified(report.total_slots, out.build)
        if report.ctx_per_slot and report.total_slots:
            per = 1 if report.kv_unified else report.total_slots
            report.context_total = report.ctx_per_slot * per
        report.metrics = self._metrics(params, out, prefix)
        _fill(report, slots)
        report.findings = _findings(report)
        return report

    def _slots(
        self, params: dict[str, str] | None, out: LlamaServerReport, prefix: str
    ) -> list[dict[str, Any]] | None:
        try:
            slots = self.client.request("GET", "/slots", params=params)
        except HubError as exc:
            out.notes.append(
                prefix + _off("/slots", exc, "it is on unless llama-server runs with --no-slots")
            )
            return None
        if not isinstance(slots, list) or not all(isinstance(s, dict) for s in slots):
            out.notes.append(prefix + "/slots answered something other than a list of slots")
            return None
        return slots

    def _metrics(
        self, params: dict[str, str] | None, out: LlamaServerReport, prefix: str
    ) -> LlamaServerMetrics | None:
        try:
            text = self.client.request("GET", "/metrics", params=params, raw=True)
        except HubError as exc:
            out.notes.append(prefix + _off("/metrics", exc, "start llama-server with --metrics"))
            return None
        return parse_metrics(str(text))

    def _unified(self, slots: int | None, build: str | None) -> tuple[bool | None, Any]:
        if self.config.kv_unified != "auto":
            return self.config.kv_unified == "on", "config"
        if slots is None:
            return None, None
        number = _BUILD.match(build or "")
        new_build = number is None or int(number[1]) >= UNIFIED_DEFAULT_BUILD
        return slots == AUTO_SLOTS and new_build, "inferred"


def _fill(report: LlamaModelReport, slots: list[dict[str, Any]] | None) -> None:
    m = report.metrics
    if m is not None and m.kv_cache_usage_ratio is not None:
        report.kv_fill, report.kv_fill_from = round(m.kv_cache_usage_ratio, 4), "metrics"
        report.kv_used_tokens = int(m.kv_cache_tokens) if m.kv_cache_tokens is not None else None
        return
    if slots is None or not report.context_total:
        return
    counts = [slot_tokens(s) for s in slots]
    if any(c is None for c in counts):
        return
    used = sum(c for c in counts if c is not None)
    report.kv_used_tokens = used
    report.kv_fill, report.kv_fill_from = round(min(1.0, used / report.context_total), 4), "slots"


def _findings(r: LlamaModelReport) -> list[Finding]:
    out: list[Finding] = []
    deferred = (r.metrics.requests_deferred or 0) if r.metrics else 0
    slots = r.total_slots or "?"
    if deferred > 0:
        if r.kv_unified:
            fix = (
                f"Raise -np (--parallel): with --kv-unified the slots share the -c pool, so more slots do not cut "
                f"each one's context, but long requests then compete for the same {r.context_total or 0:,} cells; "
                "raise -c too if memory allows."
            )
        else:
            fix = "Raise --parallel and -c together (each slot gets -c / --parallel tokens), or spread the load."
        out.append(
            Finding(
                kind="requests_deferred",
                message=f"{deferred:.0f} request(s) wait for a free slot of {r.model}: all {slots} slots are busy.",
                fix=fix,
            )
        )
    if isinstance(r.kv_fill, float) and r.kv_fill >= FULL_FILL:
        if r.kv_unified:
            what = f"The shared KV pool of {r.context_total or 0:,} tokens"
            fix = "Raise -c (the pool every slot shares) if memory allows, or lower -np so fewer requests compete."
        else:
            what = "The KV cache"
            fix = "Raise -c if memory allows, or lower --parallel so each slot gets more (-c / --parallel each)."
        out.append(
            Finding(
                kind="kv_cache_full",
                message=f"{what} of {r.model} is {r.kv_fill:.0%} full; long prompts will be truncated or rejected.",
                fix=fix,
            )
        )
    return out


def _model_name(props: dict[str, Any]) -> str:
    settings = props.get("default_generation_settings")
    from_settings = settings.get("model") if isinstance(settings, dict) else None
    name = _str(props.get("model_alias")) or _str(props.get("model_path")) or _str(from_settings) or "?"
    return redact_text(name)


def _off(endpoint: str, exc: HubError, how: str) -> str:
    if "501" in exc.message:
        return f"{endpoint} is off (HTTP 501): {how}"
    return f"{endpoint} failed: {exc.message}"


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _pos_int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
