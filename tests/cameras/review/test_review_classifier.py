"""The review model through the stand-in Ollama: good answers flag groups for a person, bad
ones (malformed, off-schema, partial, slow, down, crashed) leave them in needs_review and say
why; the daily worker runs once a day and sends its digest through the notification bus."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from homelab_hub.cameras.alerts.store import AlertStore
from homelab_hub.cameras.review.classifier import LABEL_SCHEMA, ReviewClassifier
from homelab_hub.cameras.review.groups import AlertReview
from homelab_hub.cameras.review.store import ReviewRun
from homelab_hub.cameras.review.worker import ReviewWorker, classify
from homelab_hub.cameras.settings import CameraConfig, ReviewConfig
from homelab_hub.config import load_config
from homelab_hub.notify.apprise import AppriseNotifier
from homelab_hub.notify.bus import NotificationBus
from homelab_hub.workers import WorkerContext
from tests.cameras.review_data import CAR, CAT, GRILL, STEAM, VISITOR, cameras_config, seed_day
from tests.fakes.ollama_review import FakeOllamaReview
from tests.fakes.receiver import NotificationReceiver
from tests.support import free_port

CONTEXT = "Calgary: snowy winters, a quiet residential street, deer at dawn."


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOllamaReview]:
    with FakeOllamaReview() as fake:
        yield fake


@pytest.fixture
def ollama(server: FakeOllamaReview) -> FakeOllamaReview:
    server.reset()
    return server


def setup(db, tmp_path: Path, url: str, **review) -> tuple[AlertReview, ReviewClassifier]:
    seed_day(db, tmp_path / "alerts")
    config = ReviewConfig(**{"url": url, "context": CONTEXT, "batch_size": 2, "timeout_s": 5, **review})
    cameras = {name: CameraConfig(**cfg) for name, cfg in cameras_config(tmp_path).items()}
    return AlertReview(db, config=config, cameras=cameras), ReviewClassifier(
        config, default_url="http://unused:1"
    )


def states(review: AlertReview) -> dict[str, tuple[str, str | None]]:
    return {
        g.description: (g.state, g.verdict.label if g.verdict else None) for g in review.window(24).groups
    }


def test_the_model_flags_false_positives_and_noise_for_a_person_to_confirm(db, tmp_path, ollama) -> None:
    review, classifier = setup(db, tmp_path, ollama.url)
    report = classify(review, classifier)
    assert (report.groups, report.classified, report.flagged, report.failed) == (5, 5, 4, 0)
    assert states(review) == {
        CAR: ("ai_flagged", "FALSE_POSITIVE"),
        STEAM: ("ai_flagged", "FALSE_POSITIVE"),
        GRILL: ("ai_flagged", "FALSE_POSITIVE"),
        CAT: ("ai_flagged", "NOISE"),
        VISITOR: ("needs_review", "REAL"),
    }
    car = review.window(24).groups[0]
    assert car.verdict.suggested_pattern == "on the road"
    assert car.verdict.confidence == 0.93
    assert car.verdict.reason == "a vehicle or walker off the property, on the public road"
    assert car.decided_by == "model:qwen3.5:35b"
    assert AlertStore(db).suppressions() == []  # the model never suppresses
    assert len(ollama.chats) == 3  # 5 groups in batches of 2
    chat = ollama.chats[0]
    assert chat["format"] == LABEL_SCHEMA
    assert chat["options"] == {"temperature": 0}
    assert chat["think"] is False
    assert json.dumps(LABEL_SCHEMA) in chat["messages"][0]["content"]
    user = chat["messages"][1]
    assert CONTEXT in user["content"]
    assert '"known_features": ["gate post lights", "the public road beyond the gate"]' in user["content"]
    assert len(user["images"]) == 2  # one stored image per group
    assert classify(review, classifier).groups == 0  # labelled groups are not asked again
    classifier.close()


def test_a_model_answering_prose_leaves_every_group_in_needs_review_and_says_why(
    sqlite_db, tmp_path, ollama
) -> None:
    ollama.mode = "malformed"
    review, classifier = setup(sqlite_db, tmp_path, ollama.url)
    report = classify(review, classifier)
    assert (report.classified, report.failed) == (0, 5)
    message = f"review model at {ollama.url} answered something that is not JSON: 'Sure! Group 1 looks like"
    assert report.errors[0].startswith(message)
    assert {g.state for g in review.window(24).groups} == {"needs_review"}
    assert all(g.note.startswith(f"classification failed: {message}") for g in review.window(24).groups)
    classifier.close()


def test_answers_off_the_schema_or_missing_groups_are_refused_per_group(sqlite_db, tmp_path, ollama) -> None:
    ollama.mode = "invalid"
    review, classifier = setup(sqlite_db, tmp_path, ollama.url)
    assert classify(review, classifier).failed == 5
    notes = {g.note for g in review.window(24).groups}
    assert notes == {
        "classification failed: the model's answer was unusable: label: Input should be 'REAL', 'FALSE_POSITIVE' or 'NOISE'"
    }
    ollama.mode = "partial"
    report = classify(review, classifier)
    assert (report.classified, report.failed) == (3, 2)  # the first of each batch of 2
    unanswered = [g for g in review.window(24).groups if g.verdict is None]
    assert {g.note for g in unanswered} == {"classification failed: the model did not answer for this group"}
    classifier.close()


def test_a_slow_model_times_out_and_its_groups_wait(sqlite_db, tmp_path, ollama) -> None:
    ollama.delay_s = 2.0
    review, classifier = setup(sqlite_db, tmp_path, ollama.url, timeout_s=0.3, batch_size=10)
    report = classify(review, classifier)
    assert report.errors == ["review model 'qwen3.5:35b' at " + ollama.url + " did not answer within 0.3 s"]
    assert {g.state for g in review.window(24).groups} == {"needs_review"}
    classifier.close()


def test_a_model_that_is_down_or_crashed_leaves_groups_in_needs_review(db, tmp_path, ollama) -> None:
    down = f"http://user:secret@127.0.0.1:{free_port()}"
    review, classifier = setup(db, tmp_path, down, batch_size=10)
    report = classify(review, classifier)
    assert report.failed == 5
    assert report.errors[0].startswith("review model at http://user:***@127.0.0.1:")
    assert "is unreachable" in report.errors[0]
    assert "secret" not in review.window(24).groups[0].note
    assert review.store.last_run().failed == 5
    classifier.close()
    ollama.mode = "error"
    crashed = ReviewClassifier(review.config.model_copy(update={"url": ollama.url}), default_url="")
    again = classify(review, crashed)
    assert again.errors == [
        f"review model at {ollama.url} answered HTTP 500: "
        '{"error": "llama runner process has terminated: signal: killed"}'
    ]
    crashed.close()


def test_a_model_that_refuses_the_think_flag_is_asked_again_without_it(sqlite_db, tmp_path, ollama) -> None:
    ollama.think_supported = False
    review, classifier = setup(sqlite_db, tmp_path, ollama.url, batch_size=10)
    assert classify(review, classifier).classified == 5
    assert "think" in ollama.chats[0]
    assert "think" not in ollama.chats[1]
    classifier.close()


def test_high_confidence_noise_is_acknowledged_only_when_configured(sqlite_db, tmp_path, ollama) -> None:
    review, classifier = setup(sqlite_db, tmp_path, ollama.url, auto_acknowledge_noise=True)
    assert classify(review, classifier).acknowledged == 1
    cat = next(g for g in review.window(24).groups if g.description == CAT)
    assert (cat.state, cat.decided_by) == ("acknowledged", "model:qwen3.5:35b")
    classifier.close()


def test_the_daily_worker_runs_when_due_and_sends_a_digest(sqlite_db, tmp_path, ollama) -> None:
    seed_day(sqlite_db, tmp_path / "alerts")
    config = load_config(
        None, logging={"file": None}, cameras=cameras_config(tmp_path),
        vision={"url": "http://unused:1", "review": {"url": ollama.url, "daily_at": "07:00"}},
    )  # fmt: skip

    def review() -> AlertReview:
        return AlertReview(sqlite_db, config=config.vision.review, cameras=config.cameras)

    now = time.time()
    two_days_ago = datetime.fromtimestamp(now - 2 * 86400).replace(hour=7, minute=0).timestamp()
    review().store.record_run(ReviewRun(0, "daily", two_days_ago, two_days_ago, "m", 0, 0, 0, 0, ""))
    with NotificationReceiver() as receiver:
        bus = NotificationBus(AppriseNotifier([receiver.apprise_url("json")]))
        worker = ReviewWorker(config=lambda: config, review=review, bus=bus, timeout_s=5)
        ctx = WorkerContext(stop=threading.Event())
        thread = threading.Thread(target=worker.run, args=(ctx,), daemon=True)
        thread.start()
        message = receiver.wait_for(timeout=20)
        ctx.stop.set()
        thread.join(10)
        bus.stop()
    body = json.loads(message.body)
    assert body["title"] == "Alert review"
    assert body["message"].startswith(
        "20 alerts in 5 groups over the last 24 h.\nThe model (qwen3.5:35b) flagged 4"
    )
    assert f"- gate: {CAR!r} x6 (FALSE_POSITIVE 0.93)" in body["message"]
    last = review().store.last_run("daily")
    assert (last.classified, last.flagged) == (5, 4)
    assert worker.next_due(last, now) > now  # tomorrow's slot, not another run today
    assert not thread.is_alive()


def test_the_daily_slot_is_the_first_after_the_last_run_and_a_failed_run_is_retried_hourly() -> None:
    config = load_config(None, logging={"file": None}, vision={"review": {"daily_at": "07:00"}})
    worker = ReviewWorker(config=lambda: config, review=lambda: None, bus=None, timeout_s=5)  # type: ignore[arg-type,return-value]
    at = datetime(2026, 3, 31, 8, 30).timestamp()

    def run(when: datetime, classified: int, failed: int) -> ReviewRun:
        return ReviewRun(1, "daily", when.timestamp(), when.timestamp(), "m", 5, classified, 0, failed, "")

    assert datetime.fromtimestamp(worker.next_due(None, at)) == datetime(
        2026, 4, 1, 7, 0
    )  # never ran: tomorrow
    missed = run(datetime(2026, 3, 30, 7, 0, 5), 5, 0)
    assert datetime.fromtimestamp(worker.next_due(missed, at)) == datetime(2026, 3, 31, 7, 0)  # missed: now
    failed = run(datetime(2026, 3, 31, 7, 0, 5), 0, 5)
    assert datetime.fromtimestamp(worker.next_due(failed, at)) == datetime(2026, 3, 31, 8, 0, 5)
    partly = run(datetime(2026, 3, 31, 7, 0, 5), 3, 2)
    assert datetime.fromtimestamp(worker.next_due(partly, at)) == datetime(2026, 4, 1, 7, 0)
