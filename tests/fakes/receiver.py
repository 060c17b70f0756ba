"""An HTTP receiver for notifications: Apprise's json:// and form:// URLs post here.

with NotificationReceiver() as rx:
    url = rx.apprise_url("json")        # json://127.0.0.1:PORT/notify
    ... send ...
    msg = rx.wait_for(lambda m: "incident" in m.text, timeout=10)
"""

from __future__ import annotations

from collections.abc import Callable

from tests.fakes.http import FakeHTTPServer, Reply, Request
from tests.support import wait_until


class NotificationReceiver(FakeHTTPServer):
    def __init__(self) -> None:
        super().__init__()
        self.fallback = self._accept

    def _accept(self, req: Request) -> Reply:
        return Reply(200, {"ok": True})

    @property
    def received(self) -> list[Request]:
        return [r for r in self.requests if r.method == "POST"]

    def apprise_url(self, kind: str = "json", path: str = "notify") -> str:
        return f"{kind}://127.0.0.1:{self.port}/{path}"

    def wait_for(
        self, predicate: Callable[[Request], bool] = lambda r: True, timeout: float = 10.0
    ) -> Request:
        def match() -> Request | None:
            return next((req for req in self.received if predicate(req)), None)

        return wait_until(match, timeout, "a matching notification")
