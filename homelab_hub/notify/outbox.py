"""A bounded queue that one thread empties into Apprise, so that a slow phone gateway never
delays the caller (a camera's next sample)."""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field

from homelab_hub.notify.apprise import AppriseNotifier

log = logging.getLogger(__name__)

_MAX_WAITING = 100  # a dead gateway drops messages beyond this instead of growing memory


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    attachments: list[str] = field(default_factory=list)


class Outbox:
    """`put` never blocks; `close` sends what is waiting (up to a deadline) and stops."""

    def __init__(self, apprise: AppriseNotifier) -> None:
        self.apprise = apprise
        self._queue: queue.Queue[Message | None] = queue.Queue(maxsize=_MAX_WAITING)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.sent = 0

    def put(self, message: Message) -> bool:
        """Queue a message; False (and a log line) when the queue is full or closed."""
        with self._lock:
            if self._closed:
                return False
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="notify-outbox", daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            log.error("notify: %d messages are waiting for Apprise; dropping %r", _MAX_WAITING, message.title)
            return False
        return True

    def close(self, timeout: float = 30.0) -> None:
        with self._lock:
            self._closed = True
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            message = self._queue.get()
            if message is None:
                return
            if self.apprise.send(message.title, message.body, attachments=message.attachments):
                self.sent += 1
