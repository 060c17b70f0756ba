"""Notifications through Apprise (Telegram, ntfy, Discord, json:// webhooks, …)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)


class AppriseNotifier:
    """Sends a title, a body and optional attachments to every configured Apprise URL.

    `send` blocks (network I/O): call it from a worker thread. It never raises; it returns
    whether at least one target accepted the message, and logs the failures.
    """

    def __init__(self, urls: Sequence[str]) -> None:
        self.urls = list(urls)
        self._lock = threading.Lock()
        self._apprise = None
        if self.urls:
            import apprise

            self._apprise = apprise.Apprise()
            for url in self.urls:
                if not self._apprise.add(url):
                    log.error("notify: Apprise does not understand URL %s", _redact(url))

    @property
    def enabled(self) -> bool:
        return bool(self._apprise and len(self._apprise) > 0)

    def send(self, title: str, body: str, attachments: Sequence[Path | str] = ()) -> bool:
        target = self._apprise
        if target is None or len(target) == 0:
            return False
        import apprise

        attach = apprise.AppriseAttachment()
        for path in attachments:
            attach.add(str(path))
        with self._lock:
            try:
                ok = bool(target.notify(title=title, body=body, attach=attach if attachments else None))
            except Exception:  # a broken target must not break the caller
                log.exception("notify: Apprise raised")
                return False
        if not ok:
            log.warning("notify: no Apprise target accepted %r", title)
        return ok


def _redact(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://…{rest[-12:]}" if rest else url
