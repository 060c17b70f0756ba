"""The audio chunker and levels: chunks end in a pause, levels in dBFS, the ring keeps the
last seconds, a reconnect sends the partial chunk only when it is worth it."""

from __future__ import annotations

import time

import numpy as np
import pytest

from homelab_hub.cameras.audio.sink import (
    SILENCE_DBFS,
    AudioChunker,
    AudioRing,
    AudioSink,
    clean,
    level_dbfs,
    loudest_dbfs,
)
from homelab_hub.cameras.settings import AudioConfig
from tests.cameras.audio_clips import espeak_available, hiss, script, silence, speech
from tests.support import require


def test_levels_are_in_dbfs() -> None:
    square = np.sign(np.sin(np.arange(16000) * 0.1)).astype(np.float32)
    assert level_dbfs(square) == pytest.approx(0.0, abs=0.1)
    assert level_dbfs(silence(1)) == SILENCE_DBFS
    assert level_dbfs(hiss(5, dbfs=-60)) == pytest.approx(-60.0, abs=0.5)


def test_the_loudest_half_second_counts_so_short_speech_in_a_long_chunk_is_heard() -> None:
    chunk = script(silence(7), np.full(8000, 0.1, np.float32), silence(7.5))
    assert loudest_dbfs(chunk) == pytest.approx(-20.0, abs=0.1)
    assert level_dbfs(chunk) < -30


def test_garbage_samples_become_finite_and_in_range() -> None:
    out = clean(np.array([np.nan, np.inf, -np.inf, 7.0, -0.5], np.float32))
    assert out.tolist() == [0.0, 1.0, -1.0, 1.0, -0.5]


def test_a_chunk_ends_in_the_pause_between_sentences() -> None:
    require(espeak_available(), "espeak-ng (Debian package espeak-ng)")
    words = speech("The parcel is on the doorstep")
    stream = script(silence(2.5), words, silence(1.2), words, silence(1.2), words, silence(3))
    chunker = AudioChunker("gate", chunk_s=5, keep_s=10)
    chunks = []
    for start in range(0, stream.size, 1600):  # 100 ms packets, as a camera sends them
        chunks += chunker.push(stream[start : start + 1600], now=(start + 1600) / 16000)
    assert len(chunks) >= 2
    for chunk in chunks:
        assert loudest_dbfs(chunk.samples[-800:], window_s=0.05) < -60  # cut in silence
        assert 3.0 <= chunk.duration_s <= 5.0
    assert chunks[1].start_ts == pytest.approx(chunks[0].end_ts, abs=1e-6)


def test_the_ring_keeps_only_the_last_seconds() -> None:
    ring = AudioRing(seconds=1)
    ring.push(np.arange(10000, dtype=np.float32))
    ring.push(np.arange(10000, 20000, dtype=np.float32))
    tail = ring.tail(16000)
    assert tail.size == 16000
    assert tail[0] == 4000
    assert tail[-1] == 19999


def test_a_reconnect_sends_the_partial_chunk_only_when_it_is_long_enough() -> None:
    sent = []
    sink = AudioSink("gate", AudioConfig(enabled=True, chunk_s=15), sent.append)
    sink._chunker.push(hiss(3, dbfs=-30), now=100.0)
    sink.close()
    sink._chunker.push(hiss(1, dbfs=-30), now=200.0)
    sink.close()
    assert [round(c.duration_s, 1) for c in sent] == [3.0]
    assert sent[0].end_ts == pytest.approx(time.time(), abs=5)  # a live chunk ends at the reconnect
    assert sink.status().chunks == 1
