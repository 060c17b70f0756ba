"""What a new hub still lacks, as the home page's next steps: generated from what is configured
(cameras, tokens, memories), so the page stops suggesting a step once it is done."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from homelab_hub.errors import HubError
from homelab_hub.server.token_store import TokenStore

if TYPE_CHECKING:
    from homelab_hub.services import Services

# Alerts counted on the home page's Alerts card: the review page's default window.
ALERT_WINDOW_S = 24 * 3600.0
ALERT_COUNT_CAP = 1000


@dataclass(frozen=True)
class NextStep:
    title: str
    command: str
    why: str


def next_steps(services: Services) -> list[NextStep]:
    """The steps still open, most useful first. Raises nothing: a database that is away
    leaves out the steps it cannot decide."""
    steps: list[NextStep] = []
    if not services.config.cameras:
        steps.append(
            NextStep(
                "Add a camera",
                "homelab-hub init",
                "writes homelab-hub.toml with every setting; add a [cameras.NAME] section with "
                'url = "rtsp://…", then reload the hub with kill -HUP',
            )
        )
    if services.config.cameras and not services.config.vision.enabled:
        steps.append(
            NextStep(
                "Add a vision model",
                f"ollama pull {services.config.vision.model}, then [vision] enabled = true",
                "now every motion is kept unverified and nobody is notified; with a model, motion it "
                "judges harmless (shadows, swaying trees) is dropped and the rest become alerts that notify you",
            )
        )
    try:
        has_tokens = TokenStore(services.db).any_live()
    except HubError:
        has_tokens = True
    if not has_tokens:
        steps.append(
            NextStep(
                "Connect Claude Code",
                "homelab-hub token create claude && homelab-hub claude-setup",
                "creates a token for agent claude and prints the claude mcp add commands",
            )
        )
    if services.memory is not None:
        try:
            empty = services.memory.count(None) == 0
        except HubError:
            empty = False
        if empty:
            steps.append(
                NextStep(
                    "Import your notes",
                    "homelab-hub memory import NOTES --agent claude",
                    "markdown and text notes become memories that agent claude's searches find",
                )
            )
    return steps


def recent_alert_count(services: Services) -> int | None:
    """Alerts of the last 24 hours (capped at ALERT_COUNT_CAP), None without cameras."""
    if services.cameras is None or not services.config.cameras:
        return None
    try:
        recent = services.cameras.recent_alerts(since=time.time() - ALERT_WINDOW_S, limit=ALERT_COUNT_CAP)
    except HubError:
        return None
    return len(recent)
