"""SIGHUP re-reads the config file and hands it to the engines that can apply it live."""

import os
import signal
import subprocess
import sys

import httpx

from tests.support import free_port, wait_until


def wait_started(proc: subprocess.Popen, port: int) -> None:
    """Until the hub process answers /api/health (200 or 503); fails if it exits first."""

    def up() -> bool:
        assert proc.poll() is None, "the hub exited while starting"
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code in (200, 503)
        except httpx.HTTPError:
            return False

    wait_until(up, timeout=120, what="the hub to start")


def test_sighup_reloads_the_config_file_and_a_bad_file_keeps_the_running_config(tmp_path):
    port = free_port()
    config = tmp_path / "hub.toml"
    config.write_text(
        f'[server]\nport = {port}\n[storage]\nurl = "sqlite:///{tmp_path}/hub.db"\n[logging]\nfile = "{tmp_path}/hub.log"\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "homelab_hub.server.cli", "serve", "--config", str(config)],
        cwd=tmp_path,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_started(proc, port)
        log = tmp_path / "hub.log"
        config.write_text(config.read_text() + "[memory]\nbogus_setting = 1\n")
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reload refused" in log.read_text())
        assert "memory.bogus_setting" in log.read_text()
        config.write_text(config.read_text().replace("[memory]\nbogus_setting = 1\n", ""))
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "config reloaded" in log.read_text())
        assert httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(30)
