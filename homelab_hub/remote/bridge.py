"""The hub's side of remote cameras: workers' states, their cameras' config, frames and alerts.

One `RemoteCameras` per hub, on the hub's broker link. It

- publishes each worker's config (its cameras, with the zones the hub's zone store holds, and
  the shared [vision] and [transcriber] settings), retained, whenever it changes: at start,
  on a reload, after a zone edit;
- follows each worker's retained state: a worker is *reachable* while it says online and was
  heard within 2x its keepalive (it speaks at least once per keepalive); its last will, or
  silence, makes its cameras
  ``offline: worker W unreachable since …``;
- stores every alert a worker sends once (by its origin id), acknowledging it to the broker
  only once stored (so a database outage delays alerts, never drops them), in the order sent,
  then notifies as for a local alert;
- relays live frames (`RemoteFeed`: the hub asks while someone watches) and snapshots.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from homelab_hub.cameras.alerts.store import AlertStore, RemoteAlert
from homelab_hub.cameras.stream.live import capture_time
from homelab_hub.errors import HubError, StorageUnavailable, Unavailable
from homelab_hub.notify.bus import CameraAlert, NotificationBus
from homelab_hub.remote.link import BrokerLink, Message
from homelab_hub.remote.wire import Topics, WireError, dump_json, load_json, unpack

if TYPE_CHECKING:
    from homelab_hub.cameras.settings import CameraConfig, TranscriberConfig, VisionConfig, ZoneConfig

log = logging.getLogger(__name__)

ZoneLookup = Callable[[str, "CameraConfig"], "list[ZoneConfig]"]
_LIVE_TTL_S = 6.0
_LIVE_REFRESH_S = 2.0
_STORE_RETRY_S = 1.0


def clock(ts: float) -> str:
    """A wall time for a person: HH:MM:SS today, else the date too."""
    local = time.localtime(ts)
    if time.strftime("%Y-%m-%d", local) == time.strftime("%Y-%m-%d"):
        return time.strftime("%H:%M:%S", local)
    return time.strftime("%Y-%m-%d %H:%M:%S", local)


@dataclass
class WorkerView:
    """What the hub knows of one worker."""

    name: str
    state: dict[str, Any] = field(default_factory=dict)
    online: bool = False
    heard_at: float | None = None  # wall time of its last message
    lost_at: float | None = None  # when the hub saw it go (its will, or silence)
    published_rev: str = ""
    republished_at: float = 0.0

    def keepalive_s(self, default: float) -> float:
        try:
            return float(self.state.get("keepalive_s") or default)
        except (TypeError, ValueError):
            return default


@dataclass(frozen=True)
class Link:
    """A worker's link state, as camera_list and health show it."""

    reachable: bool
    summary: str  # "connected" / "unreachable since 14:02:11" / "never connected"

    def reason(self, worker: str) -> str:
        return f"worker {worker} {self.summary}"


class RemoteFeed:
    """Live JPEGs of one remote camera at one width, as a worker sends them while asked."""

    def __init__(self, bridge: RemoteCameras, worker: str, camera: str, width: int) -> None:
        self.bridge = bridge
        self.worker = worker
        self.camera = camera
        self.width = width
        self._cond = threading.Condition()
        self._latest: tuple[bytes, float, int] | None = None
        self._seq = 0
        self._asked_at = 0.0
        self._asked_fps = 0.0
        self.received = 0

    @property
    def reachable(self) -> bool:
        return self.bridge.link_state(self.worker).reachable

    def want(self, fps: float) -> None:
        """Keep the worker sending (a request every 2 s; each lasts 6 s)."""
        now = time.monotonic()
        if now - self._asked_at < _LIVE_REFRESH_S and fps == self._asked_fps:
            return
        self._asked_at, self._asked_fps = now, fps
        request = {"camera": self.camera, "width": self.width, "fps": fps, "ttl_s": _LIVE_TTL_S}
        self.bridge.link.publish(self.bridge.topics.live_request(self.worker), dump_json(request), qos=0)

    def push(self, jpeg: bytes) -> None:
        ts = capture_time(jpeg) or time.time()
        with self._cond:
            self._seq += 1
            self.received += 1
            self._latest = (jpeg, ts, self._seq)
            self._cond.notify_all()

    def wait_newer(self, seq: int, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._seq > seq, timeout)

    def latest(self) -> tuple[bytes, float, int] | None:
        with self._cond:
            return self._latest


@dataclass(frozen=True)
class RemoteSnapshot:
    jpeg: bytes
    ts: float
    width: int
    height: int
    boxes: list[tuple[int, int, int, int]]


