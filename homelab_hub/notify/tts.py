"""Text to speech for the speakers: espeak-ng (Debian's package), or a Piper voice if configured.

The text goes in on stdin, never on the command line: a transcript that starts with '-' would
otherwise be read as an option, and nothing from a camera or a model ever becomes argv. The
program writes a WAV file, which becomes MP3 (every LinkPlay device and Home Assistant media
player plays it) with PyAV's encoder.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from homelab_hub.errors import Unavailable
from homelab_hub.lazy import lazy_module
from homelab_hub.notify.config import SpeakersConfig

av = lazy_module("av")

log = logging.getLogger(__name__)

MAX_CHARS = 400  # an announcement is a sentence or two; a runaway transcript is cut here
_TIMEOUT_S = 30.0


class SpeechFailed(Unavailable):
    """The text-to-speech program is missing or failed."""


class TextToSpeech:
    def __init__(self, config: SpeakersConfig) -> None:
        self.config = config
        self.engine = "piper" if config.piper_voice is not None else "espeak-ng"

    def argv(self, wav: Path) -> list[str]:
        """The command that writes ``wav`` from text on stdin."""
        if self.config.piper_voice is not None:
            voice = str(Path(self.config.piper_voice).expanduser())
            return [self.config.piper_bin, "--model", voice, "--output_file", str(wav)]
        return [
            "espeak-ng",
            "-v",
            self.config.voice,
            "-s",
            str(self.config.speed_wpm),
            "-w",
            str(wav),
            "--stdin",
        ]

    def available(self) -> bool:
        return shutil.which(self.argv(Path("x.wav"))[0]) is not None

    def synthesize(self, text: str) -> bytes:
        """MP3 bytes of the spoken text. Raises SpeechFailed (program missing, failed, no audio)."""
        text = " ".join(text.split())[:MAX_CHARS]
        with tempfile.TemporaryDirectory(prefix="homelab-hub-tts-") as tmp:
            wav = Path(tmp) / "speech.wav"
            argv = self.argv(wav)
            try:
                done = subprocess.run(argv, input=text.encode(), capture_output=True, timeout=_TIMEOUT_S)
            except FileNotFoundError as exc:
                hint = (
                    "apt-get install espeak-ng"
                    if self.engine == "espeak-ng"
                    else "install piper or fix piper_bin"
                )
                raise SpeechFailed(f"speakers: {argv[0]} is not installed ({hint})") from exc
            except subprocess.TimeoutExpired as exc:
                raise SpeechFailed(f"speakers: {self.engine} took longer than {_TIMEOUT_S:g}s") from exc
            if done.returncode != 0 or not wav.is_file():
                err = done.stderr.decode(errors="replace").strip()[-300:]
                raise SpeechFailed(f"speakers: {self.engine} failed (exit {done.returncode}): {err}")
            return wav_to_mp3(wav)


def wav_to_mp3(path: Path) -> bytes:
    """Encode a WAV file as mono MP3 at its own rate. Raises SpeechFailed."""
    try:
        with av.open(str(path)) as src:
            stream = src.streams.audio[0]
            rate = stream.codec_context.sample_rate
            resampler = av.AudioResampler(format="s16p", layout="mono", rate=rate)
            frames = [f for frame in src.decode(stream) for f in resampler.resample(frame)]
            frames += resampler.resample(None)
        if not frames:
            raise SpeechFailed("speakers: the speech program wrote no audio")
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).reshape(1, -1)
        out = io.BytesIO()
        with av.open(out, "w", format="mp3") as dst:
            enc = dst.add_stream("libmp3lame", rate=rate, layout="mono")
            enc.bit_rate = 64_000
            frame = av.AudioFrame.from_ndarray(pcm, format="s16p", layout="mono")
            frame.sample_rate = rate
            for packet in enc.encode(frame):
                dst.mux(packet)
            for packet in enc.encode(None):
                dst.mux(packet)
        return out.getvalue()
    except av.error.FFmpegError as exc:
        raise SpeechFailed(f"speakers: cannot encode the speech as MP3: {exc.strerror or exc}") from exc
