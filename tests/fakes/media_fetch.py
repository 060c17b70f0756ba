"""What a speaker does after being told to play a URL: fetch it, like the real device would.

Shared by the LinkPlay and Home Assistant stand-ins: each fetch is recorded with its status,
content type and body, and `decoded_seconds` tells whether the body is audio at all.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass

import av
import httpx


@dataclass
class Fetch:
    url: str
    status: int
    content_type: str
    body: bytes

    def decoded_seconds(self) -> float:
        """Seconds of audio PyAV decodes from the body (0 when it is not audio)."""
        try:
            with av.open(io.BytesIO(self.body)) as container:
                stream = container.streams.audio[0]
                samples = sum(frame.samples for frame in container.decode(stream))
                return samples / stream.codec_context.sample_rate
        except (av.error.FFmpegError, IndexError):
            return 0.0


class MediaFetcher:
    def __init__(self) -> None:
        self.fetches: list[Fetch] = []
        self._lock = threading.Lock()

    def play(self, url: str) -> None:
        """Fetch ``url`` in the background, as a player starts streaming after answering."""
        threading.Thread(target=self._fetch, args=(url,), daemon=True).start()

    def _fetch(self, url: str) -> None:
        try:
            reply = httpx.get(url, timeout=10)
            fetch = Fetch(url, reply.status_code, reply.headers.get("content-type", ""), reply.content)
        except httpx.HTTPError as exc:
            fetch = Fetch(url, 0, "", repr(exc).encode())
        with self._lock:
            self.fetches.append(fetch)
