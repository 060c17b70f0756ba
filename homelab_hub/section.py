"""The base of every config section, a leaf: engines' settings import it, and config.py builds
the one tree from those settings (so the base cannot live in config.py, which imports them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_default=True)