class RemoteCameras:
    def __init__(
        self,
        link: BrokerLink,
        *,
        alerts: AlertStore,
        bus: NotificationBus | None,
        zones: ZoneLookup,
    ) -> None:
        self.link = link
        self.topics = Topics(link.config.prefix)
        self.alerts = alerts
        self.bus = bus
        self.zones = zones
        self.started_at = time.time()
        self._lock = threading.Lock()
        self._workers: dict[str, WorkerView] = {}
        self._cameras: dict[str, CameraConfig] = {}
        self._shared: dict[str, Any] = {}
        self._feeds: dict[tuple[str, int], RemoteFeed] = {}
        self._replies: dict[str, tuple[threading.Event, list[Any]]] = {}
        self._inbox: queue.Queue[Message | None] = queue.Queue()
        self.stored = 0
        self.duplicates = 0
        self.suppressed = 0
        self.store_error = ""
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._store_loop, name="remote-alerts", daemon=True)

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        t = self.topics
        self.link.subscribe(t.all_from_workers("state"), self._on_state)
        self.link.subscribe(t.all_from_workers("alert"), self._on_alert, acks=True)
        self.link.subscribe(t.all_from_workers("live/#"), self._on_live, qos=0)
        self.link.subscribe(t.all_from_workers("snapshot/#"), self._on_snapshot)
        self._thread.start()

    def on_connect(self) -> None:
        """The link (re)connected: publish every worker's config again (retained anyway;
        this covers a broker that lost its store)."""
        self.publish_configs(force=True)

    def close(self) -> None:
        self._closed.set()
        self._inbox.put(None)
        self._thread.join(5.0)

    # -- config -------------------------------------------------------------------------------
    def set_cameras(
        self, cameras: Mapping[str, CameraConfig], *, vision: VisionConfig, transcriber: TranscriberConfig
    ) -> None:
        """The hub's camera sections: publish the configs of workers whose share changed."""
        remote = {n: c for n, c in cameras.items() if c.host}
        with self._lock:
            self._cameras = remote
            self._shared = {
                "vision": vision.model_dump(mode="json", exclude={"url", "review"}),
                "transcriber": transcriber.model_dump(mode="json"),
            }
            for camera in remote.values():
                assert camera.host is not None
                self._workers.setdefault(camera.host, WorkerView(camera.host))
        if self.bus is not None:
            for name in remote:
                self.bus.add_camera(name)
        self.publish_configs()

    def hosts(self) -> list[str]:
        with self._lock:
            return sorted({c.host for c in self._cameras.values() if c.host} | set(self._workers))

    def worker_config(self, worker: str) -> dict[str, Any]:
        with self._lock:
            mine = {n: c for n, c in self._cameras.items() if c.host == worker}
            shared = dict(self._shared)
        cameras: dict[str, Any] = {}
        for name, camera in sorted(mine.items()):
            data = camera.model_dump(mode="json", exclude={"host"})
            try:
                data["zones"] = [z.model_dump(mode="json") for z in self.zones(name, camera)]
            except HubError as exc:  # the zone store is away: the config's zones meanwhile
                log.warning("remote: zones of %s not read (%s); sending the config's", name, exc.message)
            cameras[name] = data
        body = {"cameras": cameras, **shared}
        rev = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
        return {"rev": rev, **body}

    def publish_configs(self, force: bool = False, only: str | None = None) -> None:
        for worker in self.hosts():
            if only is not None and worker != only:
                continue
            payload = self.worker_config(worker)
            with self._lock:
                view = self._workers.setdefault(worker, WorkerView(worker))
                if view.published_rev == payload["rev"] and not force:
                    continue
            topic = self.topics.config(worker)
            if self.link.publish(topic, dump_json(payload), qos=1, retain=True):
                with self._lock:
                    view.published_rev = payload["rev"]

    def zones_changed(self, camera: str) -> None:
        """A zone edit on the hub: the camera's worker gets it now."""
        with self._lock:
            config = self._cameras.get(camera)
        if config is not None and config.host:
            self.publish_configs(only=config.host)

    # -- states -------------------------------------------------------------------------------
    def _on_state(self, message: Message) -> None:
        parsed = self.topics.parse_from(message.topic)
        if parsed is None:
            return
        worker = parsed[0]
        try:
            state = load_json(message.payload)
        except WireError as exc:
            log.warning("remote: unreadable state from worker %s: %s", worker, exc)
            return
        online = state.get("state") == "online"
        now = time.time()
        with self._lock:
            view = self._workers.setdefault(worker, WorkerView(worker))
            was = view.online
            view.state = state
            if online:
                try:
                    sent = float(state.get("ts") or now)
                except (TypeError, ValueError):
                    sent = now
                # A retained state seen at start-up is only as fresh as it says.
                view.heard_at = min(now, sent) if message.retain else now
                view.online = True
                view.lost_at = None
            else:
                view.online = False
                if view.lost_at is None:
                    view.lost_at = (
                        now if not message.retain else float(state.get("ts") or view.heard_at or now)
                    )
            # It runs an older config (it was away when it changed, and the broker lost the
            # retained one): say it again, at most every 30 s, and not to a worker that refused it.
            republish = (
                online and not message.retain and not state.get("config_error")
                and state.get("config_rev") != view.published_rev and now - view.republished_at > 30
            )  # fmt: skip
            if republish:
                view.republished_at = now
        if online and not was:
            log.info("remote: worker %s is online", worker)
        elif was and not online:
            log.warning("remote: worker %s went offline (%s)", worker, state.get("reason", "no reason"))
        if republish and view.published_rev:
            # It runs an older config (it was away when it changed): retained, it has it
            # already unless the broker lost it; say it again.
            self.publish_configs(force=True, only=worker)

    def link_state(self, worker: str) -> Link:
        now = time.time()
        if not self.link.connected.is_set():
            lost = self.link.disconnected_since
            when = f" since {clock(lost)}" if lost else ""
            return Link(False, f"unreachable: the hub lost the broker {self.link.config.address}{when}")
        with self._lock:
            view = self._workers.get(worker)
            if view is None or view.heard_at is None:
                since = clock(self.started_at)
                return Link(
                    False,
                    f"has not connected to the broker {self.link.config.address} (waiting since {since})",
                )
            # A live worker says something at least every keepalive: two missed are enough.
            deadline = 2 * view.keepalive_s(self.link.config.keepalive_s)
            if view.online and now - view.heard_at <= deadline:
                return Link(True, "connected")
            lost = view.lost_at if view.lost_at is not None else view.heard_at
            return Link(False, f"unreachable since {clock(lost)}")

    def worker_state(self, worker: str) -> dict[str, Any]:
        with self._lock:
            view = self._workers.get(worker)
            return dict(view.state) if view is not None else {}

    def camera_state(self, camera: str, worker: str) -> dict[str, Any] | None:
        """The camera's status as its worker last reported it (None before it runs it)."""
        cameras = self.worker_state(worker).get("cameras")
        if isinstance(cameras, dict) and isinstance(cameras.get(camera), dict):
            return dict(cameras[camera])
        return None

    def workers(self) -> dict[str, tuple[Link, dict[str, Any]]]:
        """Every worker the hub knows (configured or seen), its link and last state."""
        return {w: (self.link_state(w), self.worker_state(w)) for w in self.hosts()}

    # -- alerts -------------------------------------------------------------------------------
    def _on_alert(self, message: Message) -> None:
        self._inbox.put(message)  # stored in order by one thread; acknowledged once stored

    def _store_loop(self) -> None:
        while not self._closed.is_set():
            message = self._inbox.get()
            if message is None:
                return
            while not self._closed.is_set():
                try:
                    self._store(message)
                except StorageUnavailable as exc:
                    # Not acknowledged: it stays ours (and the broker's) until stored.
                    if exc.message != self.store_error:
                        log.warning("remote: alert waits for the database: %s", exc.message)
                    self.store_error = exc.message
                    self._closed.wait(_STORE_RETRY_S)
                    continue
                except Exception:  # a bad alert must not block the ones after it
                    log.exception("remote: an alert on %s could not be stored; dropped", message.topic)
                self.store_error = ""
                self.link.ack(message)
                break

    def _store(self, message: Message) -> None:
        parsed = self.topics.parse_from(message.topic)
        if parsed is None:
            return
        worker = parsed[0]
        try:
            header, parts = unpack(message.payload)
            alert = _remote_alert(header, parts)
        except (WireError, KeyError, TypeError, ValueError) as exc:
            log.warning("remote: unreadable alert from worker %s: %s", worker, exc)
            return
        if not alert.origin.startswith(f"{worker}:"):
            log.warning(
                "remote: worker %s sent an alert of another origin (%s); dropped", worker, alert.origin
            )
            return
        with self._lock:
            camera = self._cameras.get(alert.camera)
        if camera is None or camera.host != worker:
            log.warning(
                "remote: worker %s sent an alert for camera %r, which is not its", worker, alert.camera
            )
            return
        cfg = camera.alerts
        if alert.verdict == "ALERT" and alert.kind == "visual":
            pattern = self.alerts.suppressed_by(alert.camera, alert.description, cfg.suppress)
            if pattern is not None:
                self.suppressed += 1
                log.info("camera %s: alert suppressed by %r: %s", alert.camera, pattern, alert.description)
                return
        record = self.alerts.ingest(alert, cfg)
        if record is None:
            self.duplicates += 1
            return
        self.stored += 1
        if cfg.notify and record.verdict == "ALERT" and self.bus is not None:
            self.bus.camera_alert(
                CameraAlert(
                    record.camera, record.description, record.ts, record.id, record.image_path,
                    kind=record.kind, transcript=record.transcript, clip_path=record.clip_path,
                )
            )  # fmt: skip

    # -- live and snapshots -------------------------------------------------------------------
    def feed(self, camera: str, worker: str, width: int) -> RemoteFeed:
        with self._lock:
            feed = self._feeds.get((camera, width))
            if feed is None or feed.worker != worker:
                feed = RemoteFeed(self, worker, camera, width)
                self._feeds[(camera, width)] = feed
            return feed

    def _on_live(self, message: Message) -> None:
        parsed = self.topics.parse_from(message.topic)
        if parsed is None or len(parsed[1]) != 3:
            return
        worker, (_, camera, width) = parsed[0], parsed[1]
        try:
            key = (camera, int(width))
        except ValueError:
            return
        with self._lock:
            feed = self._feeds.get(key)
        if feed is not None and feed.worker == worker:
            feed.push(message.payload)

    def snapshot(
        self, camera: str, worker: str, *, annotated: bool = False, quality: int = 85, timeout: float = 5.0
    ) -> RemoteSnapshot:
        """Ask the worker for a JPEG. Raises Unavailable (unreachable, no answer, no frame)."""
        link = self.link_state(worker)
        if not link.reachable:
            raise Unavailable(f"camera {camera!r} has no frame: {link.reason(worker)}")
        request_id = uuid.uuid4().hex[:16]
        done = threading.Event()
        box: list[Any] = []
        with self._lock:
            self._replies[request_id] = (done, box)
        try:
            request = {"id": request_id, "camera": camera, "annotated": annotated, "quality": quality}
            self.link.publish(self.topics.snapshot_request(worker), dump_json(request), qos=1)
            if not done.wait(timeout):
                raise Unavailable(
                    f"camera {camera!r}: its worker {worker} did not send a frame in {timeout:.0f} s"
                )
        finally:
            with self._lock:
                self._replies.pop(request_id, None)
        header, parts = box[0]
        if not header.get("ok") or not parts:
            raise Unavailable(str(header.get("error") or f"camera {camera!r}: its worker sent no frame"))
        boxes = [(int(b[0]), int(b[1]), int(b[2]), int(b[3])) for b in header.get("boxes") or []]
        return RemoteSnapshot(
            parts[0], float(header.get("ts") or time.time()), int(header.get("width") or 0),
            int(header.get("height") or 0), boxes,
        )  # fmt: skip

    def _on_snapshot(self, message: Message) -> None:
        parsed = self.topics.parse_from(message.topic)
        if parsed is None or len(parsed[1]) != 2:
            return
        with self._lock:
            waiting = self._replies.get(parsed[1][1])
        if waiting is None:
            return
        try:
            waiting[1].append(unpack(message.payload))
        except WireError as exc:
            waiting[1].append(({"ok": False, "error": f"unreadable snapshot: {exc}"}, []))
        waiting[0].set()

    def stats(self) -> dict[str, Any]:
        return {
            "stored": self.stored, "duplicates": self.duplicates, "suppressed": self.suppressed,
            "waiting": self._inbox.qsize(), "store_error": self.store_error,
        }  # fmt: skip


