"""FrameReader on files and bad URLs: latest frame only, decode only what sampling needs,
clear errors, and a thread that always ends when asked."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from homelab_hub.cameras.settings import ReaderConfig
from homelab_hub.cameras.stream.reader import FrameReader
from homelab_hub.redact import redact_url
from tests.cameras.clips import ClipSpec, write_clip, write_not_video
from tests.support import free_port, wait_until

FAST = ReaderConfig(open_timeout_s=3, stall_timeout_s=3, backoff_initial_s=0.1, backoff_max_s=0.3)


@pytest.fixture
def reader_factory():
    readers: list[FrameReader] = []

    def make(url: str, config: ReaderConfig = FAST, interval_s: float = 1.0) -> FrameReader:
        reader = FrameReader(url, config, name="test", interval_s=interval_s).start()
        readers.append(reader)
        return reader

    yield make
    for reader in readers:
        reader.stop()
    for reader in readers:
        assert reader.join(10), "a reader thread did not end after stop()"


def test_a_file_camera_gives_its_latest_frame_as_bgr_with_a_wall_clock_time(tmp_path, reader_factory):
    clip = write_clip(tmp_path / "yard.mp4", ClipSpec("moving_object", width=160, height=120, seconds=3))
    before = time.time()
    reader = reader_factory(str(clip))
    wait_until(lambda: reader.latest() is not None, 10, "the first frame")
    frame, ts, seq = reader.latest()  # type: ignore[misc]
    assert frame.shape == (120, 160, 3)
    assert frame.dtype == np.uint8
    assert before <= ts <= time.time()
    assert seq == 1
    assert reader.status().state == "streaming"


def test_keyframe_mode_decodes_a_small_share_of_the_packets(tmp_path, reader_factory):
    # 10 fps, a keyframe each second, one sample per second: about 1 frame in 10 is decoded.
    clip = write_clip(tmp_path / "yard.mp4", ClipSpec("static_noise", width=160, height=120, seconds=3))
    reader = reader_factory(str(clip), interval_s=1.0)
    wait_until(lambda: reader.status().packets_read >= 25, 15, "25 packets")
    status = reader.status()
    assert status.decode_mode == "keyframes"
    assert status.frames_decoded <= status.packets_read // 4
    assert status.frames_decoded >= 1


def test_in_keyframe_mode_a_frame_is_decoded_only_when_one_is_requested(tmp_path, reader_factory):
    clip = write_clip(
        tmp_path / "yard.mp4", ClipSpec("static_noise", width=160, height=120, seconds=4, gop=5)
    )
    reader = reader_factory(str(clip), interval_s=1.0)
    wait_until(lambda: reader.status().packets_read >= 20, 15, "20 packets")
    assert reader.status().frames_decoded == 1  # the first keyframe of the connection only
    seq = reader.request_frame()
    assert reader.wait_newer(seq, 5)
    assert reader.latest()[2] == seq + 1  # type: ignore[index]
    assert reader.status().frames_decoded == 2


def test_auto_mode_decodes_every_frame_when_keyframes_are_rarer_than_the_interval(tmp_path, reader_factory):
    clip = write_clip(
        tmp_path / "longgop.mp4", ClipSpec("moving_object", width=160, height=120, seconds=6, gop=60)
    )
    reader = reader_factory(str(clip), interval_s=1.0)
    wait_until(lambda: reader.status().decode_mode == "all", 10, "the switch to decoding every frame")
    seq = reader.latest()[2]  # type: ignore[index]
    wait_until(lambda: reader.latest()[2] > seq, 5, "a fresh frame without a new keyframe")  # type: ignore[index]


def test_b_frames_and_keyframes_10_s_apart_give_frames_without_a_reconnect(tmp_path, reader_factory):
    """A decoder that holds the keyframe back (B-frames) still gives the first frame, and the
    wait for the next keyframe after the switch to decoding every frame is no stall (such a
    clip used to reconnect forever without a single frame)."""
    spec = ClipSpec("moving_object", width=160, height=120, fps=10, seconds=14, gop=100)
    clip = write_clip(tmp_path / "bframes.mp4", spec, bframes=2)
    reader = reader_factory(str(clip), interval_s=1.0)  # stall_timeout_s 3
    wait_until(lambda: reader.latest() is not None, 5, "the first frame")
    first = reader.latest()[2]  # type: ignore[index]
    wait_until(lambda: reader.latest()[2] > first, 15, "frames after the next keyframe")  # type: ignore[index]
    assert reader.status().connects == 1


def test_a_file_camera_loops_when_the_clip_ends(tmp_path, reader_factory):
    clip = write_clip(tmp_path / "short.mp4", ClipSpec("moving_object", width=160, height=120, seconds=1))
    reader = reader_factory(str(clip), interval_s=0.5)
    wait_until(lambda: reader.status().connects >= 3, 15, "the clip to be replayed twice")
    assert reader.status().last_error == ""
    assert reader.latest() is not None


def test_corrupt_packets_are_skipped_without_dropping_the_stream(tmp_path, reader_factory):
    clip = write_clip(
        tmp_path / "yard.h264", ClipSpec("moving_object", width=160, height=120, seconds=3, gop=5)
    )
    data = bytearray(clip.read_bytes())
    rng = np.random.default_rng(7)
    for start in (len(data) // 3, len(data) // 2, 2 * len(data) // 3):  # garbage inside three frames
        data[start : start + 600] = rng.integers(0, 256, 600, dtype=np.uint8).tobytes()
    clip.write_bytes(bytes(data))
    reader = reader_factory(str(clip), ReaderConfig(**{**FAST.model_dump(), "decode": "all"}), interval_s=1.0)
    wait_until(lambda: reader.status().connects >= 2, 15, "the whole clip to be read once")
    status = reader.status()
    assert "lost" not in status.last_error
    assert status.frames_decoded >= 20
    assert reader.latest() is not None


def test_an_unreachable_camera_reports_a_clear_error_and_keeps_retrying(reader_factory):
    url = f"rtsp://viewer:hunter2@127.0.0.1:{free_port()}/stream1"
    reader = reader_factory(url)
    wait_until(lambda: reader.status().reconnects >= 2, 15, "two retries")
    status = reader.status()
    assert status.last_error.startswith("cannot open rtsp://viewer:***@127.0.0.1:")
    assert "hunter2" not in status.last_error
    assert "hunter2" not in status.url
    assert reader.latest() is None
    assert reader.alive


def test_a_file_that_is_not_video_reports_a_clear_error(tmp_path, reader_factory):
    path = write_not_video(tmp_path / "notes.mp4")
    reader = reader_factory(str(path))
    wait_until(lambda: reader.status().last_error, 10, "an error")
    assert f"cannot open {path}" in reader.status().last_error
    assert "Invalid data" in reader.status().last_error or "InvalidData" in reader.status().last_error
    assert reader.latest() is None


def test_a_missing_file_reports_a_clear_error(tmp_path, reader_factory):
    reader = reader_factory(str(tmp_path / "nowhere.mp4"))
    wait_until(lambda: reader.status().last_error, 10, "an error")
    assert "No such file" in reader.status().last_error or "FileNotFound" in reader.status().last_error


def test_stop_ends_the_reader_thread_promptly_and_leaves_no_threads_behind(tmp_path):
    clip = write_clip(tmp_path / "yard.mp4", ClipSpec("moving_object", width=160, height=120, seconds=2))
    baseline = threading.active_count()
    readers = [FrameReader(str(clip), FAST, name=f"r{i}", interval_s=0.5).start() for i in range(3)]
    wait_until(lambda: all(r.latest() is not None for r in readers), 15, "frames from all readers")
    for reader in readers:
        reader.stop()
    assert all(reader.join(5) for reader in readers)
    assert {r.status().state for r in readers} == {"stopped"}
    wait_until(lambda: threading.active_count() <= baseline, 5, "the thread count to return to its baseline")


def test_redact_url_hides_only_the_password():
    assert redact_url("rtsp://admin:s3cr@t@192.0.2.7:554/h264") == "rtsp://admin:***@192.0.2.7:554/h264"
    assert redact_url("rtsp://192.0.2.7/live") == "rtsp://192.0.2.7/live"
    assert redact_url("/srv/clips/gate.mp4") == "/srv/clips/gate.mp4"
