"""One typed client for an Ollama host, with its failures mapped once.

The vision model (cameras/detect/vision.py) and the review model (cameras/review/classifier.py)
chat through it; the inference engine (inference/ollama.py) reads /api/version, /api/ps,
/api/tags and /api/show, creates models and measures generation through it. One pooled HTTP
client per host (`homelab_hub.clients.http.HostClient`: credentials from ``user:password@`` in
the URL sent as Basic auth, ``?token=`` kept, every message redacted). API answers come back as
records; a field the host's version does not send is None (or 0 for counts). A failure is a
`HubError`:

- `HostTimeout`, `HostDown` (`Unavailable`): nothing answers, or not within the timeout;
- `OllamaStatusError` (a `HostBadResponse`): an error status of /api/chat; a 404 says to pull the
  model;
- `HostBadResponse` (an `UpstreamError`): an error status of the API, or an answer that is not
  Ollama's JSON;
- `NotFound`: a model the host does not have (/api/show, /api/generate).

Chat messages name the role and the model ("vision model 'llava:7b' at URL did not answer within
60 s"); API messages name the host and the endpoint ("spark (URL/api/ps) is unreachable: ...").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from homelab_hub.clients.http import HostBadResponse, HostClient, expect_dict, no_answer
from homelab_hub.errors import NotFound
from homelab_hub.redact import redact_text

# A host that is up accepts a connection at once; only the answer may take the model's time.
_CONNECT_S = 5.0
_API_TIMEOUT_S = 5.0


class OllamaStatusError(HostBadResponse):
    """Ollama answered an error status to a chat; ``status`` and ``body`` let a caller retry
    without an option an older server rejects (a 400 naming ``format`` or ``think``)."""

    def __init__(self, message: str, *, status: int, body: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


@dataclass(frozen=True)
class RunningModel:
    """One model of /api/ps: in memory now."""

    name: str
    size: int | None  # bytes in memory, weights and KV cache and graph
    size_vram: int | None  # of them on the GPU; 0 when all on the CPU
    context_length: int | None  # /api/ps has it from Ollama 0.10.0
    expires_at: str | None  # RFC 3339 text; Go's zero time while the model loads
    parameter_size: str
    quantization: str


@dataclass(frozen=True)
class InstalledModel:
    """One model of /api/tags: on the host's disk."""

    name: str
    size: int | None  # bytes of the weights


@dataclass(frozen=True)
class ModelShow:
    """What /api/show tells about an installed model."""

    model_info: dict[str, Any] | None  # GGUF metadata ("llama.block_count", ...); Ollama 0.3+
    parameters: str  # the Modelfile's PARAMETER lines
    modelfile: str


@dataclass(frozen=True)
class Generation:
    """The counters of one /api/generate (durations in nanoseconds; 0 when not sent)."""

    prompt_eval_count: int
    prompt_eval_duration_ns: int
    eval_count: int
    eval_duration_ns: int
    load_duration_ns: int


