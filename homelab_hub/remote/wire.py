"""The topics hubs and workers use, under one prefix, and the framing of messages with images.

Everything a worker sends is under ``PREFIX/from/WORKER/``, everything it reads under
``PREFIX/to/WORKER/``, so a broker ACL can let each worker publish only under its own name
and read only its own commands (the README's Mosquitto ``acl_file`` does it with ``%u``)::

    PREFIX/to/W/config              hub -> worker, retained: W's cameras (zones included), [vision]
    PREFIX/to/W/live                hub -> worker: {camera, width, fps, ttl_s} while someone watches
    PREFIX/to/W/snapshot            hub -> worker: {id, camera, annotated, quality}
    PREFIX/from/W/state             worker -> hub, retained: online + each camera's status; the
                                    will (retained) says offline when the link dies
    PREFIX/from/W/alert             worker -> hub, QoS 1: one alert, its image or clip attached
    PREFIX/from/W/live/CAM/WIDTH    worker -> hub, QoS 0: one JPEG, only while asked
    PREFIX/from/W/snapshot/ID       worker -> hub: the JPEG asked for (or the error)
    PREFIX/hub/memory               hub -> hubs: a memory change notice {hub, seq}

A message carrying binary parts is ``HH1`` + 4 bytes (big-endian length of a JSON header) +
the header + the parts; the header's ``parts`` lists their lengths. JSON alone elsewhere.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

MAGIC = b"HH1"
MAX_HEADER = 1 << 20


class WireError(ValueError):
    """A message that is not in this format (or is cut short)."""


def pack(header: dict[str, Any], *parts: bytes) -> bytes:
    head = json.dumps({**header, "parts": [len(p) for p in parts]}, separators=(",", ":")).encode()
    return b"".join([MAGIC, struct.pack(">I", len(head)), head, *parts])


def unpack(payload: bytes) -> tuple[dict[str, Any], list[bytes]]:
    """Raises WireError for anything else."""
    if len(payload) < 7 or payload[:3] != MAGIC:
        raise WireError("not a framed message (no HH1 magic)")
    (n,) = struct.unpack(">I", payload[3:7])
    if n > MAX_HEADER or 7 + n > len(payload):
        raise WireError("header length out of range")
    try:
        header = json.loads(payload[7 : 7 + n])
    except ValueError as exc:
        raise WireError(f"header is not JSON: {exc}") from None
    if not isinstance(header, dict) or not isinstance(header.get("parts"), list):
        raise WireError("header is not an object with parts")
    parts: list[bytes] = []
    at = 7 + n
    for size in header["parts"]:
        if not isinstance(size, int) or size < 0 or at + size > len(payload):
            raise WireError("part length out of range")
        parts.append(payload[at : at + size])
        at += size
    return header, parts


def load_json(payload: bytes) -> dict[str, Any]:
    """A JSON object message. Raises WireError."""
    try:
        data = json.loads(payload)
    except ValueError as exc:
        raise WireError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise WireError("not a JSON object")
    return data


def dump_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Topics:
    prefix: str

    # hub -> worker
    def config(self, worker: str) -> str:
        return f"{self.prefix}/to/{worker}/config"

    def live_request(self, worker: str) -> str:
        return f"{self.prefix}/to/{worker}/live"

    def snapshot_request(self, worker: str) -> str:
        return f"{self.prefix}/to/{worker}/snapshot"

    def commands(self, worker: str) -> str:
        return f"{self.prefix}/to/{worker}/#"

    # worker -> hub
    def state(self, worker: str) -> str:
        return f"{self.prefix}/from/{worker}/state"

    def alert(self, worker: str) -> str:
        return f"{self.prefix}/from/{worker}/alert"

    def live(self, worker: str, camera: str, width: int) -> str:
        return f"{self.prefix}/from/{worker}/live/{camera}/{width}"

    def snapshot(self, worker: str, request_id: str) -> str:
        return f"{self.prefix}/from/{worker}/snapshot/{request_id}"

    def all_from_workers(self, what: str) -> str:
        return f"{self.prefix}/from/+/{what}"

    # hub -> hubs
    @property
    def memory(self) -> str:
        return f"{self.prefix}/hub/memory"

    def parse_from(self, topic: str) -> tuple[str, list[str]] | None:
        """``PREFIX/from/W/a/b`` -> ("W", ["a", "b"]); None for any other topic."""
        head = f"{self.prefix}/from/"
        if not topic.startswith(head):
            return None
        rest = topic[len(head) :].split("/")
        if len(rest) < 2 or not rest[0]:
            return None
        return rest[0], rest[1:]
