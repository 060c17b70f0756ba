"""The speakers notifier: alerts spoken on the lab's speakers (the seed's WiiM announcements).

`announce` decides at once, without blocking: is this kind routed to any speaker for this
camera, is it quiet hours, has the camera used up its rate limit (a flapping camera must not
loop the speaker)? What passes is spoken once (espeak-ng or Piper, on the notifier's own
thread), kept at a one-time URL per speaker, and handed to that speaker's lane: one thread
and a short queue per speaker, so a speaker that is down or slow delays only itself, never
Apprise, MQTT, another speaker or the camera that raised the alert.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from homelab_hub.errors import HubError
from homelab_hub.notify.audio_store import OneTimeAudio
from homelab_hub.notify.config import SpeakerKind, SpeakersConfig
from homelab_hub.notify.players import Player, make_player
from homelab_hub.notify.tts import TextToSpeech

log = logging.getLogger(__name__)

AUDIO_ROUTE = "/speakers/audio"
Outcome = Literal["queued", "not_routed", "quiet_hours", "rate_limited", "busy"]
_LANE_DEPTH = 4  # announcements waiting per speaker; older news is not worth queueing


@dataclass
class SpeakerStats:
    plays: int = 0
    failures: int = 0
    dropped: int = 0
    last_ok_ts: float | None = None
    last_error: str = ""


@dataclass
class SpeakersStatus:
    engine: str
    speakers: dict[str, SpeakerStats]
    outcomes: dict[str, int] = field(default_factory=dict)
    waiting_urls: int = 0


class _Lane:
    """One speaker's thread: plays URLs one after the other."""

    def __init__(self, player: Player, stats: SpeakerStats) -> None:
        self.player = player
        self.stats = stats
        self.queue: queue.Queue[str | None] = queue.Queue(maxsize=_LANE_DEPTH)
        self.thread = threading.Thread(target=self._run, name=f"speaker:{player.name}", daemon=True)
        self.thread.start()

    def put(self, url: str) -> bool:
        try:
            self.queue.put_nowait(url)
            return True
        except queue.Full:
            self.stats.dropped += 1
            log.warning(
                "speaker %s: %d announcements waiting; dropping this one", self.player.name, _LANE_DEPTH
            )
            return False

    def _run(self) -> None:
        while (url := self.queue.get()) is not None:
            try:
                self.player.play(url)
            except HubError as exc:
                self.stats.failures += 1
                self.stats.last_error = exc.message
                log.warning("%s", exc.message)
            else:
                self.stats.plays += 1
                self.stats.last_ok_ts = time.time()


class SpeakerNotifier:
    def __init__(
        self,
        config: SpeakersConfig,
        *,
        tts: TextToSpeech | None = None,
        clock: Callable[[], float] = time.time,
        players: dict[str, Player] | None = None,
    ) -> None:
        self.config = config
        self.tts = tts or TextToSpeech(config)
        self.audio = OneTimeAudio(config.url_ttl_s, config.url_fetches)
        self._clock = clock
        self._players = players or {name: make_player(name, dev) for name, dev in config.devices.items()}
        self._stats = {name: SpeakerStats() for name in self._players}
        self._lanes: dict[str, _Lane] = {}
        self._recent: dict[str, deque[float]] = {}
        self._outcomes: dict[str, int] = {}
        self._lock = threading.Lock()
        self._jobs: queue.Queue[tuple[str, list[str]] | None] = queue.Queue(maxsize=16)
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- deciding (any thread, never blocks) ----------------------------------------------------
    def route(self, kind: SpeakerKind, camera: str | None) -> list[str]:
        """The speakers this kind of message from this camera goes to."""
        return [
            name
            for name, dev in self.config.devices.items()
            if kind in dev.kinds and (camera is None or not dev.cameras or camera in dev.cameras)
        ]

    def in_quiet_hours(self, now: float) -> bool:
        span = self.config.quiet_hours
        if span is None:
            return False
        start, end = (int(a) * 60 + int(b) for a, b in (t.split(":") for t in span.split("-")))
        local = time.localtime(now)
        minute = local.tm_hour * 60 + local.tm_min
        return start <= minute < end if start < end else minute >= start or minute < end

    def announce(self, kind: SpeakerKind, text: str, camera: str | None = None) -> Outcome:
        """Speak ``text`` on the speakers routed for ``kind`` and ``camera``; returns what was
        decided. Playing happens later, on the notifier's threads."""
        outcome, targets = self._decide(kind, camera)
        with self._lock:
            self._outcomes[outcome] = self._outcomes.get(outcome, 0) + 1
        if outcome != "queued":
            if outcome != "not_routed":
                log.info("speakers: %s message from %s not spoken: %s", kind, camera or "the hub", outcome)
            return outcome
        self._start()
        try:
            self._jobs.put_nowait((text, targets))
        except queue.Full:
            log.warning("speakers: text to speech is behind; dropping a %s message", kind)
            return "busy"
        return "queued"

    def _decide(self, kind: SpeakerKind, camera: str | None) -> tuple[Outcome, list[str]]:
        targets = self.route(kind, camera)
        if not targets:
            return "not_routed", []
        now = self._clock()
        if self.in_quiet_hours(now) and kind not in self.config.quiet_kinds:
            return "quiet_hours", []
        with self._lock:
            recent = self._recent.setdefault(camera or "", deque())
            while recent and now - recent[0] >= self.config.rate_window_s:
                recent.popleft()
            if len(recent) >= self.config.rate_limit:
                return "rate_limited", []
            recent.append(now)
        return "queued", targets

    # -- speaking (the notifier's thread) -------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="speakers-tts", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            text, targets = job
            try:
                mp3 = self.tts.synthesize(text)
            except HubError as exc:
                log.error("%s", exc.message)
                for name in targets:
                    self._stats[name].failures += 1
                    self._stats[name].last_error = exc.message
                continue
            base = (self.config.hub_url or "").rstrip("/")
            for name in targets:
                url = f"{base}{AUDIO_ROUTE}/{self.audio.put(mp3)}"  # one URL each: each is one-time
                self._lane(name).put(url)

    def _lane(self, name: str) -> _Lane:
        with self._lock:
            lane = self._lanes.get(name)
            if lane is None:
                lane = self._lanes[name] = _Lane(self._players[name], self._stats[name])
            return lane

    def status(self) -> SpeakersStatus:
        with self._lock:
            return SpeakersStatus(
                engine=self.tts.engine,
                speakers={n: SpeakerStats(**vars(s)) for n, s in self._stats.items()},
                outcomes=dict(self._outcomes),
                waiting_urls=len(self.audio),
            )

    def stop(self, timeout: float = 5.0) -> None:
        """Let queued speech go out (``timeout`` at most); a hung speaker is left behind."""
        with self._lock:
            self._closed = True
            thread, lanes = self._thread, list(self._lanes.values())
        if thread is not None:
            self._jobs.put(None)
            thread.join(timeout)
        for lane in lanes:
            try:
                lane.queue.put_nowait(None)
            except queue.Full:
                continue  # stuck on a dead speaker: a daemon thread, it ends with the process
            lane.thread.join(timeout)
