"""One configuration tree: a TOML file plus ``HOMELAB_HUB_*`` environment overrides.

Loaded in ``main()`` by `load_config`, never at import. Every section forbids unknown keys
and every field carries a description (the README's settings reference and ``homelab-hub
init`` are generated from them; a test fails when one is missing). A bad value fails at
start with its key path, the value and what was expected.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from homelab_hub.cameras.settings import CameraMap, TranscriberConfig, VisionConfig
from homelab_hub.errors import ConfigError, problems
from homelab_hub.inference.config import InferenceConfig
from homelab_hub.memory.config import MemoryConfig
from homelab_hub.notify.config import NotifyConfig
from homelab_hub.redact import MASK, is_secret_name, redact_text
from homelab_hub.remote.config import BrokerConfig
from homelab_hub.section import Section
from homelab_hub.watchdog.config import WatchdogConfig

ENV_PREFIX = "HOMELAB_HUB_"


def is_loopback(host: str) -> bool:
    """True for the name ``localhost`` and any loopback address (127.0.0.0/8, ::1, and IPv4
    loopback mapped into IPv6), with or without IPv6 brackets. The one loopback test of the
    hub: binding, client addresses, Host and Origin headers all use it."""
    name = host.strip().removeprefix("[").removesuffix("]").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


class ServerConfig(Section):
    host: str = Field("127.0.0.1", description="Address to bind. Anything but loopback requires API tokens.")
    port: int = Field(8042, ge=1, le=65535, description="TCP port for MCP, REST and the web pages.")
    public_url: str | None = Field(
        None, description="URL clients use to reach the hub (for `claude-setup`); default http://host:port."
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Extra Host header values accepted (DNS-rebinding guard), e.g. ['hub.lan:8042', 'hub.lan:*']. "
        "Loopback names are always accepted.",
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Extra browser Origins accepted, e.g. ['http://hub.lan:8042']. The hub's own origin (the scheme, "
        "host and port its page was loaded from) is always accepted; other loopback ports are not.",
    )
    max_body_bytes: int = Field(
        2 * 1024 * 1024, ge=1024, description="Largest request body accepted; bigger bodies get 413."
    )
    data_dir: Path = Field(
        Path("data"),
        description="Directory for the SQLite database, indexes, images and logs (created 0700, files 0600).",
    )
    max_connections: int = Field(
        1000,
        ge=8,
        description="Open client connections kept at most; at the limit a new connection evicts the oldest one "
        "still sending its headers (slowloris). Capped at half the process's file-descriptor limit.",
    )
    header_timeout_s: float = Field(
        10.0,
        gt=0,
        description="A connection that has not sent a whole request head within this time is closed.",
    )
    session_hours: float = Field(
        168.0, gt=0, le=24 * 365, description="Lifetime of a browser session made on /login (default a week)."
    )
    body_timeout_s: float = Field(
        30.0, gt=0, description="A connection whose request body makes no progress for this long is closed."
    )
    max_streams: int = Field(
        256,
        ge=1,
        description="Live streams (camera WebSocket, MJPEG, MCP SSE) open at most, all callers together; "
        "kept below half of max_connections. One more is answered 429.",
    )
    max_streams_per_agent: int = Field(
        64, ge=1, description="Live streams one agent (token, or its browser sessions) may hold at once."
    )


class StorageConfig(Section):
    url: str = Field(
        "sqlite:///data/homelab-hub.db",
        description="Database URL: sqlite:///relative.db, sqlite:////abs/path.db or mysql+pymysql://user:pw@host:3306/db.",
    )


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    file: Path | None = Field(
        Path("data/logs/homelab-hub.log"),
        description="Log file (rotated, never truncated at start); empty for none.",
    )
    max_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="Rotate the log file at this size.")
    backups: int = Field(10, ge=1, description="Rotated log files kept.")


class SupervisorConfig(Section):
    heartbeat_timeout_s: float = Field(
        120.0, gt=0, description="A worker silent for this long is restarted (workers may ask for longer)."
    )
    backoff_initial_s: float = Field(
        1.0, gt=0, description="First restart delay; doubles after each restart."
    )
    backoff_max_s: float = Field(
        300.0, gt=0, description="Longest restart delay: a crashing worker is retried this often, forever."
    )
    max_restarts: int = Field(
        5,
        ge=1,
        description="Restarts within restart_window_s after which a worker is reported crash-looping "
        "(it is still restarted).",
    )
    restart_window_s: float = Field(600.0, gt=0, description="Window for max_restarts.")
    stable_s: float = Field(
        600.0,
        gt=0,
        description="A restarted worker that runs this long is recovered: its backoff starts again at "
        "backoff_initial_s and its last error is cleared (Kubernetes: 10 min).",
    )


class HubConfig(BaseSettings):
    """The whole configuration of one hub."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    server: ServerConfig = Field(default_factory=ServerConfig, description="HTTP server.")
    storage: StorageConfig = Field(default_factory=StorageConfig, description="Database.")
    logging: LoggingConfig = Field(default_factory=LoggingConfig, description="Logging.")
    supervisor: SupervisorConfig = Field(default_factory=SupervisorConfig, description="Worker supervision.")
    memory: MemoryConfig = Field(default_factory=MemoryConfig, description="Semantic memory.")
    cameras: CameraMap = Field(
        default_factory=dict, description="Cameras by name, e.g. [cameras.gate] url = 'rtsp://…'."
    )
    vision: VisionConfig = Field(
        default_factory=VisionConfig, description="Vision model shared by the cameras."
    )
    transcriber: TranscriberConfig = Field(
        default_factory=TranscriberConfig, description="Speech-to-text model for the cameras' audio."
    )
    watchdog: WatchdogConfig = Field(default_factory=WatchdogConfig, description="Self-healing watchdog.")
    inference: InferenceConfig = Field(default_factory=InferenceConfig, description="Inference hosts.")
    notify: NotifyConfig = Field(default_factory=NotifyConfig, description="Notifications.")
    broker: BrokerConfig = Field(
        default_factory=BrokerConfig,
        description="MQTT broker joining this hub to camera workers (cameras with host = …) and to other hubs.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file (passed in as init values); no .env magic.
        return (env_settings, init_settings)

    @property
    def is_loopback(self) -> bool:
        return is_loopback(self.server.host)


def find_config_file(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """--config, else HOMELAB_HUB_CONFIG, else ./homelab-hub.toml if present, else None."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if env:
        return Path(env)
    local = Path("homelab-hub.toml")
    return local if local.is_file() else None


def load_config(path: str | os.PathLike[str] | None = None, **overrides: Any) -> HubConfig:
    """Read the config file (if any) and the environment. Raises ConfigError."""
    file = find_config_file(path)
    data: dict[str, Any] = {}
    if file is not None:
        data = _read_toml(Path(file))
    _deep_update(data, overrides)
    try:
        return HubConfig(**data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source=str(file) if file else "environment")) from exc


def _read_toml(file: Path) -> dict[str, Any]:
    """The parsed file. Raises ConfigError with one line that never quotes the file's text:
    a UnicodeDecodeError carries the whole file in its arguments, and a reload once logged
    it, password included, as "Task exception was never retrieved"."""
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"config file {file} does not exist (run `homelab-hub init` to write one)"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"config file {file} is a directory, not a TOML file") from None
    except PermissionError:
        raise ConfigError(f"config file {file} cannot be read: permission denied") from None
    except OSError as exc:
        raise ConfigError(
            f"config file {file} cannot be read: {exc.strerror or type(exc).__name__}"
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"config file {file} is not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line}"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message names the line and column, never the text.
        raise ConfigError(f"config file {file} is not valid TOML: {exc}") from None


def format_validation_error(exc: ValidationError, *, source: str) -> str:
    lines = [f"invalid configuration ({source}):"]
    # A refused value may be a URL with a password in it: the message is redacted.
    for p in problems(exc, width=80):
        path = p.path or "(root)"
        # The value of a key named like a secret is never shown, even when the key is unknown.
        shown = MASK if any(is_secret_name(part) for part in path.split(".")) else p.shown
        if p.kind == "extra_forbidden":
            lines.append(
                f"  {path}: unknown setting (value {shown}); check the spelling against `homelab-hub init`"
            )
        else:
            lines.append(f"  {path}: got {shown}; expected {p.message.removeprefix('Value error, ')}")
    return redact_text("\n".join(lines))


def _deep_update(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_update(base[key], value)
        else:
            base[key] = value
