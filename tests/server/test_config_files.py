"""A config file that cannot be read as UTF-8 TOML (a stray byte, a directory, no permission)
stops the start with one line and is refused on reload with one line; none of its text ever
reaches the log or the terminal."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.server.test_reload import wait_started
from tests.support import free_port, require, wait_until

SECRET = 'password = "hunter2-SECRET"\n'
NOT_UTF8 = SECRET.encode() + b"[server]\nport = 80\xff80\n"


def serve(config: Path, cwd: Path, prefix: tuple[str, ...] = ()) -> subprocess.Popen:
    return subprocess.Popen(
        [*prefix, sys.executable, "-m", "homelab_hub.server.cli", "serve", "--config", str(config)],
        cwd=cwd,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": os.getcwd()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def refused_at_start(config: Path, cwd: Path, prefix: tuple[str, ...] = ()) -> str:
    proc = serve(config, cwd, prefix)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1
    return out.decode()


def test_a_config_that_is_not_utf8_or_is_a_directory_stops_the_start_with_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_bytes(NOT_UTF8)
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    assert refused_at_start(bad, tmp_path) == (
        f"homelab-hub: config file {bad} is not UTF-8 text: byte 0xff at line 3\n"
    )
    assert refused_at_start(folder, tmp_path) == (
        f"homelab-hub: config file {folder} is a directory, not a TOML file\n"
    )


def test_a_config_the_hub_may_not_read_stops_the_start_with_one_line(tmp_path):
    # As root every file is readable: the hub runs as nobody for this one.
    setpriv = shutil.which("setpriv")
    require(os.geteuid() == 0 and setpriv is not None, "needs root and setpriv to run the hub as nobody")
    assert setpriv is not None
    config = tmp_path / "private.toml"
    config.write_text(SECRET)
    config.chmod(0o600)
    tmp_path.chmod(0o755)
    out = refused_at_start(config, Path("/"), (setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"))
    if "No module named" in out or "Permission denied: '" in out:
        pytest.skip(f"user nobody cannot run this checkout's Python: {out.splitlines()[-1]}")
    assert out == f"homelab-hub: config file {config} cannot be read: permission denied\n"


def test_sighup_with_an_unreadable_config_is_refused_in_one_line_without_the_files_text(tmp_path):
    port = free_port()
    config, log = tmp_path / "hub.toml", tmp_path / "hub.log"
    good = (
        f'[server]\nport = {port}\n[storage]\nurl = "sqlite:///{tmp_path}/hub.db"\n'
        f'[logging]\nfile = "{log}"\n[memory]\nenabled = false\n'
    )
    config.write_text(good)
    proc = serve(config, tmp_path)
    try:
        wait_started(proc, port)
        config.write_bytes(SECRET.encode() + NOT_UTF8)
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reload refused" in log.read_text(), what="the refusal")
        config.unlink()
        config.mkdir()
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: log.read_text().count("reload refused") == 2, what="the second refusal")
        refusals = [line for line in log.read_text().splitlines() if "reload refused" in line]
        assert refusals[0].endswith(
            f"keeping the running config: config file {config} is not UTF-8 text: byte 0xff at line 4"
        )
        assert refusals[1].endswith(
            f"keeping the running config: config file {config} is a directory, not a TOML file"
        )
        assert httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).status_code == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    text = log.read_text() + out.decode()
    assert "hunter2" not in text
    assert "Traceback" not in text and "never retrieved" not in text
