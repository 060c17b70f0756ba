"""``homelab-hub worker``: the cameras of one machine, run near them, reporting to the hub.

A lean process: no embedding model, no web pages, no database server. It connects to the
broker as WORKER (the broker's ACL lets it publish only under ``PREFIX/from/WORKER/`` and
read only ``PREFIX/to/WORKER/``) and runs exactly the cameras the hub's config assigns to it
(``host = "WORKER"``), received as a retained config message, through the same
`CameraManager` as the hub's own cameras: reader, motion, zones, the vision call to the
Ollama this worker is configured with, and audio if enabled.

- A new config applies at once: a camera whose zones alone changed keeps streaming and takes
  the zones from its next sample; other changes restart only the cameras changed.
- Alerts go through the `Outbox`: stored in SQLite first, sent in order once the broker
  acknowledges, so a cut link or a restart loses none.
- Live frames are encoded only while the hub asks (its requests expire after ``ttl_s``), once
  per camera and width whatever the number of viewers at the hub.
- State (online, each camera's status, the outbox) is published, retained, every few
  seconds; the broker publishes the retained ``offline`` will when the link dies.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from homelab_hub import __version__
from homelab_hub.cameras import schema as camera_schema
from homelab_hub.cameras.audio.transcriber import WORKER_NAME as TRANSCRIBER_WORKER
from homelab_hub.cameras.detect.pipeline import PipelineDeps
from homelab_hub.cameras.detect.vision import VisionClassifier
from homelab_hub.cameras.settings import CameraConfig, TranscriberConfig, VisionConfig
from homelab_hub.cameras.stream.live import Viewer, split_message
from homelab_hub.cameras.stream.manager import CameraManager
from homelab_hub.cameras.zones.store import ZoneStore
from homelab_hub.config import SupervisorConfig
from homelab_hub.errors import ConfigError, HubError
from homelab_hub.notify.bus import NotificationBus
from homelab_hub.remote.config import WorkerConfig
from homelab_hub.remote.link import BrokerLink, Message
from homelab_hub.remote.outbox import Outbox, OutboxAlertStore
from homelab_hub.remote.wire import Topics, WireError, dump_json, load_json, pack
from homelab_hub.store import Database
from homelab_hub.store.migrations import migrate
from homelab_hub.supervisor import Supervisor

log = logging.getLogger(__name__)

_LIVE_TTL_MAX_S = 30.0


@dataclass
class _LiveWatch:
    topic: str
    expires: float
    fps: float
    viewer: Viewer = field(init=False)


class WorkerNode:
    def __init__(self, config: WorkerConfig, *, supervisor: SupervisorConfig | None = None) -> None:
        """Raises ConfigError (no broker, an unusable data folder)."""
        if not config.broker.enabled:
            raise ConfigError("worker: no broker; pass --broker HOST (the hub's [broker] host)")
        self.config = config
        self.name = config.name
        self.topics = Topics(config.broker.prefix)
        data = config.data_dir.expanduser().resolve()
        try:
            (data / "images").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"worker: cannot use the data folder {data}: {exc}") from None
        self.data_dir = data
        self.db = Database.from_url(f"sqlite:///{data / 'outbox.db'}")
        migrate(self.db, camera_schema.MIGRATIONS)
        self.store = OutboxAlertStore(self.db)
        self.bus = NotificationBus()  # notifications are the hub's: it sends them as alerts arrive
        self.supervisor = Supervisor(supervisor or SupervisorConfig())
        # The will: the broker says this when the link dies without a goodbye.
        will = dump_json(
            {"state": "offline", "name": self.name, "reason": "link lost", "version": __version__}
        )
        self.link = BrokerLink(
            config.broker,
            client_id=f"homelab-hub-worker-{self.name}",
            label=f"worker {self.name}",
            will=(self.topics.state(self.name), will),
            on_connect=self._connected,
        )
        self.outbox = Outbox(self.db, self.store, self.link, self.topics, self.name)
        self.deps = PipelineDeps(alerts=self.store, zones=ZoneStore(self.db), classifier=None, bus=self.bus)
        self.manager = CameraManager({}, deps=self.deps, supervisor=self.supervisor)
        self._vision: VisionConfig | None = None
        self._transcriber: TranscriberConfig | None = None
        self.config_rev = ""
        self.config_error = ""
        self._configs: queue.Queue[dict[str, Any]] = queue.Queue()
        self._live: dict[tuple[str, int], _LiveWatch] = {}
        self._live_lock = threading.Lock()
        self._snapshots = ThreadPoolExecutor(max_workers=2, thread_name_prefix="snapshot")
        self._state_due = threading.Event()
        self.stop_event = threading.Event()

    # -- life cycle ---------------------------------------------------------------------------
    def run(self) -> None:
        """Until `stop`: apply configs, publish state, expire live requests."""
        self.link.subscribe(self.topics.config(self.name), self._on_config)
        self.link.subscribe(self.topics.live_request(self.name), self._on_live, qos=0)
        self.link.subscribe(self.topics.snapshot_request(self.name), self._on_snapshot)
        self.supervisor.add(self.outbox.name, lambda: self.outbox)
        self.supervisor.start()
        self.link.start()
        log.info(
            "worker %s: broker %s, outbox %s (%d alert(s) waiting)",
            self.name, self.config.broker.address, self.data_dir, self.outbox.pending()[0],
        )  # fmt: skip
        every = min(self.config.state_every_s, float(self.config.broker.keepalive_s))
        next_state = 0.0
        try:
            while not self.stop_event.is_set():
                try:
                    update = self._configs.get(timeout=0.25)
                except queue.Empty:
                    update = None
                if update is not None:
                    while not self._configs.empty():  # only the newest matters
                        update = self._configs.get_nowait()
                    self.apply(update)
                    next_state = 0.0
                self._expire_live()
                if self._state_due.is_set() or time.monotonic() >= next_state:
                    self._state_due.clear()
                    self.publish_state()
                    next_state = time.monotonic() + every
        finally:
            self.close()

    def stop(self) -> None:
        self.stop_event.set()

    def close(self) -> None:
        """Say goodbye (a retained offline state), stop the cameras and the sender."""
        with self._live_lock:
            watches, self._live = list(self._live.values()), {}
        for watch in watches:
            self.manager.live.drop(watch.viewer)
        self.manager.close()
        self.supervisor.stop()
        self._snapshots.shutdown(wait=False, cancel_futures=True)
        self.link.publish_acked(
            self.topics.state(self.name),
            dump_json({"state": "offline", "name": self.name, "reason": "stopped", "ts": time.time()}),
            timeout=2.0,
            retain=True,
        )
        self.link.close()
        if self.deps.classifier is not None:
            self.deps.classifier.close()
        self.db.close()

    def _connected(self) -> None:
        self._state_due.set()

    # -- config from the hub ------------------------------------------------------------------
    def _on_config(self, message: Message) -> None:
        try:
            self._configs.put(load_json(message.payload))
        except WireError as exc:
            self.config_error = f"unreadable config message: {exc}"
            log.error("worker %s: %s", self.name, self.config_error)

    def apply(self, update: dict[str, Any]) -> None:
        """Run the cameras this config gives the worker (a bad one changes nothing)."""
        try:
            cameras = {
                name: self._localize(CameraConfig.model_validate(raw))
                for name, raw in dict(update.get("cameras") or {}).items()
            }
            vision = VisionConfig.model_validate(
                {**dict(update.get("vision") or {}), "url": self.config.vision_url}
            )
            transcriber = TranscriberConfig.model_validate(dict(update.get("transcriber") or {}))
        except (ValidationError, TypeError, ValueError) as exc:
            self.config_error = f"config {update.get('rev', '?')} refused: {str(exc)[:400]}"
            log.error("worker %s: %s", self.name, self.config_error)
            self._state_due.set()
            return
        new_deps = None
        if vision != self._vision:
            classifier = VisionClassifier(vision) if vision.enabled else None
            new_deps = PipelineDeps(
                alerts=self.store, zones=self.deps.zones, classifier=classifier, bus=self.bus
            )
            self._vision = vision
        if transcriber != self._transcriber or new_deps is not None:
            self._transcriber = transcriber
            self._set_transcriber(cameras, transcriber, new_deps or self.deps)
        elif any(c.audio.enabled for c in cameras.values()) and self.manager.transcriber is None:
            self._set_transcriber(cameras, transcriber, self.deps)
        self._zones_in_place(cameras)
        old = self.deps
        result = self.manager.reload(cameras, deps=new_deps)
        if new_deps is not None:
            self.deps = new_deps
            if old.classifier is not None:
                old.classifier.close()
        self.config_rev = str(update.get("rev", ""))
        self.config_error = ""
        log.info(
            "worker %s: config %s: cameras added %s, changed %s, removed %s",
            self.name, self.config_rev, result.added, result.changed, result.removed,
        )  # fmt: skip

    def _localize(self, camera: CameraConfig) -> CameraConfig:
        """The hub's camera section as this machine runs it: alert files in the outbox folder."""
        alerts = camera.alerts.model_copy(update={"image_dir": self.data_dir / "images"})
        return camera.model_copy(update={"alerts": alerts})

    def _zones_in_place(self, cameras: dict[str, CameraConfig]) -> None:
        """A camera whose zones alone changed keeps its stream: its pipeline takes the new
        zones from the next sample (a drawn zone silences motion at once, no reconnect)."""
        for name in self.manager.names():
            new = cameras.get(name)
            if new is None:
                continue
            runtime = self.manager.runtime(name)
            if runtime.camera != new and runtime.camera.model_copy(update={"zones": new.zones}) == new:
                runtime.pipeline.update_zones(list(new.zones))
                runtime.camera = new

    def _set_transcriber(
        self, cameras: dict[str, CameraConfig], config: TranscriberConfig, deps: PipelineDeps
    ) -> None:
        from homelab_hub.cameras.audio.speech import SpeechModel
        from homelab_hub.cameras.audio.transcriber import Transcriber, TranscriberWorker

        self.supervisor.remove(TRANSCRIBER_WORKER)
        if not any(c.enabled and c.audio.enabled for c in cameras.values()):
            self.manager.set_transcriber(None)
            return
        try:
            model = SpeechModel(config)
        except ConfigError as exc:
            self.manager.audio_error = exc.message
            log.error("worker %s: %s; cameras read video only", self.name, exc.message)
            self.manager.set_transcriber(None)
            return
        transcriber = Transcriber(config, model, alerts=self.store, bus=deps.bus)
        self.manager.audio_error = ""
        self.manager.set_transcriber(transcriber)
        self.supervisor.add(TRANSCRIBER_WORKER, lambda: TranscriberWorker(transcriber))

    # -- state --------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        cameras: dict[str, Any] = {}
        for name in self.manager.names():
            try:
                status = self.manager.status(name)
            except HubError:
                continue
            entry = status.public()
            last = self.manager.runtime(name).last_sample
            if last is not None and len(last.frame_shape) >= 2:
                entry["frame"] = [int(last.frame_shape[1]), int(last.frame_shape[0])]
                entry["boxes"] = [list(b) for b in last.result.boxes]
                entry["sample_ts"] = last.ts
            cameras[name] = entry
        try:
            waiting, oldest = self.outbox.pending()
        except HubError:
            waiting, oldest = -1, None
        return {
            "state": "online",
            "name": self.name,
            "version": __version__,
            "ts": time.time(),
            "pid": os.getpid(),
            "keepalive_s": self.config.broker.keepalive_s,
            "config_rev": self.config_rev,
            "config_error": self.config_error,
            "audio_error": self.manager.audio_error,
            "outbox": {"pending": waiting, "oldest_ts": oldest, "sent": self.outbox.sent,
                       "error": self.outbox.last_error},
            "cameras": cameras,
        }  # fmt: skip

    def publish_state(self) -> None:
        self.link.publish(self.topics.state(self.name), dump_json(self.state()), qos=1, retain=True)

    # -- live frames --------------------------------------------------------------------------
    def _on_live(self, message: Message) -> None:
        try:
            req = load_json(message.payload)
            camera, width = str(req["camera"]), int(req["width"])
            fps, ttl = float(req.get("fps", 2.0)), float(req.get("ttl_s", 6.0))
        except (WireError, KeyError, TypeError, ValueError) as exc:
            log.warning("worker %s: unreadable live request: %s", self.name, exc)
            return
        ttl = min(max(ttl, 1.0), _LIVE_TTL_MAX_S)
        key = (camera, width)
        with self._live_lock:
            watch = self._live.get(key)
            if watch is not None:
                watch.expires = time.monotonic() + ttl
                if fps == watch.fps:
                    return
                watch.fps = fps
            else:
                watch = _LiveWatch(self.topics.live(self.name, camera, width), time.monotonic() + ttl, fps)
                watch.viewer = Viewer(lambda: self._send_live(watch))
                self._live[key] = watch
        try:
            self.manager.live.subscribe(watch.viewer, camera, fps=fps, width=width)
        except HubError as exc:
            log.info("worker %s: live request for %s refused: %s", self.name, camera, exc.message)
            with self._live_lock:
                self._live.pop(key, None)

    def _send_live(self, watch: _LiveWatch) -> None:
        """The viewer's wake (the encoder's thread): its new frame goes to the broker."""
        _, frames = watch.viewer.take()
        for _, message in frames:
            self.link.publish(watch.topic, split_message(message)[1], qos=0)

    def _expire_live(self) -> None:
        now = time.monotonic()
        with self._live_lock:
            gone = [k for k, w in self._live.items() if w.expires < now]
            watches = [self._live.pop(k) for k in gone]
        for watch in watches:
            self.manager.live.drop(watch.viewer)

    # -- snapshots ----------------------------------------------------------------------------
    def _on_snapshot(self, message: Message) -> None:
        try:
            req = load_json(message.payload)
            request_id = str(req["id"])
        except (WireError, KeyError) as exc:
            log.warning("worker %s: unreadable snapshot request: %s", self.name, exc)
            return
        if not request_id.isalnum() or len(request_id) > 64:
            return
        self._snapshots.submit(self._snapshot, request_id, req)

    def _snapshot(self, request_id: str, req: dict[str, Any]) -> None:
        topic = self.topics.snapshot(self.name, request_id)
        try:
            snap = self.manager.snapshot_jpeg(
                str(req.get("camera", "")), bool(req.get("annotated", False)),
                quality=min(95, max(30, int(req.get("quality", 85)))),
            )  # fmt: skip
        except HubError as exc:
            self.link.publish(topic, pack({"ok": False, "error": exc.message}), qos=1)
            return
        except (TypeError, ValueError) as exc:
            self.link.publish(topic, pack({"ok": False, "error": f"bad request: {exc}"}), qos=1)
            return
        header = {"ok": True, "ts": snap.ts, "width": snap.width, "height": snap.height,
                  "boxes": [list(b) for b in snap.boxes]}  # fmt: skip
        self.link.publish(topic, pack(header, snap.jpeg), qos=1)
