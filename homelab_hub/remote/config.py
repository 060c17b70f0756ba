"""Settings of the broker that joins hubs and camera workers (``[broker]``), and of a worker.

Cameras stay defined in one place, the hub's config: a camera with ``host = "garage-pi"`` is
run by the worker named ``garage-pi``. The worker itself knows only its broker, its name and
credentials, where to keep its outbox, and which Ollama to ask.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from homelab_hub.section import Section

NODE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
TOPIC_PREFIX = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")


def check_node_name(name: str, what: str = "name") -> str:
    if not NODE_NAME.match(name):
        raise ValueError(
            f"{what} {name!r} must be 1-64 letters, digits, '_' or '-', starting with a letter or digit, "
            "e.g. 'garage-pi'"
        )
    return name


class BrokerConfig(Section):
    """An MQTT 3.1.1/5 broker (Mosquitto or any other, clustered ones included)."""

    host: str | None = Field(
        None,
        description="Broker address; empty: no workers, and hubs sharing a database follow each other by "
        "polling it only.",
    )
    port: int = Field(1883, ge=1, le=65535, description="Broker port.")
    username: str | None = Field(None, description="User name at the broker (none = anonymous).")
    password: str | None = Field(None, description="Password at the broker.")
    prefix: str = Field(
        "homelab-hub", description="Every topic of hubs and workers is under PREFIX/ (see the README)."
    )
    name: str = Field(
        "hub",
        description="This hub's name on the broker; unique per hub (it makes the client id "
        "homelab-hub-NAME, whose session keeps alerts queued while the hub is down).",
    )
    keepalive_s: int = Field(
        10,
        ge=2,
        le=600,
        description="MQTT keepalive; a worker silent for 3x this is shown offline (the broker sends its "
        "will after 1.5x).",
    )
    protocol: Literal["5", "3.1.1"] = Field(
        "5", description="MQTT version; 5 reports refused publishes (an ACL) instead of dropping them."
    )

    @field_validator("prefix")
    @classmethod
    def _plain_prefix(cls, prefix: str) -> str:
        if not TOPIC_PREFIX.match(prefix):
            raise ValueError(
                f"prefix {prefix!r} must be topic levels of letters, digits, '_' or '-' joined by '/', "
                "e.g. 'homelab-hub' (no wildcards, no leading or trailing '/')"
            )
        return prefix

    @field_validator("name")
    @classmethod
    def _plain_name(cls, name: str) -> str:
        return check_node_name(name)

    @property
    def enabled(self) -> bool:
        return bool(self.host and self.host.strip())

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class WorkerConfig(Section):
    """A `homelab-hub worker`: which worker it is, its broker, its outbox and its Ollama."""

    name: str = Field(
        ..., description="This worker's name, as cameras name it in the hub's config (host = …)."
    )
    broker: BrokerConfig = Field(default_factory=BrokerConfig, description="The broker shared with the hub.")
    data_dir: Path = Field(
        Path("homelab-hub-worker"),
        description="The outbox database and alert images waiting for delivery.",
    )
    vision_url: str = Field(
        "http://127.0.0.1:11434", description="The Ollama this worker asks (usually the one on its machine)."
    )
    state_every_s: float = Field(5.0, gt=0, le=60, description="Seconds between state messages.")

    @field_validator("name")
    @classmethod
    def _plain_name(cls, name: str) -> str:
        return check_node_name(name, "worker name")
