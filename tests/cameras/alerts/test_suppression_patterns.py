"""Suppression patterns are matched in linear time: a pattern of many wildcards against a
long, wordy description (a vision model writes those) answers at once, through the preview
an agent may call, the suppression an admin saves and the check every new alert passes;
health answers meanwhile. The regex they used to compile to backtracked for 34 s on one such
description, holding the GIL, and froze the hub."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from homelab_hub.cameras.alerts.store import MAX_PATTERN_WILDCARDS, AlertStore, compile_pattern
from tests.cameras.review_data import cameras_config, record

# 813 characters of the letters t and e, never a q: what the pattern below can never match,
# after trying every way to place its parts.
WORDY = (
    "The tree near the eastern fence sways gently while the tall weeds between the metal feet "
    "of the bench settle; "
) * 8
WORDY = WORDY[:813]
EVIL = "t*e*e*e*e*e*e*q"


def test_a_many_wildcard_pattern_on_a_long_description_answers_at_once_and_health_too(
    hub_factory, tmp_path: Path
):
    hub = hub_factory({"cameras": cameras_config(tmp_path), "memory": {"enabled": False}})
    db = hub.services.db
    record(AlertStore(db), tmp_path / "alerts", "gate", WORDY, time.time() - 60, (10, 10, 40, 40))
    agent = hub.create_token("wordy")
    admin = hub.create_token("root", admin=True)
    health: list[int] = []
    done = threading.Event()

    def poll_health() -> None:
        while not done.is_set():
            health.append(httpx.get(hub.url + "/api/health", timeout=20).status_code)

    poller = threading.Thread(target=poll_health, daemon=True)
    poller.start()
    try:
        preview = hub.get("/api/review/preview", token=agent, params={"pattern": EVIL})
    finally:
        done.set()
        poller.join(30)
    assert preview.status_code == 200, preview.text
    assert preview.json()["matched_alerts"] == 0
    assert preview.json()["window_alerts"] == 1
    assert health and all(code in (200, 503) for code in health)
    saved = hub.rest("alert_review", {"action": "suppress", "pattern": EVIL, "confirm": True}, token=admin)
    assert saved.status_code == 200, saved.text
    # Every new alert is checked against the stored patterns by the camera pipeline.
    assert AlertStore(db).suppressed_by("gate", WORDY) is None
    assert AlertStore(db).suppressed_by("gate", WORDY + " then iraq") == EVIL


def test_a_pattern_with_too_many_wildcards_is_refused_by_name(hub_factory, tmp_path: Path):
    hub = hub_factory({"cameras": cameras_config(tmp_path), "memory": {"enabled": False}})
    admin = hub.create_token("root", admin=True)
    pattern = "a*" * (MAX_PATTERN_WILDCARDS + 1) + "b"
    preview = hub.get("/api/review/preview", token=admin, params={"pattern": pattern})
    assert preview.status_code == 400
    assert f"at most {MAX_PATTERN_WILDCARDS} are allowed" in preview.json()["error"]["message"]
    tool = hub.rest("alert_review", {"action": "suppress", "pattern": pattern, "confirm": True}, token=admin)
    assert tool.status_code == 400
    assert tool.json()["error"]["code"] == "invalid_input"


def test_the_matcher_keeps_the_word_boundaries_of_the_patterns_it_replaced():
    assert compile_pattern("car on the road").search("a car on the road beyond the gate")
    assert not compile_pattern("car").search("a scary cat")  # inside a word: no
    assert compile_pattern("car * gate").search("a car on the road beyond the gate")
    assert not compile_pattern("car * gat").search("a car on the road beyond the gate")
    assert not compile_pattern("car*").search("a carport")  # a part is whole words at the ends
    assert compile_pattern("ca*port").search("a carport")  # between parts: anything
    assert not compile_pattern("gate * car").search("a car on the road beyond the gate")
    assert compile_pattern("t*e*q").search("the iraq")
    assert not compile_pattern("t*e*q").search("the quail")
