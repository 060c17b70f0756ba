"""The alert review engine on SQLite and MariaDB: grouping, states, suppression with preview,
expiry, hit counters and undo, and "exclude this area"."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from homelab_hub.cameras.alerts.store import AlertStore
from homelab_hub.cameras.detect.motion import MotionDetector
from homelab_hub.cameras.detect.verdict import normalize_description
from homelab_hub.cameras.review.groups import AlertReview
from homelab_hub.cameras.review.suppress import preview, suppress, unsuppress
from homelab_hub.cameras.review.zone import draft_zone_name, exclusion_zone
from homelab_hub.cameras.settings import CameraConfig, MotionConfig, ReviewConfig
from homelab_hub.cameras.zones.editor import ZoneEditor
from homelab_hub.cameras.zones.mask import detection_size, draft_mask
from homelab_hub.cameras.zones.store import ZoneStore
from homelab_hub.errors import Conflict, InvalidInput, NotFound
from tests.cameras.review_data import (
    CAR,
    CAT,
    FRAME_H,
    FRAME_W,
    GRILL,
    STEAM,
    VISITOR,
    cameras_config,
    record,
    seed_day,
)


def make_review(db, tmp_path: Path, **review) -> AlertReview:
    cameras = {name: CameraConfig(**cfg) for name, cfg in cameras_config(tmp_path).items()}
    return AlertReview(db, config=ReviewConfig(**review), cameras=cameras)


def by_description(review: AlertReview, description: str, hours: int = 24):
    return next(g for g in review.window(hours).groups if g.normalized == normalize_description(description))


def test_a_day_of_alerts_is_grouped_by_camera_and_description(db, tmp_path: Path) -> None:
    seeded = seed_day(db, tmp_path / "alerts")
    review = make_review(db, tmp_path)
    window = review.window(24)
    assert window.alerts == 20
    assert [(g.camera, g.count) for g in window.groups] == [
        ("gate", 6),
        ("drive", 5),
        ("yard", 4),
        ("yard", 3),
        ("gate", 2),
    ]
    car = window.groups[0]
    assert car.description == CAR
    assert car.state == "needs_review"
    assert car.last_seen == pytest.approx(seeded[CAR][0].ts)
    assert car.first_seen == pytest.approx(seeded[CAR][-1].ts)
    assert sum(car.hours) == 6
    assert car.hours[time.localtime(seeded[CAR][0].ts).tm_hour] == 1
    assert car.alert_ids == [a.id for a in seeded[CAR][:5]]
    assert car.sample_alert_ids == [a.id for a in seeded[CAR][:3]]
    assert window.states == {"needs_review": 5, "ai_flagged": 0, "suppressed": 0, "acknowledged": 0}
    assert review.window(24).groups[0].id == car.id  # the group row is kept
    assert [g.description for g in review.window(24, "gate").groups] == [CAR, VISITOR]
    assert [g.count for g in review.window(2).groups] == [1, 1, 1, 1, 1]
    assert {a.review_status for a in AlertStore(db).recent(limit=50)} == {"needs_review"}


def test_unknown_cameras_groups_and_states_are_refused(db, tmp_path: Path) -> None:
    review = make_review(db, tmp_path)
    with pytest.raises(NotFound, match="unknown camera 'garage'; known cameras: 'drive', 'gate', 'yard'"):
        review.window(24, "garage")
    with pytest.raises(NotFound, match="review group 999 does not exist"):
        review.group(999)
    with pytest.raises(InvalidInput, match="state 'snoozed' is not a review state"):
        review.window(24, state="snoozed")
    with pytest.raises(InvalidInput, match="hours 0 is outside 1..720"):
        review.window(0)


def test_an_acknowledgement_is_recorded_and_a_new_alert_reopens_the_group(db, tmp_path: Path) -> None:
    seed_day(db, tmp_path / "alerts")
    review = make_review(db, tmp_path)
    visitor = by_description(review, VISITOR)
    acked = review.acknowledge(visitor.id, by="root")
    assert acked.state == "acknowledged"
    assert acked.decided_by == "root"
    assert acked.decided_at is not None
    statuses = {
        a.review_status for a in AlertStore(db).recent(camera="gate", limit=50) if a.description == VISITOR
    }
    assert statuses == {"acknowledged"}
    record(AlertStore(db), tmp_path / "alerts", "gate", VISITOR, time.time(), (300, 150, 60, 150))
    reopened = review.group(visitor.id)
    assert reopened.state == "needs_review"
    assert reopened.note == "1 new alert(s) since root acknowledged it"
    assert reopened.count == 3


def test_a_verdict_flags_a_group_for_a_person_and_never_suppresses(db, tmp_path: Path) -> None:
    seed_day(db, tmp_path / "alerts")
    review = make_review(db, tmp_path, auto_acknowledge_noise=True)
    verdicts = {
        CAR: ("FALSE_POSITIVE", 0.93),
        VISITOR: ("REAL", 0.9),
        CAT: ("NOISE", 0.95),
        GRILL: ("NOISE", 0.6),
    }
    for description, (label, confidence) in verdicts.items():
        row = review.row(by_description(review, description).id)
        review.apply_verdict(
            row, label=label, confidence=confidence, reason="r", pattern="", model="qwen3.5:35b"
        )  # type: ignore[arg-type]
    states = {g.description: (g.state, g.decided_by) for g in review.window(24).groups}
    assert states[CAR] == ("ai_flagged", "model:qwen3.5:35b")
    assert states[VISITOR] == ("needs_review", "")
    assert states[CAT] == ("acknowledged", "model:qwen3.5:35b")  # high-confidence NOISE, setting on
    assert states[GRILL] == ("ai_flagged", "model:qwen3.5:35b")  # NOISE below the confidence asked for
    assert AlertStore(db).suppressions() == []
    steam = review.acknowledge(by_description(review, STEAM).id, by="root")
    review.apply_verdict(review.row(steam.id), label="FALSE_POSITIVE", confidence=0.9, reason="steam",
                         pattern="steam", model="qwen3.5:35b")  # fmt: skip
    after = review.group(steam.id)
    assert (after.state, after.decided_by, after.decided_at) == ("acknowledged", "root", steam.decided_at)
    assert after.verdict.label == "FALSE_POSITIVE"  # shown, but the person's decision stands


def test_suppressing_a_group_previews_its_window_and_silences_that_camera_only(db, tmp_path: Path) -> None:
    seed_day(db, tmp_path / "alerts")
    review = make_review(db, tmp_path)
    car = by_description(review, CAR)
    seen = preview(review, "on the road", camera="gate")
    assert (seen.matched_alerts, seen.window_alerts, seen.matched_groups) == (6, 8, [car.id])
    done = suppress(review, by="root", group_id=car.id, pattern="on the road", expires_days=7)
    assert done.suppression.camera == "gate"
    assert done.suppression.created_by == "root"
    assert done.suppression.expires_at == pytest.approx(time.time() + 7 * 86400, abs=5)
    assert done.group is not None
    assert done.group.state == "suppressed"
    assert done.message.endswith("it would have silenced 6 of 8 alerts in the last 24 h")
    store = AlertStore(db)
    assert store.suppressed_by("yard", CAR) is None
    assert store.suppressed_by("gate", CAR) == "on the road"
    assert store.suppression(done.suppression.id).hits == 1
    assert {a.review_status for a in store.recent(camera="gate", limit=50) if a.description == CAR} == {
        "suppressed"
    }
    with pytest.raises(Conflict, match="already silences 'on the road' on camera 'gate'"):
        suppress(review, by="root", group_id=car.id, pattern="on the road")


def test_an_expired_suppression_stops_matching_and_releases_its_group(
    db, tmp_path: Path, monkeypatch
) -> None:
    seed_day(db, tmp_path / "alerts")
    review = make_review(db, tmp_path)
    steam = by_description(review, STEAM)
    done = suppress(review, by="root", group_id=steam.id, expires_days=1)
    store = AlertStore(db)
    assert store.suppressed_by("drive", STEAM) == normalize_description(STEAM)
    later = time.time() + 2 * 86400
    monkeypatch.setattr(time, "time", lambda: later)
    assert store.suppressed_by("drive", STEAM) is None
    released = review.group(steam.id, hours=24 * 3)
    assert released.state == "needs_review"
    assert released.note.startswith(f"suppression {done.suppression.id} expired at ")
    assert store.suppressions() == []
    assert store.suppression(done.suppression.id).hits == 1  # counted while it was active


def test_undo_restores_a_suppressed_group(db, tmp_path: Path) -> None:
    seed_day(db, tmp_path / "alerts")
    review = make_review(db, tmp_path)
    grill = by_description(review, GRILL)
    review.apply_verdict(review.row(grill.id), label="FALSE_POSITIVE", confidence=0.91, reason="the grill",
                         pattern="kamado grill", model="qwen3.5:35b")  # fmt: skip
    done = suppress(review, by="root", group_id=grill.id)
    assert done.suppression.pattern == "kamado grill"  # the model's suggestion
    undone, group, message = unsuppress(review, by="root", group_id=grill.id)
    assert message == f"suppression {done.suppression.id} undone; review group {grill.id} is ai_flagged"
    assert group is not None
    assert group.state == "ai_flagged"
    assert group.note == f"suppression {done.suppression.id} was undone by root"
    assert undone[0].removed_by == "root"
    assert AlertStore(db).suppressed_by("yard", GRILL) is None
    with pytest.raises(InvalidInput, match=f"review group {grill.id} is not suppressed"):
        unsuppress(review, by="root", group_id=grill.id)


def test_bad_suppressions_are_refused_with_clear_errors_and_save_nothing(db, tmp_path: Path) -> None:
    seed_day(db, tmp_path / "alerts")
    record(AlertStore(db), tmp_path / "alerts", "drive", "A figure is standing by the stone wall.", time.time() - 60,
           (500, 60, 80, 120))  # fmt: skip
    review = make_review(db, tmp_path)
    steam = by_description(review, STEAM)
    with pytest.raises(InvalidInput, match="has no words; it would silence every alert"):
        suppress(review, by="root", pattern="*")
    with pytest.raises(InvalidInput, match="'the' is made of filler words only .*; pass confirm=true"):
        suppress(review, by="root", pattern="the")
    with pytest.raises(
        InvalidInput,
        match=r"'figure' would have silenced all 6 alerts of camera 'drive' in 2 groups; pass confirm=true",
    ):
        suppress(review, by="root", pattern="figure", camera="drive")
    with pytest.raises(InvalidInput, match="is 10000 characters long; at most 200 are allowed"):
        suppress(review, by="root", pattern="x" * 10_000)
    with pytest.raises(InvalidInput, match="expires_days -1 puts the expiry in the past"):
        suppress(review, by="root", group_id=steam.id, expires_days=-1)
    with pytest.raises(InvalidInput, match="is in the past"):
        AlertStore(db).add_suppression("steam", expires_at=time.time() - 60)
    with pytest.raises(InvalidInput, match=f"pattern 'grill' does not match review group {steam.id}"):
        suppress(review, by="root", group_id=steam.id, pattern="grill")
    with pytest.raises(NotFound, match="review group 4242 does not exist"):
        suppress(review, by="root", group_id=4242)
    with pytest.raises(NotFound, match="unknown camera 'garage'"):
        suppress(review, by="root", pattern="car", camera="garage")
    assert AlertStore(db).suppressions(include_inactive=True) == []
    confirmed = suppress(review, by="root", pattern="figure", camera="drive", confirm=True)
    assert confirmed.preview.matched_alerts == 6


def test_exclude_this_area_drafts_a_valid_zone_that_the_pipeline_mask_applies(db, tmp_path: Path) -> None:
    seed_day(db, tmp_path / "alerts")
    review = make_review(db, tmp_path)
    car = by_description(review, CAR)
    draft = exclusion_zone(review, car.id)
    assert [z.name for z in draft.drafted] == [draft_zone_name(car.normalized)]
    assert draft.drafted[0].name.startswith("ignore a car is moving on the road")
    assert (draft.frame_width, draft.frame_height) == (FRAME_W, FRAME_H)
    assert draft.zones.source == "draft"
    xs = [x for x, _ in draft.drafted[0].points]
    ys = [y for _, y in draft.drafted[0].points]
    assert min(xs) == pytest.approx(40 / FRAME_W - 0.02, abs=0.01)
    assert max(xs) == pytest.approx(240 / FRAME_W + 0.02, abs=0.01)
    assert max(ys) == pytest.approx(70 / FRAME_H + 0.02, abs=0.01)
    assert 0.05 < draft.coverage < 0.15
    assert ZoneStore(db).load("gate", []).source == "config"  # nothing saved yet
    editor = ZoneEditor(ZoneStore(db), manager=None, cameras=review.cameras)
    saved = editor.add("gate", draft.drafted[0].name, [list(p) for p in draft.drafted[0].points])
    detector = MotionDetector(MotionConfig(), saved.zones)
    still = np.full((FRAME_H, FRAME_W, 3), 90, np.uint8)
    assert detector.detect(still).kind == "first"
    moved = still.copy()
    cv2.rectangle(moved, (60, 20), (200, 60), (20, 20, 20), -1)  # where the car drove
    assert detector.detect(moved).kind == "none"
    elsewhere = moved.copy()
    cv2.rectangle(elsewhere, (300, 200), (380, 300), (20, 20, 20), -1)
    assert detector.detect(elsewhere).kind == "motion"
    taken = draft.drafted[0].name
    with pytest.raises(Conflict, match=f"zone '{taken}' on camera 'gate' already exists"):
        exclusion_zone(review, car.id, name=taken)


def test_the_draft_mask_is_the_mask_the_motion_prefilter_applies(tmp_path: Path) -> None:
    from homelab_hub.cameras.settings import ZoneConfig

    zones = [
        ZoneConfig(name="road", points=[(0, 0), (1, 0), (1, 0.3), (0, 0.3)]),
        ZoneConfig(name="grill", points=[(0.7, 0.6), (0.9, 0.6), (0.8, 0.9)]),
    ]
    mask = draft_mask(zones, 1920, 1080, 640)
    assert (mask.width, mask.height) == detection_size(1920, 1080, 640)
    png = cv2.imdecode(np.frombuffer(mask.png, np.uint8), cv2.IMREAD_UNCHANGED)
    detector = MotionDetector(MotionConfig(), zones)
    applied = detector._mask.for_size(mask.width, mask.height)
    assert png.shape == (360, 640, 4)
    assert np.array_equal(png[:, :, 3] > 0, applied == 0)
    assert mask.ignored_share == pytest.approx(float((applied == 0).mean()), abs=1e-4)


def test_a_group_with_a_long_description_is_suppressed_by_its_first_words(sqlite_db, tmp_path: Path) -> None:
    long = "A person is standing by the gate post lights and " + "looking around the yard slowly " * 20
    record(AlertStore(sqlite_db), tmp_path / "alerts", "gate", long, time.time() - 60, (10, 10, 40, 80))
    review = make_review(sqlite_db, tmp_path)
    group = review.window(1).groups[0]
    done = suppress(review, by="root", group_id=group.id)
    assert len(done.suppression.pattern) <= 200
    assert normalize_description(long).startswith(done.suppression.pattern)
    assert AlertStore(sqlite_db).suppressed_by("gate", long) == done.suppression.pattern
