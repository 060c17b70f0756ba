"""Watch the watchdog: a dead-man's-switch URL pinged after every completed check.

healthchecks.io ("https://hc-ping.com/UUID") and Uptime Kuma push monitors
("http://kuma:3001/api/push/TOKEN") both take a plain GET and raise an alarm when the pings
stop, so a dead hub, a stuck check or a powered-off box is noticed by something outside it.
The URL is itself the secret (whoever knows it can keep the alarm quiet), so it is never
logged or shown: only its host.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

import httpx

log = logging.getLogger(__name__)


class DeadManSwitch:
    def __init__(self, url: str | None, timeout_s: float) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.host = (urlsplit(url).hostname or "?") if url else ""
        self.last_ping_at: float | None = None
        self.last_ok: bool | None = None
        self.pings = 0

    def ping(self) -> bool:
        """GET the URL; never raises. False (and one warning) when it did not answer 2xx."""
        if not self.url:
            return False
        self.pings += 1
        self.last_ping_at = time.time()
        try:
            reply = httpx.get(self.url, timeout=self.timeout_s, follow_redirects=True)
            ok = reply.is_success
            why = f"answered {reply.status_code}"
        except httpx.HTTPError as exc:
            ok, why = False, type(exc).__name__
        if not ok and self.last_ok is not False:
            log.warning(
                "watchdog: dead-man ping to %s failed (%s); it will be retried after each check",
                self.host,
                why,
            )
        elif ok and self.last_ok is False:
            log.info("watchdog: dead-man ping to %s works again", self.host)
        self.last_ok = ok
        return ok

    def state(self) -> dict[str, object]:
        if not self.url:
            return {}
        return {
            "host": self.host,
            "pings": self.pings,
            "last_ping_at": self.last_ping_at,
            "last_ok": self.last_ok,
        }
