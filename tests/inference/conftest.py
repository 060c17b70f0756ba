"""Fixtures: running stand-ins for Ollama and llama-server, and an engine pointed at them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from homelab_hub.inference.config import InferenceConfig
from homelab_hub.inference.engine import InferenceEngine
from tests.fakes.llama_server import FakeLlamaServer
from tests.fakes.ollama import FakeOllama, garbage_host, slow_host

# Short enough to keep the suite fast, long enough for a loaded CI machine to answer.
TIMEOUT_S = 1.0


# The stand-ins start once per session (stopping one takes half a second) and are reset to
# their canned state before each test.


@pytest.fixture(scope="session")
def _ollama_servers() -> Iterator[tuple[FakeOllama, FakeOllama]]:
    with FakeOllama() as one, FakeOllama() as two:
        yield one, two


@pytest.fixture
def ollama(_ollama_servers) -> FakeOllama:
    _ollama_servers[0].reset()
    return _ollama_servers[0]


@pytest.fixture
def ollama2(_ollama_servers) -> FakeOllama:
    _ollama_servers[1].reset()
    return _ollama_servers[1]


@pytest.fixture(scope="session")
def _llama_server() -> Iterator[FakeLlamaServer]:
    with FakeLlamaServer() as server:
        yield server


@pytest.fixture
def llama_server(_llama_server) -> FakeLlamaServer:
    _llama_server.reset()
    return _llama_server


@pytest.fixture(scope="session")
def slow() -> Iterator[Any]:
    with slow_host(delay_s=TIMEOUT_S * 4) as server:
        yield server


@pytest.fixture(scope="session")
def garbage() -> Iterator[Any]:
    with garbage_host() as server:
        yield server


def inference_config(
    ollama: dict[str, Any] | None = None, llama_cpp: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """The [inference] section as a dict: ``ollama={"spark": server}`` (a fake or a URL)."""

    def url(v: Any) -> dict[str, Any]:
        if isinstance(v, dict):
            return v
        return {"url": v if isinstance(v, str) else v.url}

    return {
        "ollama": {k: url(v) for k, v in (ollama or {}).items()},
        "llama_cpp": {k: url(v) for k, v in (llama_cpp or {}).items()},
        "timeout_s": TIMEOUT_S,
        **extra,
    }


@pytest.fixture
def make_engine() -> Callable[..., InferenceEngine]:
    def make(
        ollama: dict[str, Any] | None = None, llama_cpp: dict[str, Any] | None = None, **extra: Any
    ) -> InferenceEngine:
        return InferenceEngine(InferenceConfig(**inference_config(ollama, llama_cpp, **extra)))

    return make
