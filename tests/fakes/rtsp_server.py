"""A real RTSP camera for tests: gst-rtsp-server streaming an H.264 clip in a loop, with an
optional audio track (G.711 A-law or AAC, looping too, as cameras with a microphone send it).

gst-rtsp-server is only importable from Debian's Python (``python3-gi`` and
``gir1.2-gst-rtsp-server-1.0``), so the server runs as a subprocess under
``/usr/bin/python3``; this module is both that subprocess (``__main__``, stdlib + gi only)
and the test-side controller::

    with RTSPCamera(write_clip(tmp_path / "c.h264", spec), fps=spec.fps) as cam:
        reader = RTSPReader(cam.url, ...)
        cam.kill(); cam.start()        # camera reboots (same port, same URL)
        cam.stop_sending()             # camera hangs: socket open, no packets (SIGSTOP)
        cam.resume_sending()

The clip must be a raw Annex-B ``.h264`` stream (``write_clip(path.h264, ...)``): it is
stream-copied, never re-encoded, so the server costs almost no CPU and the 1080p benchmark
measures the reader, not the camera.

Sound, in the same RTSP session (``audio=AudioTrack(path, codec)``): ``alaw`` is a raw 8 kHz
G.711 A-law file and ``aac`` an ADTS file (``tests/cameras/audio_clips.write_track``), both
stream-copied like the video. ``l8`` sends 8-bit linear PCM (RTP payload L8), a codec PyAV
has no depacketizer for: the camera whose audio cannot be decoded. The audio loops on its
own length, independently of the video.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"
MOUNT = "/cam"
AUDIO_CODECS = ("alaw", "aac", "l8")


@dataclass(frozen=True)
class AudioTrack:
    path: Path | None  # None for l8 (a test tone made by the server)
    codec: str  # alaw | aac | l8


def gst_rtsp_available() -> bool:
    """True when Debian's Python can load GStreamer's RTSP server and the H.264 elements."""
    if not Path(SYSTEM_PYTHON).exists():
        return False
    probe = (
        "import gi; gi.require_version('Gst','1.0'); gi.require_version('GstRtspServer','1.0');"
        "from gi.repository import Gst, GstRtspServer; Gst.init(None);"
        "import sys; sys.exit(0 if all(Gst.ElementFactory.find(e) for e in "
        "('multifilesrc','h264parse','rtph264pay')) else 1)"
    )
    try:
        return subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


class RTSPCamera:
    """Controls one gst-rtsp-server subprocess on a fixed port (kept across restarts)."""

    def __init__(
        self, clip: str | Path, *, fps: int, port: int | None = None, audio: AudioTrack | None = None
    ) -> None:
        self.clip = Path(clip)
        if self.clip.suffix != ".h264":
            raise ValueError(f"RTSPCamera streams raw Annex-B H.264; got {self.clip.name}, want a .h264 file")
        if audio is not None and audio.codec not in AUDIO_CODECS:
            raise ValueError(f"audio codec {audio.codec!r}: want one of {AUDIO_CODECS}")
        self.audio = audio
        self.fps = fps
        self.port = port or _free_port()
        self.url = f"rtsp://127.0.0.1:{self.port}{MOUNT}"
        self.starts = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, timeout: float = 20.0) -> RTSPCamera:
        """Start the server and wait until it accepts connections. Raises RuntimeError."""
        if self._proc and self._proc.poll() is None:
            return self
        cmd = [SYSTEM_PYTHON, __file__, str(self.clip), str(self.port), str(self.fps)]
        if self.audio is not None:
            cmd += [self.audio.codec, str(self.audio.path or "")]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        from tests.support import wait_until  # test side only: the server half runs without pytest

        proc = self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)

        def listening() -> bool:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"RTSP server exited with {proc.returncode}: {err[-2000:]}")
            return _port_open(self.port)

        try:
            wait_until(listening, timeout, f"the RTSP server to listen on port {self.port}")
        except AssertionError:
            self.kill()
            raise RuntimeError(f"RTSP server did not listen on port {self.port} within {timeout}s") from None
        self.starts += 1
        return self

    def kill(self) -> None:
        """SIGKILL: the camera vanishes mid-stream (connections reset, no goodbye)."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait(timeout=10)
        if self._proc.stderr:
            self._proc.stderr.close()
        self._proc = None
        from tests.support import wait_until

        wait_until(lambda: not _port_open(self.port), 5, f"port {self.port} to close after the kill")

    def stop_sending(self) -> None:
        """Freeze the server (SIGSTOP): its sockets stay open but no packet is sent."""
        if self._proc:
            os.kill(self._proc.pid, signal.SIGSTOP)

    def resume_sending(self) -> None:
        if self._proc:
            os.kill(self._proc.pid, signal.SIGCONT)

    def __enter__(self) -> RTSPCamera:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self._proc:
            self.resume_sending()
        self.kill()


def _audio_launch(codec: str, path: str) -> str:
    # Each branch stamps its own timestamps (rawaudioparse from the byte count, aacparse from
    # the frames), so a looping file keeps a steady clock like a live microphone.
    if codec == "alaw":
        return (
            f'multifilesrc location="{path}" loop=true blocksize=800 caps=audio/x-alaw,rate=8000,channels=1 '
            "! rawaudioparse use-sink-caps=true ! rtppcmapay name=pay1 pt=8"
        )
    if codec == "aac":
        return f'multifilesrc location="{path}" loop=true ! aacparse ! rtpmp4gpay name=pay1 pt=97'
    return "audiotestsrc is-live=true wave=sine ! audio/x-raw,format=U8,rate=8000,channels=1 ! rtpL8pay name=pay1 pt=98"


def _serve(clip: str, port: int, fps: int, audio: tuple[str, str] | None) -> None:  # under /usr/bin/python3
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    factory = GstRtspServer.RTSPMediaFactory()
    # multifilesrc loop=true replays the raw stream forever; with the framerate caps h264parse
    # stamps each access unit's DTS, and the RTSP sink paces packets on it in real time.
    launch = (
        f'( multifilesrc location="{clip}" loop=true '
        f"caps=video/x-h264,stream-format=byte-stream,framerate={fps}/1 "
        "! h264parse name=parse config-interval=-1 ! video/x-h264,alignment=au "
        "! rtph264pay name=pay0 pt=96 config-interval=-1"
    )
    launch += f" {_audio_launch(*audio)} )" if audio else " )"
    factory.set_launch(launch)
    factory.set_shared(True)

    def pts_from_dts(_pad: object, info: object) -> object:
        # The clips have no B-frames, so presentation order is decode order: PTS = DTS.
        # (h264parse leaves PTS unset on raw streams, and the payloader needs it.)
        buf = info.get_buffer()  # type: ignore[attr-defined]
        buf.pts = buf.dts
        return Gst.PadProbeReturn.OK

    def on_configure(_factory: object, media: object) -> None:
        parse = media.get_element().get_by_name("parse")  # type: ignore[attr-defined]
        parse.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, pts_from_dts)

    factory.connect("media-configure", on_configure)
    server.get_mount_points().add_factory(MOUNT, factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot bind RTSP port {port}")
    GLib.MainLoop().run()


if __name__ == "__main__":
    if len(sys.argv) not in (4, 6):
        sys.exit(
            f"usage: {shutil.which('python3')} rtsp_server.py CLIP.h264 PORT FPS [alaw|aac|l8 AUDIOFILE]"
        )
    track = (sys.argv[4], sys.argv[5]) if len(sys.argv) == 6 else None
    _serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), track)
