"""Reading an Ollama server's log: a file, ``journalctl -u UNIT`` or ``docker logs CONTAINER``.

Commands run as argv lists (never a shell), with a timeout and the newest ``lines`` only. A log
that cannot be read is not an error for the caller: the report falls back to estimates and says
why, so every failure here is a `LogUnavailable` with a sentence for the reader.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from homelab_hub.redact import redact_text

# Bytes read from the end of a file per requested line: Ollama's load lines are ~150-400
# characters; the cap keeps a runaway log from being read whole.
_BYTES_PER_LINE = 512
_MAX_BYTES = 32 * 1024**2


class LogUnavailable(Exception):
    """The log could not be read; the message says why, for the reader."""


@dataclass(frozen=True)
class LogSpec:
    """Where one host's server log lives; exactly one of the three is set."""

    file: str | None = None
    journald_unit: str | None = None
    docker_container: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.file or self.journald_unit or self.docker_container)

    def describe(self) -> str:
        if self.file:
            return f"file {self.file}"
        if self.journald_unit:
            return f"journalctl -u {self.journald_unit}"
        if self.docker_container:
            return f"docker logs {self.docker_container}"
        return ""


def read_log(spec: LogSpec, lines: int, timeout: float) -> list[str]:
    """The newest ``lines`` lines of the log. Raises LogUnavailable."""
    if spec.file:
        return _tail_file(Path(spec.file), lines)
    if spec.journald_unit:
        argv = ["-u", spec.journald_unit, "--no-pager", "-o", "cat", "-n", str(lines)]
        return _run("journalctl", argv, lines, timeout, spec.describe())
    if spec.docker_container:
        argv = ["logs", "--tail", str(lines), spec.docker_container]
        return _run("docker", argv, lines, timeout, spec.describe())
    raise LogUnavailable("no server log configured")


def _tail_file(path: Path, lines: int) -> list[str]:
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - min(_MAX_BYTES, lines * _BYTES_PER_LINE)))
            data = handle.read()
    except FileNotFoundError:
        raise LogUnavailable(f"{path} does not exist") from None
    except PermissionError:
        raise LogUnavailable(f"{path} is not readable by the hub's user (permission denied)") from None
    except OSError as exc:
        raise LogUnavailable(f"{path} could not be read: {exc.strerror or exc}") from None
    text = data.decode("utf-8", errors="replace").splitlines()
    if size > len(data) and text:
        text = text[1:]  # the first line was cut by the seek
    return text[-lines:]


def _run(program: str, args: list[str], lines: int, timeout: float, what: str) -> list[str]:
    binary = shutil.which(program)
    if binary is None:
        raise LogUnavailable(f"{program} is not installed on the hub's machine (for {what})")
    try:
        # stderr joins stdout: docker replays the container's stderr, where Ollama logs.
        done = subprocess.run(
            [binary, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise LogUnavailable(f"{what} did not finish within {timeout:g} s") from None
    except OSError as exc:
        raise LogUnavailable(f"{what} could not run: {exc.strerror or exc}") from None
    text = done.stdout.decode("utf-8", errors="replace").splitlines()
    if done.returncode != 0:
        first = redact_text(text[-1] if text else "")[:200]
        raise LogUnavailable(f"{what} failed (exit {done.returncode}): {first}")
    if not [line for line in text if line.strip()]:
        hint = " (is the hub's user in the systemd-journal group?)" if program == "journalctl" else ""
        raise LogUnavailable(f"{what} printed nothing{hint}")
    return text[-lines:]
