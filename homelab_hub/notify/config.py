"""Settings of the notification bus (Apprise, MQTT), shared by cameras and watchdog."""

from pydantic import BaseModel, ConfigDict, Field


class MqttConfig(BaseModel):
    """An MQTT broker, with Home Assistant discovery."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    enabled: bool = Field(default=False, description="Publish camera states and alerts over MQTT.")
    host: str = Field(default="127.0.0.1", description="MQTT broker host.")
    port: int = Field(default=1883, ge=1, le=65535, description="MQTT broker port.")
    username: str | None = Field(default=None, description="Broker user name (none = anonymous).")
    password: str | None = Field(default=None, description="Broker password.")
    client_id: str = Field(default="homelab-hub", description="MQTT client id; unique per hub on one broker.")
    topic_prefix: str = Field(
        default="homelab_hub", description="Prefix of the hub's own topics: PREFIX/status, PREFIX/CAMERA/…."
    )
    discovery_prefix: str = Field(
        default="homeassistant",
        description="Home Assistant discovery prefix; HA's birth message comes on PREFIX/status.",
    )
    keepalive_s: int = Field(
        default=30,
        ge=5,
        le=3600,
        description="MQTT keepalive; the broker sends our 'offline' will after 1.5x this.",
    )


class NotifyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)

    apprise_urls: list[str] = Field(
        default_factory=list,
        description="Apprise URLs to notify (tgram://…, ntfy://…, discord://…, json://host/path).",
    )
    mqtt: MqttConfig = Field(
        default_factory=MqttConfig, description="MQTT broker and Home Assistant discovery."
    )
