"""An Ollama host: its API (through `homelab_hub.clients.ollama.OllamaClient`), its server log
when the hub can read it, and the report ``ollama_ps`` shows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from homelab_hub.clients.http import HostBadResponse
from homelab_hub.clients.ollama import OllamaClient, RunningModel
from homelab_hub.errors import HubError
from homelab_hub.inference.config import OllamaHostConfig
from homelab_hub.inference.context import ContextInputs, context_cause, reload_finding
from homelab_hub.inference.findings import GB, ModelFacts, duration_text, model_findings
from homelab_hub.inference.kv_cache import (
    KV_BYTES_PER_ELEMENT,
    ModelArchitecture,
    architecture_from_model_info,
    kv_cache_bytes,
)
from homelab_hub.inference.log_source import LogSpec, LogUnavailable, read_log
from homelab_hub.inference.memory import estimated, measured
from homelab_hub.inference.ollama_log import LoadRecord, OllamaLog, parse_log
from homelab_hub.inference.report import (
    Architecture,
    Finding,
    KvCacheEstimate,
    LoadedModel,
    MemoryBreakdown,
    OllamaHostReport,
)
from homelab_hub.inference.versions import OllamaVersion
from homelab_hub.redact import redact_text

_NUM_CTX = re.compile(r"^\s*num_ctx\s+(\d+)\s*$", re.MULTILINE)
_FROM_BLOB = re.compile(r"^FROM\s+\S*sha256[-:]([0-9a-f]{64})\s*$", re.MULTILINE)
# The server config line names these; only they are shown (never OLLAMA_HOST or proxies).
SHOWN_ENV = (
    "OLLAMA_CONTEXT_LENGTH",
    "OLLAMA_NUM_PARALLEL",
    "OLLAMA_KV_CACHE_TYPE",
    "OLLAMA_FLASH_ATTENTION",
    "OLLAMA_KEEP_ALIVE",
    "OLLAMA_MAX_LOADED_MODELS",
)


def same_model(a: str, b: str) -> bool:
    """Ollama treats ``llama3`` and ``llama3:latest`` as one model."""
    return _full(a) == _full(b)


def _full(name: str) -> str:
    return name if ":" in name else f"{name}:latest"


@dataclass(frozen=True)
class ShowFacts:
    """What /api/show tells about an installed model."""

    architecture: ModelArchitecture
    modelfile_ctx: int | None
    blob: str | None


@dataclass(frozen=True)
class ReportSettings:
    oversized_factor: float
    keep_alive_warn_h: float
    reload_window_s: float
    reload_warn_count: int


class OllamaHost:
    """One configured Ollama host. Blocking; call from worker threads."""

    def __init__(
        self,
        name: str,
        config: OllamaHostConfig,
        *,
        timeout: float,
        workload_ctx: int,
        log_lines: int = 20_000,
    ) -> None:
        self.name = name
        self.config = config
        self.client = OllamaClient(config.url, name=name, timeout_s=timeout, api_timeout_s=timeout)
        self.workload_ctx = config.workload_ctx or workload_ctx
        self.log_spec = LogSpec(config.log_file, config.log_journald_unit, config.log_docker_container)
        self.log_lines = log_lines

    @property
    def url(self) -> str:
        return self.client.where

    def facts(self, model: str) -> ShowFacts:
        """Architecture, Modelfile num_ctx and model blob. Raises NotFound, HostBadResponse, UpstreamError."""
        shown = self.client.show(model)
        if shown.model_info is None:
            raise HostBadResponse(f"{self.name} /api/show {model} has no model_info")
        num_ctx = _NUM_CTX.search(shown.parameters)
        blob = _FROM_BLOB.search(shown.modelfile)
        return ShowFacts(
            architecture=architecture_from_model_info(shown.model_info),
            modelfile_ctx=int(num_ctx[1]) if num_ctx else None,
            blob=blob[1] if blob else None,
        )

    def architecture(self, model: str) -> ModelArchitecture:
        return self.facts(model).architecture

    def read_server_log(self) -> tuple[OllamaLog | None, str]:
        """The parsed server log, or None and why not ('' when none is configured)."""
        if not self.log_spec.configured:
            return None, ""
        source = self.log_spec.describe()
        try:
            lines = read_log(self.log_spec, self.log_lines, self.client.api_timeout_s)
        except LogUnavailable as exc:
            return None, redact_text(f"{source}: {exc}")
        return parse_log(lines, source), source

    # --- the report ---

    def kv_estimate(
        self,
        arch: ModelArchitecture,
        loaded_context: int,
        kv_type: str | None = None,
        parallel: int | None = None,
    ) -> KvCacheEstimate:
        sensible = min(self.workload_ctx, arch.trained_context or self.workload_ctx)
        kv_type = kv_type or self.config.kv_cache_type
        parallel = parallel or self.config.num_parallel
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

    def report(self, settings: ReportSettings) -> OllamaHostReport:
        """The host's loaded models with memory, context causes and findings. Raises HostTimeout,
        HostDown or HostBadResponse when the host itself cannot be read."""
        version_text = self.client.version()
        running = self.client.ps()
        weights = self._weights_by_name() if running else {}
        log, log_note = self.read_server_log()
        version = OllamaVersion.parse(version_text)
        env = {k: redact_text(v) for k, v in (log.env if log else {}).items() if k in SHOWN_ENV}
        models = [self._loaded_model(m, weights, log, log_note, version, settings) for m in running]
        return OllamaHostReport(
            host=self.name,
            url=self.url,
            state="ok",
            version=version_text,
            log=log_note,
            log_readable=log is not None,
            default_context=log.default_context if log else None,
            server_env=env,
            models=models,
        )

    def _weights_by_name(self) -> dict[str, int]:
        try:
            return {_full(m.name): m.size or 0 for m in self.client.tags()}
        except HubError:
            return {}  # weights only sharpen the estimate; the report stands without them

    def _loaded_model(
        self,
        raw: RunningModel,
        weights: dict[str, int],
        log: OllamaLog | None,
        log_note: str,
        version: OllamaVersion,
        settings: ReportSettings,
    ) -> LoadedModel:
        name = redact_text(raw.name)
        size, size_vram = raw.size or 0, raw.size_vram or 0
        facts: ShowFacts | None = None
        findings: list[Finding] = []
        try:
            facts = self.facts(name)
        except HubError as exc:
            findings.append(
                Finding(
                    kind="architecture_unknown",
                    message=f"KV cache of {name} not estimated: {exc.message}",
                    fix="Check that /api/show answers for this model (Ollama 0.3 or later reports model_info).",
                )
            )
        arch = facts.architecture if facts else None
        loads = log.loads_of(facts.blob) if log and facts else []
        load = loads[-1] if loads else None
        context, context_from = raw.context_length, "api/ps"
        stale = load is not None and context is not None and load.context not in (None, context)
        if stale:
            load = None  # the log's newest load of this model is not the one in memory
        if context is None and load is not None and load.context:
            context, context_from = load.context, "server log"
        parallel = (load.parallel if load else None) or (log.env_int("OLLAMA_NUM_PARALLEL") if log else None)
        kv = self.kv_estimate(arch, context, _kv_type(load, log), parallel) if arch and context else None
        weight = weights.get(_full(name)) or None
        memory = self._memory(size, weight, kv, load, log, log_note, stale)
        expires_at, expires_in = _expiry(raw.expires_at)
        findings += model_findings(
            ModelFacts(name, version, size, size_vram, weight, kv, memory, expires_in),
            oversized_factor=settings.oversized_factor,
            keep_alive_warn_h=settings.keep_alive_warn_h,
        )
        findings += _log_reloads(name, version, loads, settings)
        cause = None
        if context is not None:
            cause = context_cause(
                ContextInputs(
                    model=name,
                    version=version,
                    loaded=context,
                    trained=arch.trained_context if arch else None,
                    modelfile_ctx=facts.modelfile_ctx if facts else None,
                    env_ctx=log.env_int("OLLAMA_CONTEXT_LENGTH") if log else None,
                    log_read=log is not None and bool(log.env),
                    logged_default=log.default_context if log else None,
                    total_vram=log.total_vram if log else None,
                )
            )
        return LoadedModel(
            name=name,
            parameter_size=redact_text(raw.parameter_size),
            quantization=redact_text(raw.quantization),
            size_gb=_gb(size),
            vram_gb=_gb(size_vram),
            cpu_percent=round(100 * (size - size_vram) / size, 1) if size and size_vram <= size else 0.0,
            weights_gb=_gb(weight) if weight else None,
            beyond_weights_gb=_gb(size - weight) if weight and size > weight else None,
            context_length=context,
            context_from=context_from if context else None,
            context_cause=cause,
            expires_at=expires_at,
            expires_in=duration_text(expires_in),
            architecture=_architecture(arch),
            kv_cache=kv,
            memory=memory,
            findings=findings,
        )

    def _memory(
        self,
        size: int,
        weight: int | None,
        kv: KvCacheEstimate | None,
        load: LoadRecord | None,
        log: OllamaLog | None,
        log_note: str,
        stale: bool = False,
    ) -> MemoryBreakdown:
        if load is not None and load.measured and log is not None:
            return measured(load, size, log.source)
        if stale and log is not None:
            why = (
                f"the newest load of this model in the server log ({log.source}) is not the one /api/ps shows"
            )
        elif log is not None:
            why = f"the server log ({log.source}) shows no load of this model since the server started"
        elif log_note:
            why = f"the server log could not be read ({log_note})"
        else:
            why = (
                "no server log configured for this host ([inference.ollama.NAME] log_file, "
                "log_journald_unit or log_docker_container)"
            )
        kv_bytes = round(kv.at_loaded_gb * GB) if kv else None
        return estimated(size, weight, kv_bytes, why, load)


def _kv_type(load: LoadRecord | None, log: OllamaLog | None) -> str | None:
    """The KV element type this load really used: f16 unless flash attention ran with a quantised type."""
    if load is not None and (load.flash_attention or "").lower() in ("disabled", "false"):
        return "f16"
    for value in (
        (load.kv_cache_type if load else None),
        (log.env.get("OLLAMA_KV_CACHE_TYPE") if log else None),
    ):
        if value and value in KV_BYTES_PER_ELEMENT:
            return value
    return None


def _log_reloads(
    name: str, version: OllamaVersion, loads: list[LoadRecord], s: ReportSettings
) -> list[Finding]:
    now = datetime.now(UTC)
    contexts = [
        load.context
        for load in loads
        if load.context and (load.at is None or (now - load.at).total_seconds() <= s.reload_window_s)
    ]
    if len(contexts) >= s.reload_warn_count and len(set(contexts)) >= 2:
        return [reload_finding(name, version, contexts, s.reload_window_s, "server log")]
    return []


def _architecture(arch: ModelArchitecture | None) -> Architecture | None:
    if arch is None:
        return None
    return Architecture(
        family=arch.family,
        layers=arch.layers,
        kv_heads=arch.kv_heads,
        head_dim=arch.head_dim,
        trained_context=arch.trained_context,
    )


def _gb(n: int) -> float:
    return round(n / GB, 2)


def _expiry(value: str | None) -> tuple[str | None, float | None]:
    if not value:
        return None, None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return redact_text(value), None
    if when.year <= 1:  # Go's zero time: Ollama is still loading the model
        return None, None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return value, (when - datetime.now(UTC)).total_seconds()
