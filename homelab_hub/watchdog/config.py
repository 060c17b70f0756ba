"""Settings of the self-healing watchdog."""

from pydantic import BaseModel, ConfigDict


class WatchdogConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)