def _remote_alert(header: dict[str, Any], parts: list[bytes]) -> RemoteAlert:
    kind = str(header.get("kind") or "visual")
    if kind not in ("visual", "audio", "audio_urgent"):
        raise ValueError(f"unknown alert kind {kind!r}")
    verdict = str(header["verdict"])
    if verdict not in ("ALERT", "UNVERIFIED"):
        raise ValueError(f"unknown verdict {verdict!r}")
    data = parts[0] if parts and parts[0] else None
    boxes = [(int(b[0]), int(b[1]), int(b[2]), int(b[3])) for b in header.get("boxes") or []]
    origin = str(header["origin"])
    if not 3 <= len(origin) <= 160:
        raise ValueError("origin out of range")
    return RemoteAlert(
        origin=origin, camera=str(header["camera"]), ts=float(header["ts"]), verdict=verdict,  # type: ignore[arg-type]
        kind=kind, description=str(header.get("description") or "")[:4000], boxes=boxes,  # type: ignore[arg-type]
        full_frame=bool(header.get("full_frame")), model=str(header.get("model") or "")[:255],
        latency_s=None if header.get("latency_s") is None else float(header["latency_s"]),
        transcript=None if header.get("transcript") is None else str(header["transcript"])[:4000],
        image=data if kind == "visual" else None, clip=data if kind != "visual" else None,
    )  # fmt: skip
