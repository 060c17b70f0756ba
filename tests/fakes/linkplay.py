"""A stand-in LinkPlay / WiiM speaker: the device's HTTP API, real HTTP on a free port.

    with FakeLinkPlay() as speaker:        # url: http://127.0.0.1:PORT
        ... the hub sends GET /httpapi.asp?command=setPlayerCmd:play:<percent-encoded URL>
        fetch = speaker.wait_fetched()      # the device fetched the URL, like a real one

Commands as LinkPlay firmware answers them: ``setPlayerCmd:play:URL`` and
``setPlayerCmd:vol:N`` answer ``OK``; ``getPlayerStatus`` answers JSON; anything else
``unknown command``. ``delay_s`` makes the device slow to answer (a busy WiiM).
"""

from __future__ import annotations

from tests.fakes.http import FakeHTTPServer, Reply, Request
from tests.fakes.media_fetch import Fetch, MediaFetcher
from tests.support import wait_until


class FakeLinkPlay(FakeHTTPServer):
    def __init__(self, *, delay_s: float = 0.0) -> None:
        super().__init__({("GET", "/httpapi.asp"): self._command})
        self.delay_s = delay_s
        self.fetcher = MediaFetcher()
        self.commands: list[str] = []
        self.volume = 50
        self.playing: str | None = None

    def _command(self, req: Request) -> Reply:
        command = req.query.get("command", [""])[0]  # percent-decoded, as the firmware reads it
        self.commands.append(command)
        if command.startswith("setPlayerCmd:play:"):
            self.playing = command.removeprefix("setPlayerCmd:play:")
            self.fetcher.play(self.playing)
            return Reply(200, "OK", delay_s=self.delay_s)
        if command.startswith("setPlayerCmd:vol:"):
            self.volume = int(command.rsplit(":", 1)[1])
            return Reply(200, "OK", delay_s=self.delay_s)
        if command == "getPlayerStatus":
            status = "play" if self.playing else "stop"
            return Reply(200, {"status": status, "vol": str(self.volume)}, delay_s=self.delay_s)
        return Reply(200, "unknown command", delay_s=self.delay_s)

    @property
    def plays(self) -> list[str]:
        return [c for c in self.commands if c.startswith("setPlayerCmd:play:")]

    def wait_fetched(self, count: int = 1, timeout: float = 15.0) -> Fetch:
        wait_until(lambda: len(self.fetcher.fetches) >= count, timeout, f"{count} fetch(es) by the speaker")
        return self.fetcher.fetches[count - 1]
