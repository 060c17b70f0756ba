"""An Ollama host: its API (/api/version, /api/ps, /api/tags, /api/show, /api/create,
/api/generate) and the report ``ollama_ps`` shows for it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from homelab_hub.errors import HubError, NotFound
from homelab_hub.inference.config import OllamaHostConfig
from homelab_hub.inference.findings import GB, duration_text, model_findings
from homelab_hub.inference.http import HostBadResponse, HostClient, expect_dict
from homelab_hub.inference.kv_cache import (
    KV_BYTES_PER_ELEMENT,
    ModelArchitecture,
    architecture_from_model_info,
    kv_cache_bytes,
)
from homelab_hub.inference.report import (
    Architecture,
    Finding,
    KvCacheEstimate,
    LoadedModel,
    OllamaHostReport,
)


def same_model(a: str, b: str) -> bool:
    """Ollama treats ``llama3`` and ``llama3:latest`` as one model."""
    return _full(a) == _full(b)


def _full(name: str) -> str:
    return name if ":" in name else f"{name}:latest"


class OllamaHost:
    """One configured Ollama host. Blocking; call from worker threads."""

    def __init__(self, name: str, config: OllamaHostConfig, *, timeout: float, workload_ctx: int) -> None:
        self.name = name
        self.config = config
        self.client = HostClient(name, config.url, timeout)
        self.workload_ctx = config.workload_ctx or workload_ctx

    @property
    def url(self) -> str:
        return self.client.url

    # --- API calls; each raises HostTimeout, HostDown, HostBadResponse or NotFound ---

    def version(self) -> str:
        data = expect_dict(self.client.request("GET", "/api/version"), f"{self.name} /api/version", "version")
        return str(data["version"])

    def running(self) -> list[dict[str, Any]]:
        return self._model_list("/api/ps")

    def installed(self) -> list[dict[str, Any]]:
        return self._model_list("/api/tags")

    def show(self, model: str) -> dict[str, Any]:
        try:
            data = self.client.request("POST", "/api/show", body={"model": model})
        except NotFound as exc:
            raise NotFound(f"model {model!r} is not installed on Ollama host {self.name!r}") from exc
        return expect_dict(data, f"{self.name} /api/show {model}")

    def architecture(self, model: str) -> ModelArchitecture:
        info = self.show(model).get("model_info")
        if not isinstance(info, dict):
            raise HostBadResponse(f"{self.name} /api/show {model} has no model_info")
        return architecture_from_model_info(info)

    def create(self, name: str, from_model: str, num_ctx: int, timeout: float) -> str:
        body = {"model": name, "from": from_model, "parameters": {"num_ctx": num_ctx}, "stream": False}
        data = expect_dict(
            self.client.request("POST", "/api/create", body=body, timeout=timeout),
            f"{self.name} /api/create",
            "status",
        )
        return str(data["status"])

    def generate(self, model: str, prompt: str, max_tokens: int, timeout: float) -> dict[str, Any]:
        # No num_ctx here: a different num_ctx would make Ollama reload the model to measure it.
        body = {
            "model": model,
            "prompt": prompt,
            "stream": False,
            "raw": True,
            "options": {"num_predict": max_tokens, "temperature": 0},
        }
        try:
            data = self.client.request("POST", "/api/generate", body=body, timeout=timeout)
        except NotFound as exc:
            raise NotFound(f"model {model!r} is not installed on Ollama host {self.name!r}") from exc
        return expect_dict(data, f"{self.name} /api/generate", "eval_count", "eval_duration")

    def _model_list(self, path: str) -> list[dict[str, Any]]:
        where = f"{self.name} {path}"
        models = expect_dict(self.client.request("GET", path), where, "models")["models"]
        if not isinstance(models, list) or not all(isinstance(m, dict) and "name" in m for m in models):
            raise HostBadResponse(f"{where}: 'models' is not a list of models with names")
        return models

    # --- the report ---

    def kv_estimate(self, arch: ModelArchitecture, loaded_context: int) -> KvCacheEstimate:
        sensible = min(self.workload_ctx, arch.trained_context or self.workload_ctx)
        kv_type, parallel = self.config.kv_cache_type, self.config.num_parallel
        at_loaded = kv_cache_bytes(arch, loaded_context, kv_cache_type=kv_type, parallel=parallel)
        at_sensible = kv_cache_bytes(arch, sensible, kv_cache_type=kv_type, parallel=parallel)
        per_token = arch.kv_elements_per_token * KV_BYTES_PER_ELEMENT[kv_type] / 1024
        return KvCacheEstimate(
            per_token_kib=round(per_token, 2),
            kv_cache_type=kv_type,
            parallel=parallel,
            loaded_context=loaded_context,
            at_loaded_gb=_gb(at_loaded),
            sensible_context=sensible,
            at_sensible_gb=_gb(at_sensible),
            saving_gb=_gb(max(0, at_loaded - at_sensible)),
        )

    def report(self, *, oversized_factor: float, keep_alive_warn_h: float) -> OllamaHostReport:
        """The host's loaded models with KV arithmetic and findings. Raises HostTimeout,
        HostDown or HostBadResponse when the host itself cannot be read."""
        version = self.version()
        running = self.running()
        weights = self._weights_by_name() if running else {}
        models = [self._loaded_model(m, weights, oversized_factor, keep_alive_warn_h) for m in running]
        return OllamaHostReport(host=self.name, url=self.url, state="ok", version=version, models=models)

    def _weights_by_name(self) -> dict[str, int]:
        try:
            return {_full(str(m["name"])): int(m.get("size") or 0) for m in self.installed()}
        except (HubError, TypeError, ValueError):
            return {}  # weights only sharpen one finding; the report stands without them

    def _loaded_model(
        self, raw: dict[str, Any], weights: dict[str, int], factor: float, keep_alive_warn_h: float
    ) -> LoadedModel:
        name = str(raw["name"])
        size, size_vram = _int(raw.get("size")), _int(raw.get("size_vram"))
        details = raw.get("details")
        details = details if isinstance(details, dict) else {}
        context = _int(raw.get("context_length")) or None
        expires_at, expires_in = _expiry(raw.get("expires_at"))
        arch: ModelArchitecture | None = None
        findings: list[Finding] = []
        try:
            arch = self.architecture(name)
        except HubError as exc:
            findings.append(
                Finding(
                    kind="architecture_unknown",
                    message=f"KV cache of {name} not estimated: {exc.message}",
                    fix="Check that /api/show answers for this model (Ollama 0.3 or later reports model_info).",
                )
            )
        weight = weights.get(_full(name)) or None
        # Older Ollama versions omit context_length from /api/ps; nothing to compare then.
        kv = self.kv_estimate(arch, context) if arch and context else None
        findings += model_findings(
            model=name,
            size=size,
            size_vram=size_vram,
            weights=weight,
            kv=kv,
            oversized_factor=factor,
            expires_in_s=expires_in,
            keep_alive_warn_h=keep_alive_warn_h,
        )
        return LoadedModel(
            name=name,
            parameter_size=str(details.get("parameter_size") or ""),
            quantization=str(details.get("quantization_level") or ""),
            size_gb=_gb(size),
            vram_gb=_gb(size_vram),
            cpu_percent=round(100 * (size - size_vram) / size, 1) if size and size_vram <= size else 0.0,
            weights_gb=_gb(weight) if weight else None,
            beyond_weights_gb=_gb(size - weight) if weight and size > weight else None,
            context_length=context,
            expires_at=expires_at,
            expires_in=duration_text(expires_in),
            architecture=Architecture(
                family=arch.family,
                layers=arch.layers,
                kv_heads=arch.kv_heads,
                head_dim=arch.head_dim,
                trained_context=arch.trained_context,
            )
            if arch
            else None,
            kv_cache=kv,
            findings=findings,
        )


def _gb(n: int) -> float:
    return round(n / GB, 2)


def _int(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else 0


def _expiry(value: Any) -> tuple[str | None, float | None]:
    if not isinstance(value, str) or not value:
        return None, None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return value, None
    if when.year <= 1:  # Go's zero time: Ollama is still loading the model
        return None, None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return value, (when - datetime.now(UTC)).total_seconds()
