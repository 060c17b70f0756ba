"""``homelab-hub worker``: run the cameras the hub assigns to this machine (see `node`)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from homelab_hub.errors import ConfigError, problems

PASSWORD_ENV = "HOMELAB_HUB_WORKER_PASSWORD"


def register(sub: Any) -> None:
    worker = sub.add_parser(
        "worker",
        help="run this machine's cameras for a hub, over its MQTT broker (cameras with host = NAME)",
        description="Runs the cameras whose section in the hub's config says host = NAME: reading, motion, "
        "zones, the vision model, audio. Alerts wait in a local outbox until the broker has them. The "
        f"password comes from --password-file or ${PASSWORD_ENV}, never from the command line.",
    )
    worker.add_argument("--config", help="a TOML file with a [worker] table (these options' names)")
    worker.add_argument("--name", help="this worker's name, as the hub's cameras name it (host = NAME)")
    worker.add_argument("--broker", help="the broker's address (the hub's [broker] host)")
    worker.add_argument("--port", type=int, help="the broker's port (default 1883)")
    worker.add_argument("--username", help="user name at the broker (default: the worker's name)")
    worker.add_argument("--password-file", help="a file holding the broker password")
    worker.add_argument("--prefix", help="topic prefix, as the hub's [broker] prefix (default homelab-hub)")
    worker.add_argument("--keepalive", type=int, help="the MQTT keepalive in seconds (default 10)")
    worker.add_argument(
        "--data-dir", help="the outbox and waiting alert images (default ./homelab-hub-worker)"
    )
    worker.add_argument("--vision-url", help="the Ollama this worker asks (default http://127.0.0.1:11434)")
    worker.add_argument(
        "--log-level", default="INFO", help="how much to log: DEBUG, INFO, WARNING (default INFO)"
    )
    worker.set_defaults(func=cmd_worker)


def worker_config(args: argparse.Namespace) -> Any:
    """The worker's settings from --config, then the flags. Raises ConfigError."""
    from homelab_hub.remote.config import WorkerConfig

    data: dict[str, Any] = {}
    if args.config:
        try:
            data = dict(tomllib.loads(Path(args.config).read_text(encoding="utf-8")).get("worker", {}))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"worker: cannot read {args.config}: {exc}") from None
    broker = dict(data.pop("broker", {}) or {})
    for key, flag in (("name", args.name), ("data_dir", args.data_dir), ("vision_url", args.vision_url)):
        if flag is not None:
            data[key] = flag
    for key, flag in (
        ("host", args.broker), ("port", args.port), ("username", args.username), ("prefix", args.prefix),
        ("keepalive_s", args.keepalive),
    ):  # fmt: skip
        if flag is not None:
            broker[key] = flag
    if args.password_file:
        try:
            broker["password"] = Path(args.password_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"worker: cannot read the password file {args.password_file}: {exc}") from None
    elif os.environ.get(PASSWORD_ENV):
        broker["password"] = os.environ[PASSWORD_ENV]
    if "name" not in data:
        raise ConfigError(
            "worker: give it a name (--name garage-pi), as the hub's cameras name it (host = …)"
        )
    broker.setdefault("username", data["name"])
    if not broker.get("host"):
        raise ConfigError(
            "worker: give the broker's address (--broker 192.168.1.10), as in the hub's [broker]"
        )
    data["broker"] = broker
    try:
        return WorkerConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("worker: " + "; ".join(f"{p.path}: {p.message}" for p in problems(exc))) from None


def cmd_worker(args: argparse.Namespace) -> int:
    from homelab_hub.remote.node import WorkerNode

    config = worker_config(args)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    node = WorkerNode(config)

    def stop(signum: int, frame: Any) -> None:
        node.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(
        f"homelab-hub worker {config.name}: broker {config.broker.address}, data {node.data_dir}",
        file=sys.stderr,
    )
    node.run()
    return 0
