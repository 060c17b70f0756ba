"""Settings of the notification bus (Apprise, MQTT, speakers), shared by cameras and watchdog."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# What a speaker may announce: confirmed visual alerts, gated and urgent audio alerts, and the
# hub's reports (watchdog incidents, the daily digest), which only speak when asked to.
SpeakerKind = Literal["visual", "audio", "audio_urgent", "report"]
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


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


class SpeakerConfig(BaseModel):
    """One speaker: a LinkPlay/WiiM device over its HTTP API, or a Home Assistant media player."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    kind: Literal["linkplay", "homeassistant"] = Field(
        ...,
        description="linkplay: WiiM/Arylic/Audio Pro (httpapi.asp); homeassistant: a media_player entity.",
    )
    url: str = Field(
        ...,
        description="linkplay: the device, e.g. https://192.168.1.50 (WiiM) or http://…; homeassistant: "
        "http://homeassistant.local:8123.",
    )
    entity_id: str | None = Field(
        None, description="homeassistant: the media player, e.g. media_player.kitchen."
    )
    token: str | None = Field(None, description="homeassistant: a long-lived access token.")
    verify_tls: bool | None = Field(
        None, description="Check the TLS certificate; default off for linkplay (WiiM uses a self-signed one)."
    )
    volume: int | None = Field(None, ge=0, le=100, description="Set this volume (percent) before speaking.")
    announce: bool = Field(
        True, description="homeassistant: play as an announcement (pauses and resumes what was playing)."
    )
    cameras: list[str] = Field(
        default_factory=list, description="Only alerts of these cameras speak here (empty = every camera)."
    )
    kinds: list[SpeakerKind] = Field(
        default_factory=lambda: list[SpeakerKind](["visual", "audio_urgent"]),
        description="What speaks here: visual, audio, audio_urgent, report (watchdog reports, the daily digest).",
    )
    timeout_s: float = Field(
        5.0, gt=0, le=60, description="Give up on one request to the speaker after this."
    )

    @model_validator(mode="after")
    def _check(self) -> SpeakerConfig:
        if not self.url.lower().startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, got {self.url!r}")
        if self.kind == "homeassistant" and (not self.entity_id or not self.token):
            raise ValueError(
                "a homeassistant speaker needs entity_id (media_player.…) and token (long-lived)"
            )
        if self.verify_tls is None:
            self.verify_tls = self.kind != "linkplay"
        return self


class SpeakersConfig(BaseModel):
    """Spoken alerts ([notify.speakers]): text to speech, served at one-time URLs, played on speakers."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    devices: dict[str, SpeakerConfig] = Field(
        default_factory=dict, description="Speakers by name, e.g. [notify.speakers.devices.kitchen]."
    )
    hub_url: str | None = Field(
        None,
        description="Base URL the speakers fetch the audio from, e.g. http://192.168.1.10:8042 (add its host to "
        "server.allowed_hosts).",
    )
    voice: str = Field("en-us", description="espeak-ng voice (`espeak-ng --voices` lists them).")
    speed_wpm: int = Field(150, ge=80, le=450, description="espeak-ng speed, words per minute.")
    piper_voice: Path | None = Field(
        None, description="A Piper voice (.onnx) for a better voice than espeak-ng; needs the piper program."
    )
    piper_bin: str = Field("piper", description="The piper program (name on PATH or a path).")
    quiet_hours: str | None = Field(
        None, description="Local time span without announcements, e.g. '22:00-07:00' (empty = none)."
    )
    quiet_kinds: list[SpeakerKind] = Field(
        default_factory=lambda: list[SpeakerKind](["audio_urgent"]),
        description="What still speaks during quiet hours.",
    )
    rate_limit: int = Field(
        3,
        ge=1,
        le=1000,
        description="Announcements per camera within rate_window_s at most (a flapping camera).",
    )
    rate_window_s: float = Field(600.0, gt=0, description="Window of rate_limit.")
    url_ttl_s: float = Field(120.0, ge=5, le=3600, description="A one-time audio URL expires after this.")
    url_fetches: int = Field(
        1, ge=1, le=10, description="GETs a one-time audio URL answers (some players fetch twice)."
    )

    @field_validator("quiet_hours")
    @classmethod
    def _span(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        start, sep, end = value.replace(" ", "").partition("-")
        if not sep or not _HHMM.match(start) or not _HHMM.match(end) or start == end:
            raise ValueError(f"quiet_hours must be 'HH:MM-HH:MM' with two different times, got {value!r}")
        return f"{start}-{end}"

    @model_validator(mode="after")
    def _hub_url(self) -> SpeakersConfig:
        if self.devices and not (self.hub_url or "").lower().startswith(("http://", "https://")):
            raise ValueError(
                "speakers need hub_url: the address they reach the hub at, e.g. 'http://192.168.1.10:8042'"
            )
        if self.piper_voice is not None and not Path(self.piper_voice).expanduser().is_file():
            raise ValueError(f"piper_voice {str(self.piper_voice)!r} is not a file (a Piper .onnx voice)")
        return self


class NotifyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)

    apprise_urls: list[str] = Field(
        default_factory=list,
        description="Apprise URLs to notify (tgram://…, ntfy://…, discord://…, json://host/path).",
    )
    mqtt: MqttConfig = Field(
        default_factory=MqttConfig, description="MQTT broker and Home Assistant discovery."
    )
    speakers: SpeakersConfig = Field(
        default_factory=SpeakersConfig,
        description="Spoken alerts on LinkPlay/WiiM and Home Assistant speakers.",
    )
