"""Running the review model over a window's groups: on demand (the tool, the page) and once
a day as a supervised worker, which can send a short digest through the notification bus.

A run classifies the groups nobody has labelled yet (or the one asked for), in batches. A
batch the model cannot answer (down, slow, garbage) leaves its groups in needs_review with
the reason in their note; the others go on. Every run is recorded in review_runs, which is
also how the daily worker knows, after a restart, whether today's run already happened.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from homelab_hub.cameras.review.classifier import GroupPrompt, ReviewClassifier
from homelab_hub.cameras.review.groups import AlertReview, ReviewGroup, ReviewWindow
from homelab_hub.cameras.review.store import ReviewRun
from homelab_hub.errors import HubError
from homelab_hub.workers import WorkerContext

if TYPE_CHECKING:
    from homelab_hub.config import HubConfig
    from homelab_hub.notify.bus import NotificationBus

log = logging.getLogger(__name__)

WORKER_NAME = "alert-review"
_RETRY_S = 3600.0


@dataclass(frozen=True)
class ClassifyReport:
    trigger: str
    model: str
    groups: int  # sent to the model
    classified: int
    flagged: int  # now ai_flagged
    acknowledged: int  # acknowledged automatically (auto_acknowledge_noise)
    failed: int  # left in needs_review
    errors: list[str] = field(default_factory=list)
    took_s: float = 0.0


def classify(
    review: AlertReview,
    classifier: ReviewClassifier,
    *,
    hours: int = 24,
    camera: str | None = None,
    group_id: int | None = None,
    trigger: str = "on_demand",
    progress: Callable[[], None] | None = None,
    stop: threading.Event | None = None,
) -> ClassifyReport:
    """Label the window's unlabelled groups (or one group, again). Model failures are in the
    report, never raised. Raises NotFound, InvalidInput (bad arguments), StorageUnavailable."""
    started = time.time()
    if group_id is not None:
        targets = [review.group(group_id, hours)]
    else:
        window = review.window(hours, camera)
        targets = [g for g in window.groups if g.verdict is None and g.state == "needs_review"]
    classified = flagged = acked = failed = 0
    errors: list[str] = []
    size = review.config.batch_size
    for i in range(0, len(targets), size):
        if stop is not None and stop.is_set():
            break
        batch = targets[i : i + size]
        prompts = [_prompt(review, g) for g in batch]
        try:
            answer = classifier.label(prompts, review.config.context)
        except HubError as exc:
            note = f"classification failed: {exc.message}"
            review.store.set_notes([(g.id, note) for g in batch])
            failed += len(batch)
            if exc.message not in errors:
                errors.append(exc.message)
            log.warning("alert review: a batch of %d groups failed: %s", len(batch), exc.message)
            continue
        notes = []
        for group in batch:
            got = answer.labels.get(group.id)
            if got is None:
                failed += 1
                notes.append(
                    (group.id, f"classification failed: {answer.problems.get(group.id, 'no answer')}")
                )
                continue
            state = review.apply_verdict(
                review.row(group.id), label=got.label, confidence=got.confidence, reason=got.reason,
                pattern=got.suggested_pattern, model=answer.model,
            )  # fmt: skip
            classified += 1
            flagged += state == "ai_flagged"
            acked += state == "acknowledged" and got.label == "NOISE"
        review.store.set_notes(notes)
        if progress is not None:
            progress()
    report = ClassifyReport(
        trigger=trigger, model=classifier.model, groups=len(targets), classified=classified, flagged=flagged,
        acknowledged=acked, failed=failed, errors=errors, took_s=round(time.time() - started, 2),
    )  # fmt: skip
    review.store.record_run(
        ReviewRun(0, trigger, started, time.time(), classifier.model, len(targets), classified, flagged, failed,
                  "; ".join(errors))
    )  # fmt: skip
    return report


def _prompt(review: AlertReview, group: ReviewGroup) -> GroupPrompt:
    camera = review.cameras.get(group.camera)
    paths = []
    for alert_id in group.sample_alert_ids[: review.config.images_per_group]:
        alert = review.alerts.get(alert_id)
        if alert is not None and alert.image_path:
            paths.append(alert.image_path)
    return GroupPrompt(
        id=group.id, camera=group.camera, description=group.description, normalized=group.normalized,
        count=group.count, first_seen=group.first_seen, last_seen=group.last_seen, hours=group.hours,
        known_features=list(camera.known_features) if camera else [], image_paths=paths,
    )  # fmt: skip


def digest(window: ReviewWindow, report: ClassifyReport) -> tuple[str, str]:
    """A short message for people: what the day held and what waits for them."""
    flagged = [g for g in window.groups if g.state == "ai_flagged"]
    waiting = [g for g in window.groups if g.state == "needs_review"]
    lines = [
        f"{window.alerts} alerts in {len(window.groups)} groups over the last {window.hours} h.",
        f"The model ({report.model}) flagged {len(flagged)} group(s), {sum(g.count for g in flagged)} alerts, "
        f"as false positives or noise; {len(waiting)} group(s) need review.",
    ]
    if report.failed:
        lines.append(f"{report.failed} group(s) could not be classified: {'; '.join(report.errors)[:200]}")
    for g in flagged[:5]:
        verdict = g.verdict
        label = f"{verdict.label} {verdict.confidence:.2f}" if verdict else ""
        lines.append(f"- {g.camera}: {g.description[:80]!r} x{g.count} ({label})")
    return "Alert review", "\n".join(lines)


class ReviewWorker:
    """Once a day at [vision.review].daily_at (local time): classify the window, send the digest."""

    name = WORKER_NAME

    def __init__(
        self,
        *,
        config: Callable[[], HubConfig],
        review: Callable[[], AlertReview],
        bus: NotificationBus | None,
        timeout_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._review = review
        self.bus = bus
        self.clock = clock
        # A run beats between batches: one batch may take the whole model timeout.
        self.heartbeat_timeout: float | None = timeout_s * 2 + 60

    def next_due(self, last: ReviewRun | None, now: float) -> float:
        """When the next run is due: the first daily_at after the last run, or an hour after a
        run the model failed entirely (its host rebooting at 07:00 should not cost the day).
        Without any run yet, the next daily_at from now: a fresh hub does not start with a
        long model run."""
        hour, minute = (int(p) for p in self._config().vision.review.daily_at.split(":"))
        start = datetime.fromtimestamp(last.started_at if last is not None else now)
        slot = start.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if slot.timestamp() <= start.timestamp():
            slot += timedelta(days=1)
        if last is not None and _failed_entirely(last):
            return min(slot.timestamp(), last.started_at + _RETRY_S)
        return slot.timestamp()

    def run(self, ctx: WorkerContext) -> None:
        while not ctx.stop.is_set():
            review = self._review()
            last = review.store.last_run("daily")
            due = self.next_due(last, self.clock())
            ctx.beat(next_run=datetime.fromtimestamp(due).isoformat(timespec="minutes"))
            if self.clock() < due:
                ctx.wait(min(30.0, max(0.1, due - self.clock())))
                continue
            retry = last is not None and _failed_entirely(last) and self.clock() < last.started_at + 86400
            self.run_once(review, ctx, digest_failures=not retry)

    def run_once(
        self, review: AlertReview, ctx: WorkerContext, *, digest_failures: bool = True
    ) -> ClassifyReport:
        config = self._config()
        classifier = ReviewClassifier(config.vision.review, default_url=config.vision.url)
        try:
            report = classify(
                review, classifier, hours=config.vision.review.window_hours, trigger="daily",
                progress=ctx.beat, stop=ctx.stop,
            )  # fmt: skip
        finally:
            classifier.close()
        log.info(
            "alert review: %d groups, %d classified, %d flagged, %d failed (%s)",
            report.groups, report.classified, report.flagged, report.failed, "; ".join(report.errors) or "ok",
        )  # fmt: skip
        ctx.beat(last_run=report.classified, last_failed=report.failed)
        quiet = _failed_entirely_report(report) and not digest_failures  # hourly retries do not page anyone
        if config.vision.review.digest and self.bus is not None and not quiet:
            title, body = digest(review.window(config.vision.review.window_hours), report)
            try:
                self.bus.send(title, body)
            except Exception as exc:  # a notification outage must not stop the review
                log.warning("alert review: digest not sent: %s", exc)
        return report


def _failed_entirely(run: ReviewRun) -> bool:
    return run.failed > 0 and run.classified == 0


def _failed_entirely_report(report: ClassifyReport) -> bool:
    return report.failed > 0 and report.classified == 0
