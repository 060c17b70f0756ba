"""Notifications through Apprise (Telegram, ntfy, Discord, json:// webhooks, …)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from homelab_hub.redact import redact_text, redact_url

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
            for index, url in enumerate(self.urls):
                if not self._apprise.add(url):
                    log.error("notify: Apprise does not understand %s", describe_url(url, index))

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
            except Exception as exc:  # a broken target must not break the caller
                # No traceback: a plugin's exception text may carry its URL and token.
                log.error("notify: Apprise raised %s", redact_text(f"{type(exc).__name__}: {exc}"))
                return False
        if not ok:
            log.warning("notify: no Apprise target accepted %r", title)
        return ok


def describe_url(url: str, index: int) -> str:
    """An Apprise URL Apprise could not parse, named by position and scheme only: services
    carry their secrets in the path (tgram://BOT_TOKEN/CHAT_ID, discord://ID/TOKEN), which no
    redaction can tell from a path without the service's own parser."""
    scheme = url.partition("://")[0] if "://" in url else ""
    where = f"notify.apprise_urls[{index}]"
    return f"{where} ({redact_url(scheme)}://…)" if scheme.isalnum() else where
