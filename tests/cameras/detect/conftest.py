"""Fixtures of the detection tests: one stand-in vision model per module, reset for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.ollama_vision import FakeOllamaVision


@pytest.fixture(scope="module")
def ollama_server() -> Iterator[FakeOllamaVision]:
    with FakeOllamaVision() as server:
        yield server


@pytest.fixture
def ollama(ollama_server: FakeOllamaVision) -> FakeOllamaVision:
    ollama_server.reset()
    return ollama_server
