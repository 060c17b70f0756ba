"""A hub in this process and `homelab-hub worker`s in network namespaces, on a private broker."""

from __future__ import annotations

import sqlite3
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.cameras.clips import ClipSpec, write_clip
from tests.hubclient import RunningHub, hub_config
from tests.remote.netlab import NetLab, Node, PrivateMosquitto
from tests.support import free_port, wait_until

READER = {"open_timeout_s": 5, "stall_timeout_s": 4, "backoff_initial_s": 0.2, "backoff_max_s": 1.0}
KEEPALIVE_S = 2


@dataclass
class Worker:
    name: str
    node: Node
    data_dir: Path
    proc: Any = None

    def alerts(self) -> list[tuple[int, float]]:
        """(id, ts) of every alert in the worker's outbox database, by id."""
        db = self.data_dir / "outbox.db"
        if not db.exists():
            return []
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return [(int(i), float(t)) for i, t in conn.execute("SELECT id, ts FROM alerts ORDER BY id")]

    def delivered(self) -> int:
        db = self.data_dir / "outbox.db"
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute("SELECT v FROM worker_outbox WHERE k = 'delivered'").fetchone()
        return int(row[0]) if row else 0

    def instance(self) -> str:
        with sqlite3.connect(f"file:{self.data_dir / 'outbox.db'}?mode=ro", uri=True, timeout=5) as conn:
            return str(conn.execute("SELECT v FROM worker_outbox WHERE k = 'instance'").fetchone()[0])


@dataclass
class RemoteLab:
    tmp: Path
    lab: NetLab
    broker: PrivateMosquitto
    stack: ExitStack
    hub: RunningHub | None = None
    workers: dict[str, Worker] = field(default_factory=dict)

    def clip(self, name: str, seed: int = 0, seconds: int = 4) -> str:
        spec = ClipSpec("moving_object", width=320, height=180, fps=10, seconds=seconds, gop=10, seed=seed)
        return str(write_clip(self.tmp / f"{name}.mp4", spec))

    def camera(self, url: str, host: str | None = None, **extra: Any) -> dict[str, Any]:
        section: dict[str, Any] = {
            "url": url, "interval_s": 1.0, "reader": READER, "alerts": {"image_dir": str(self.tmp / "hub-alerts")},
            **extra,
        }  # fmt: skip
        if host:
            section["host"] = host
        return section

    def start_hub(self, cameras: dict[str, Any], **overrides: Any) -> RunningHub:
        broker = self.broker.config("hub", keepalive_s=KEEPALIVE_S).model_dump()
        config = hub_config(
            self.tmp,
            free_port(),
            {"memory": {"enabled": False}, "vision": {"enabled": False}, "cameras": cameras, "broker": broker,
             **overrides},
        )  # fmt: skip
        self.hub = RunningHub(config).start()
        return self.hub

    def add_worker(self, name: str, password: str | None = None) -> Worker:
        node = self.lab.add(name)
        worker = Worker(name, node, self.tmp / f"worker-{name}")
        self.workers[name] = worker
        return worker

    def start_worker(
        self, worker: Worker, *, password: str | None = None, vision_url: str | None = None
    ) -> Any:
        argv = [
            sys.executable, "-m", "homelab_hub.server.cli", "worker", "--name", worker.name,
            "--broker", worker.node.root_ip, "--port", str(self.broker.port), "--keepalive", str(KEEPALIVE_S),
            "--data-dir", str(worker.data_dir),
        ]  # fmt: skip
        if vision_url:
            argv += ["--vision-url", vision_url]
        secret = password if password is not None else self.broker.users[worker.name]
        worker.proc = self.lab.popen(worker.node, argv, env={"HOMELAB_HUB_WORKER_PASSWORD": secret})
        return worker.proc

    def start_vision(self, worker: Worker, answer: str) -> str:
        """The stand-in vision model on the worker's own machine (its namespace), answering
        ``answer`` to every image; returns its URL as the worker sees it."""
        port = 11434
        self.lab.popen(worker.node, [sys.executable, "-m", "tests.fakes.vision_process", str(port), answer])
        wait_until(
            lambda: self.lab.can_connect(worker.node, "127.0.0.1", port), timeout=20, what="the vision model"
        )
        return f"http://127.0.0.1:{port}"

    def rest(self, tool: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        assert self.hub is not None
        response = self.hub.rest(tool, args or {})
        assert response.status_code == 200, response.text
        return response.json()

    def camera_row(self, name: str) -> dict[str, Any]:
        rows = self.rest("camera_list")["cameras"]
        return next(r for r in rows if r["name"] == name)

    def hub_alerts(self) -> list[tuple[int, str]]:
        """(id, origin) of the hub's alerts from workers, by id."""
        assert self.hub is not None
        rows = self.hub.services.db.query(
            "SELECT id, origin FROM alerts WHERE origin IS NOT NULL ORDER BY id"
        )
        return [(int(r["id"]), str(r["origin"])) for r in rows]

    def wait_online(self, camera: str, timeout: float = 40.0) -> dict[str, Any]:
        return wait_until(
            lambda: (row := self.camera_row(camera))["state"] == "ok" and row,
            timeout=timeout,
            what=f"remote camera {camera} ok at the hub",
        )


def elapsed(since: float) -> float:
    return round(time.monotonic() - since, 2)
