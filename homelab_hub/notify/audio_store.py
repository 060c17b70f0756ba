"""Short-lived, one-time audio URLs for speakers.

A speaker plays a URL, so the hub serves each announcement itself: `put` keeps the audio in
memory under a random name and ``GET /speakers/audio/NAME`` (server/app.py) answers it once
(``url_fetches`` times), then 404, and never after ``url_ttl_s``. The name is the only
credential (24 random bytes, unguessable) and is never logged. HEAD does not use a fetch:
some players ask for the type before they play.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

_MAX_ITEMS = 64  # announcements waiting to be fetched; the oldest goes beyond this


@dataclass
class StoredAudio:
    data: bytes
    content_type: str
    expires: float
    fetches_left: int


class OneTimeAudio:
    """Thread-safe: speaker lanes put, the web route fetches."""

    def __init__(self, ttl_s: float, fetches: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.fetches = fetches
        self._clock = clock
        self._lock = threading.Lock()
        self._items: dict[str, StoredAudio] = {}
        self.served = 0

    def put(self, data: bytes, content_type: str = "audio/mpeg", suffix: str = ".mp3") -> str:
        """Keep ``data`` and return the name to put in the URL (random, with ``suffix``: some
        players pick their decoder by the URL's ending)."""
        name = secrets.token_urlsafe(24) + suffix
        now = self._clock()
        with self._lock:
            self._sweep(now)
            while len(self._items) >= _MAX_ITEMS:
                self._items.pop(next(iter(self._items)))
            self._items[name] = StoredAudio(data, content_type, now + self.ttl_s, self.fetches)
        return name

    def fetch(self, name: str, *, consume: bool = True) -> StoredAudio | None:
        """The audio under ``name``, or None (unknown, used up, expired). ``consume`` counts
        the fetch (a GET); a HEAD looks without using one."""
        now = self._clock()
        with self._lock:
            self._sweep(now)
            item = self._items.get(name)
            if item is None:
                return None
            if consume:
                item.fetches_left -= 1
                self.served += 1
                if item.fetches_left <= 0:
                    del self._items[name]
            return item

    def __len__(self) -> int:
        with self._lock:
            self._sweep(self._clock())
            return len(self._items)

    def _sweep(self, now: float) -> None:
        for name in [n for n, item in self._items.items() if item.expires <= now]:
            del self._items[name]
