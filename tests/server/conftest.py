"""Fixtures of the server tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.hubclient import RunningHub, hub_config
from tests.support import free_port


@pytest.fixture(scope="module")
def table_hub(tmp_path_factory) -> Any:
    """A hub with tokens (an agent's and an admin's) for walking the route table."""
    tmp = tmp_path_factory.mktemp("routes")
    hub = RunningHub(hub_config(tmp, free_port(), {"memory": {"enabled": False}})).start()
    try:
        yield {
            "hub": hub,
            "agent": hub.create_token("walker"),
            "admin": hub.create_token("root", admin=True),
        }
    finally:
        hub.stop()
