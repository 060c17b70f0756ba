"""A BrokerLink in its own process, for tests that put it inside a network namespace.

Run as ``python -m tests.remote.nsclient`` from the repository root with HOMELAB_HUB_NSCLIENT
set to a JSON object {config, client_id, label, will: [topic, payload_b64] | null, persistent}.
Commands come on stdin, one JSON object a line, each with "op" and "seq"; each is answered on
stdout with {"re": op, "seq": seq, ...}. Events are written as they happen:
{"event": "connected", "generation": n}, {"event": "disconnected", "last_error": ...} and
{"event": "message", "topic", "payload_b64", "retain", "qos"}. The log goes to stderr.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import sys
import threading
from typing import Any

from homelab_hub.remote.config import BrokerConfig
from homelab_hub.remote.link import BrokerLink, Message

_out = threading.Lock()


def emit(obj: dict[str, Any]) -> None:
    with _out:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


def on_message(message: Message) -> None:
    emit(
        {
            "event": "message",
            "topic": message.topic,
            "payload_b64": base64.b64encode(message.payload).decode(),
            "retain": message.retain,
            "qos": message.qos,
        }
    )


def watch(link: BrokerLink, stop: threading.Event) -> None:
    """Say every change of the link's state (BrokerLink has no disconnect callback)."""
    was = False
    while not stop.is_set():
        now = link.connected.is_set()
        if now != was:
            if now:
                emit({"event": "connected", "generation": link.generation})
            else:
                emit({"event": "disconnected", "last_error": link.last_error})
            was = now
        stop.wait(0.02)


def main() -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    spec = json.loads(os.environ["HOMELAB_HUB_NSCLIENT"])
    will = spec.get("will")
    link = BrokerLink(
        BrokerConfig(**spec["config"]),
        client_id=spec["client_id"],
        label=spec.get("label", "test client"),
        will=(will[0], base64.b64decode(will[1])) if will else None,
        persistent=bool(spec.get("persistent")),
    )
    stop = threading.Event()
    threading.Thread(target=watch, args=(link, stop), daemon=True).start()
    link.start()
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        op, seq = cmd.get("op"), cmd.get("seq")
        reply: dict[str, Any] = {"re": op, "seq": seq}
        try:
            if op == "subscribe":
                link.subscribe(cmd["filter"], on_message, qos=int(cmd.get("qos", 1)))
            elif op == "publish_acked":
                reply["ok"] = link.publish_acked(
                    cmd["topic"],
                    base64.b64decode(cmd["payload_b64"]),
                    timeout=float(cmd.get("wait_s", 10)),
                    retain=bool(cmd.get("retain")),
                )
                reply["last_error"] = link.last_error
                reply["refused_publishes"] = link.refused_publishes
            elif op == "publish":
                reply["ok"] = link.publish(
                    cmd["topic"],
                    base64.b64decode(cmd["payload_b64"]),
                    qos=int(cmd.get("qos", 0)),
                    retain=bool(cmd.get("retain")),
                )
            elif op == "status":
                reply.update(
                    connected=link.connected.is_set(),
                    last_error=link.last_error,
                    generation=link.generation,
                    refused_publishes=link.refused_publishes,
                )
            elif op == "close":
                link.close()
                stop.set()
                emit(reply)
                return 0
            else:
                reply["error"] = f"unknown op {op!r}"
        except Exception as exc:  # said to the test, which fails with it
            reply["error"] = f"{type(exc).__name__}: {exc}"
        emit(reply)
    link.close()
    stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