class OllamaClient:
    """One Ollama host. Thread-safe (httpx's client is); `close` releases it."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float,
        name: str | None = None,
        role: str = "Ollama",
        config_key: str = "",
        api_timeout_s: float = _API_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``timeout_s`` bounds a chat's answer, ``api_timeout_s`` every other call that names
        no timeout of its own. ``role`` names the model in chat messages ("vision model");
        ``config_key`` is the section whose ``model`` a 404 tells the reader to fix ("vision");
        ``name`` names the host in API messages (the role when not given)."""
        self._api = HostClient(name or role, url, api_timeout_s, transport=transport)
        self.name = self._api.name
        self.where = self._api.url  # the URL as every message shows it
        self.role = role
        self.config_key = config_key
        self.timeout_s = timeout_s

    @property
    def api_timeout_s(self) -> float:
        return self._api.timeout

    def close(self) -> None:
        self._api.close()

    # --- chat (vision, review) ---

    def chat(self, body: dict[str, Any]) -> str:
        """POST /api/chat (not streamed) and return the message's text.

        Raises HostTimeout, HostDown, OllamaStatusError, HostBadResponse (see the module's docstring).
        """
        model = str(body.get("model", ""))
        try:
            response = self._api.send(
                "POST", "/api/chat", body=body, timeout=httpx.Timeout(self.timeout_s, connect=_CONNECT_S)
            )
        except httpx.HTTPError as exc:
            where = f"{self.role} at {self.where}"
            raise no_answer(
                exc, where, self.timeout_s, slow=f"{self.role} {model!r} at {self.where}"
            ) from exc
        if response.status_code >= 400:
            raise OllamaStatusError(
                self._status_message(model, response), status=response.status_code, body=response.text
            )
        try:
            content = response.json()["message"]["content"]
        except (ValueError, KeyError, TypeError) as exc:
            raise HostBadResponse(
                redact_text(
                    f"{self.role} at {self.where} answered something that is not Ollama's chat JSON: "
                    f"{response.text[:120]!r}"
                )
            ) from exc
        if not isinstance(content, str):
            raise HostBadResponse(f"{self.role} at {self.where} answered a message that is not text")
        return content

    def _status_message(self, model: str, response: httpx.Response) -> str:
        detail = response.text[:160]
        if response.status_code == 404:
            return redact_text(
                f"{self.role} {model!r} is not available at {self.where} (404: {detail}); "
                f"pull it or fix [{self.config_key}].model"
            )
        return redact_text(f"{self.role} at {self.where} answered HTTP {response.status_code}: {detail}")

    # --- the API (inference); each raises HostTimeout, HostDown, HostBadResponse ---

    def version(self) -> str:
        """The server's version ("0.5.7")."""
        data = expect_dict(self._api.request("GET", "/api/version"), f"{self.name} /api/version", "version")
        return redact_text(str(data["version"]))

    def ps(self) -> list[RunningModel]:
        """The models in memory now."""
        return [
            RunningModel(
                name=name,
                size=_count(m.get("size")),
                size_vram=_count(m.get("size_vram")),
                context_length=_count(m.get("context_length")) or None,
                expires_at=m["expires_at"]
                if isinstance(m.get("expires_at"), str) and m["expires_at"]
                else None,
                parameter_size=str(_details(m).get("parameter_size") or ""),
                quantization=str(_details(m).get("quantization_level") or ""),
            )
            for name, m in self._models("/api/ps")
        ]

    def tags(self) -> list[InstalledModel]:
        """The models installed on the host."""
        return [
            InstalledModel(name=name, size=_count(m.get("size"))) for name, m in self._models("/api/tags")
        ]

    def show(self, model: str) -> ModelShow:
        """Raises NotFound for a model the host does not have."""
        try:
            data = self._api.request("POST", "/api/show", body={"model": model, "name": model})
        except NotFound as exc:
            raise NotFound(f"model {model!r} is not installed on Ollama host {self.name!r}") from exc
        shown = expect_dict(data, f"{self.name} /api/show {model}")
        info = shown.get("model_info")
        return ModelShow(
            model_info=info if isinstance(info, dict) else None,
            parameters=str(shown.get("parameters") or ""),
            modelfile=str(shown.get("modelfile") or ""),
        )

    def create(self, name: str, from_model: str, num_ctx: int, *, timeout_s: float, modelfile: bool) -> str:
        """Create ``name`` as ``from_model`` with ``num_ctx``; the server's status text.
        ``modelfile``: the server takes a Modelfile text (before 0.5.5), not ``from``."""
        if modelfile:
            body: dict[str, Any] = {
                "name": name,
                "modelfile": f"FROM {from_model}\nPARAMETER num_ctx {num_ctx}\n",
            }
        else:
            body = {"model": name, "from": from_model, "parameters": {"num_ctx": num_ctx}}
        body["stream"] = False
        data = expect_dict(
            self._api.request("POST", "/api/create", body=body, timeout=timeout_s),
            f"{self.name} /api/create",
            "status",
        )
        return redact_text(str(data["status"]))

    def generate(self, model: str, prompt: str, max_tokens: int, *, timeout_s: float) -> Generation:
        """One raw completion at temperature 0. Raises NotFound for a model the host does not have."""
        # No num_ctx here: a different num_ctx would make Ollama reload the model to measure it.
        body = {
            "model": model,
            "prompt": prompt,
            "stream": False,
            "raw": True,
            "options": {"num_predict": max_tokens, "temperature": 0},
        }
        try:
            data = self._api.request("POST", "/api/generate", body=body, timeout=timeout_s)
        except NotFound as exc:
            raise NotFound(f"model {model!r} is not installed on Ollama host {self.name!r}") from exc
        d = expect_dict(data, f"{self.name} /api/generate", "eval_count", "eval_duration")
        return Generation(
            prompt_eval_count=_count(d.get("prompt_eval_count")) or 0,
            prompt_eval_duration_ns=_count(d.get("prompt_eval_duration")) or 0,
            eval_count=_count(d.get("eval_count")) or 0,
            eval_duration_ns=_count(d.get("eval_duration")) or 0,
            load_duration_ns=_count(d.get("load_duration")) or 0,
        )

    def _models(self, path: str) -> list[tuple[str, dict[str, Any]]]:
        """(name, entry) of /api/ps or /api/tags; older servers name a model only by "name",
        newer ones by "model" as well."""
        where = f"{self.name} {path}"
        models = expect_dict(self._api.request("GET", path), where, "models")["models"]
        named = (
            [(m.get("name") or m.get("model"), m) for m in models if isinstance(m, dict)]
            if isinstance(models, list)
            else []
        )
        if not isinstance(models, list) or len(named) < len(models) or not all(n for n, _ in named):
            raise HostBadResponse(f"{where}: 'models' is not a list of models with names")
        return [(str(n), m) for n, m in named]


def _count(value: Any) -> int | None:
    """A JSON count or size: a non-negative number, else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return int(value)
    return None


def _details(model: dict[str, Any]) -> dict[str, Any]:
    details = model.get("details")
    return details if isinstance(details, dict) else {}
