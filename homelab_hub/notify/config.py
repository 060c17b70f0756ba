"""Settings of the notification bus (Apprise, MQTT), shared by cameras and watchdog."""

from pydantic import BaseModel, ConfigDict, Field


class NotifyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)

    apprise_urls: list[str] = Field(
        default_factory=list,
        description="Apprise URLs to notify (tgram://…, ntfy://…, discord://…, json://host/path).",
    )
