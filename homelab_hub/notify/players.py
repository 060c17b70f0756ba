"""Telling a speaker to play a URL: LinkPlay/WiiM over its HTTP API, Home Assistant over REST.

- LinkPlay (WiiM, Arylic, Audio Pro…): ``GET /httpapi.asp?command=setPlayerCmd:play:URL``
  (the URL percent-encoded), answered ``OK``; ``setPlayerCmd:vol:N`` sets the volume first.
  WiiM devices answer on HTTPS with a self-signed certificate (``verify_tls`` off by default).
- Home Assistant: ``POST /api/services/media_player/play_media`` with a long-lived token,
  ``media_content_id`` the URL and ``announce`` so a playing radio resumes afterwards;
  ``media_player/volume_set`` first when a volume is configured.

Each call blocks for at most the speaker's ``timeout_s`` and raises `SpeakerFailed` with what
went wrong; the token and any password in a URL never appear in it.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote

import httpx

from homelab_hub.clients.http import http_client
from homelab_hub.errors import Unavailable
from homelab_hub.notify.config import SpeakerConfig
from homelab_hub.redact import redact_url


class SpeakerFailed(Unavailable):
    """The speaker refused, failed or did not answer in time."""


class Player(Protocol):
    name: str

    def play(self, url: str) -> None: ...


class _HttpPlayer:
    def __init__(self, name: str, config: SpeakerConfig) -> None:
        self.name = name
        self.config = config
        self.base = config.url.rstrip("/")

    def _request(self, method: str, path: str, **kw: object) -> httpx.Response:
        where = f"speaker {self.name} ({redact_url(self.base)})"
        try:
            # http_client logs request lines redacted: the commands carry the one-time audio link.
            with http_client(timeout=self.config.timeout_s, verify=bool(self.config.verify_tls)) as client:
                return client.request(method, self.base + path, **kw)  # type: ignore[arg-type]
        except httpx.TimeoutException as exc:
            raise SpeakerFailed(f"{where} did not answer within {self.config.timeout_s:g}s") from exc
        except httpx.HTTPError as exc:
            raise SpeakerFailed(f"{where} is unreachable: {type(exc).__name__}") from exc


class LinkPlayPlayer(_HttpPlayer):
    def command(self, command: str) -> str:
        """Send one command (already safe for a query string). Raises SpeakerFailed."""
        reply = self._request("GET", "/httpapi.asp?command=" + command)
        text = reply.text.strip()
        if reply.status_code != 200 or text.lower() != "ok":
            raise SpeakerFailed(
                f"speaker {self.name}: LinkPlay answered {reply.status_code} {text[:80]!r} to {command.split(':')[1]!r}"
            )
        return text

    def play(self, url: str) -> None:
        if self.config.volume is not None:
            self.command(f"setPlayerCmd:vol:{self.config.volume}")
        # The URL goes percent-encoded (as the API asks): its own '&', '?' and ':' stay inside
        # the one argument.
        self.command("setPlayerCmd:play:" + quote(url, safe=""))


class HomeAssistantPlayer(_HttpPlayer):
    def _service(self, service: str, data: dict[str, object]) -> None:
        reply = self._request(
            "POST",
            f"/api/services/media_player/{service}",
            json={"entity_id": self.config.entity_id, **data},
            headers={"Authorization": f"Bearer {self.config.token}"},
        )
        if reply.status_code == 401:
            raise SpeakerFailed(
                f"speaker {self.name}: Home Assistant refused the token (make a new long-lived access token)"
            )
        if reply.status_code >= 300:
            raise SpeakerFailed(
                f"speaker {self.name}: Home Assistant answered {reply.status_code} to media_player.{service}: "
                f"{reply.text.strip()[:120]!r}"
            )

    def play(self, url: str) -> None:
        if self.config.volume is not None:
            self._service("volume_set", {"volume_level": self.config.volume / 100})
        data: dict[str, object] = {"media_content_id": url, "media_content_type": "music"}
        if self.config.announce:
            data["announce"] = True
        self._service("play_media", data)


def make_player(name: str, config: SpeakerConfig) -> Player:
    return LinkPlayPlayer(name, config) if config.kind == "linkplay" else HomeAssistantPlayer(name, config)
