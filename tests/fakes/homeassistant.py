"""A stand-in Home Assistant: the REST API's media player services, real HTTP on a free port.

    with FakeHomeAssistant(token="llat", entities=["media_player.kitchen"]) as ha:
        ... the hub POSTs /api/services/media_player/play_media with Authorization: Bearer llat
        fetch = ha.wait_fetched()      # the media player fetched media_content_id

As Home Assistant answers: ``GET /api/`` is ``{"message": "API running."}``; every call
without the right bearer token is 401 ``401: Unauthorized``; a service call answers 200 with
the list of states it changed; an unknown entity or a body without ``entity_id`` is 400.
"""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.http import FakeHTTPServer, Reply, Request
from tests.fakes.media_fetch import Fetch, MediaFetcher
from tests.support import wait_until


class FakeHomeAssistant(FakeHTTPServer):
    def __init__(self, *, token: str, entities: list[str], delay_s: float = 0.0) -> None:
        super().__init__(
            {
                ("GET", "/api/"): self._api,
                ("POST", "/api/services/media_player/play_media"): self._play_media,
                ("POST", "/api/services/media_player/volume_set"): self._volume_set,
            }
        )
        self.token = token
        self.entities = {e: {"state": "idle", "attributes": {"volume_level": 0.5}} for e in entities}
        self.delay_s = delay_s
        self.fetcher = MediaFetcher()
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _authorized(self, req: Request) -> bool:
        return req.headers.get("Authorization") == f"Bearer {self.token}"

    def _api(self, req: Request) -> Reply:
        if not self._authorized(req):
            return Reply(401, "401: Unauthorized")
        return Reply(200, {"message": "API running."})

    def _entity(self, req: Request) -> tuple[str | None, Reply | None]:
        if not self._authorized(req):
            return None, Reply(401, "401: Unauthorized")
        body = req.json() or {}
        entity = body.get("entity_id")
        if entity not in self.entities:
            return None, Reply(
                400, {"message": f"Referenced entities {entity} are missing or not currently available"}
            )
        return entity, None

    def _play_media(self, req: Request) -> Reply:
        entity, refused = self._entity(req)
        if refused is not None:
            return refused
        body = req.json()
        self.calls.append(("play_media", body))
        self.entities[entity]["state"] = "playing"  # type: ignore[index]
        self.fetcher.play(body["media_content_id"])
        return Reply(200, [self._state(entity)], delay_s=self.delay_s)  # type: ignore[arg-type]

    def _volume_set(self, req: Request) -> Reply:
        entity, refused = self._entity(req)
        if refused is not None:
            return refused
        body = req.json()
        self.calls.append(("volume_set", body))
        self.entities[entity]["attributes"]["volume_level"] = body["volume_level"]  # type: ignore[index]
        return Reply(200, [self._state(entity)], delay_s=self.delay_s)  # type: ignore[arg-type]

    def _state(self, entity: str) -> dict[str, Any]:
        return {
            "entity_id": entity,
            **self.entities[entity],
            "last_changed": time.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        }

    def wait_fetched(self, count: int = 1, timeout: float = 15.0) -> Fetch:
        wait_until(
            lambda: len(self.fetcher.fetches) >= count, timeout, f"{count} fetch(es) by the media player"
        )
        return self.fetcher.fetches[count - 1]
