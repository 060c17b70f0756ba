"""Synthetic camera sound for tests: espeak-ng speech, silence and hiss at known levels.

    track = script(silence(1), speech("Help! There is a fire at the front gate"), silence(2))
    write_wav(tmp_path / "gate.wav", track)             # for `camera listen`
    write_track(tmp_path / "gate.aac", track, "aac")    # for the RTSP camera (ADTS)
    write_track(tmp_path / "gate.alaw", track, "alaw")  # G.711 A-law, 8 kHz

Every array is 16 kHz mono float32 in [-1, 1]; speech is made once per text and cached.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

import av
import numpy as np

RATE = 16_000


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


@functools.lru_cache(maxsize=64)
def _speech(text: str, voice: str, speed: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), "--stdin"],
            input=text.encode(),
            check=True,
            capture_output=True,
        )
        return read_audio(wav)


def speech(text: str, *, voice: str = "en-us", speed: int = 150, gain_db: float = 0.0) -> np.ndarray:
    """espeak-ng saying ``text`` (about -20 dBFS), louder or softer by ``gain_db``."""
    return (_speech(text, voice, speed) * 10 ** (gain_db / 20)).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


def hiss(seconds: float, dbfs: float = -60.0, seed: int = 0) -> np.ndarray:
    """White noise whose RMS is ``dbfs`` (a quiet microphone's own noise is about -60)."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * RATE)) * 10 ** (dbfs / 20)).astype(np.float32)


def script(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate(parts).astype(np.float32)


def mix(base: np.ndarray, part: np.ndarray, at_s: float) -> np.ndarray:
    """``part`` added into ``base`` at ``at_s`` seconds (cut at the end of ``base``)."""
    out = base.copy()
    start = int(at_s * RATE)
    end = min(out.size, start + part.size)
    out[start:end] += part[: end - start]
    return np.clip(out, -1, 1)


def read_audio(path: str | Path) -> np.ndarray:
    """Any file's first audio track as 16 kHz mono float32."""
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        blocks = [
            f.to_ndarray().reshape(-1)
            for frame in container.decode(audio=0)
            for f in resampler.resample(frame)
        ]
        blocks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(blocks).astype(np.float32)


def _frame(samples: np.ndarray) -> av.AudioFrame:
    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
    frame.sample_rate = RATE
    return frame


def write_wav(path: str | Path, samples: np.ndarray) -> Path:
    return write_track(path, samples, "wav")


def write_track(path: str | Path, samples: np.ndarray, codec: str) -> Path:
    """Encode: ``wav`` (16 kHz PCM), ``aac`` (ADTS, 16 kHz, as many cameras send), ``alaw``
    (raw G.711 A-law at 8 kHz, the other common camera codec)."""
    fmt, name, rate = {
        "wav": ("wav", "pcm_s16le", RATE),
        "aac": ("adts", "aac", RATE),
        "alaw": ("alaw", "pcm_alaw", 8000),
    }[codec]
    path = Path(path)
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(name, rate=rate, layout="mono")
        fmt_name = stream.codec_context.format.name if stream.codec_context.format else "s16"
        resampler = av.AudioResampler(format=fmt_name, layout="mono", rate=rate)
        for frame in [*resampler.resample(_frame(samples)), *resampler.resample(None)]:
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path
