"""Fixtures: running stand-ins for Ollama and llama-server, and an engine pointed at them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from homelab_hub.inference.config import InferenceConfig
from homelab_hub.inference.engine import InferenceEngine
from tests.fakes.llama_server import FakeLlamaServer
from tests.fakes.ollama import FakeOllama, garbage_host, slow_host
from tests.fakes.rpc_server import FakeRpcServer
from tests.inference.support import TIMEOUT_S, inference_config

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


@pytest.fixture
def rpc_server() -> Iterator[FakeRpcServer]:
    """The seed's DGX as an rpc-server (protocol 3.0.0, one CUDA device)."""
    with FakeRpcServer() as server:
        yield server


@pytest.fixture(scope="session")
def slow() -> Iterator[Any]:
    with slow_host(delay_s=TIMEOUT_S * 4) as server:
        yield server


@pytest.fixture(scope="session")
def garbage() -> Iterator[Any]:
    with garbage_host() as server:
        yield server


@pytest.fixture
def make_engine() -> Iterator[Callable[..., InferenceEngine]]:
    made: list[InferenceEngine] = []

    def make(
        ollama: dict[str, Any] | None = None, llama_cpp: dict[str, Any] | None = None, **extra: Any
    ) -> InferenceEngine:
        engine = InferenceEngine(InferenceConfig(**inference_config(ollama, llama_cpp, **extra)))
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.close()
