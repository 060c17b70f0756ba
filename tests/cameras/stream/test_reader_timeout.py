"""A camera URL whose listener accepts and never answers is reported as a timeout."""

from __future__ import annotations

import socket

from homelab_hub.cameras.settings import ReaderConfig
from homelab_hub.cameras.stream.reader import FrameReader
from tests.support import wait_until


def test_a_listener_that_never_answers_is_reported_as_a_timeout_not_invalid_data():
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (the kernel does), never answers
    port = silent.getsockname()[1]
    config = ReaderConfig(open_timeout_s=2, stall_timeout_s=2, backoff_initial_s=5, backoff_max_s=5)
    reader = FrameReader(f"rtsp://127.0.0.1:{port}/live", config, name="mute", interval_s=1.0).start()
    try:
        error = wait_until(lambda: reader.status().last_error, 30, "the open to fail")
        assert "no answer within 2s (reader.open_timeout_s)" in error
        assert "Invalid data" not in error
    finally:
        reader.stop()
        assert reader.join(15)
        silent.close()
