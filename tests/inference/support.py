"""Helpers the inference tests share: config sections pointing at the stand-ins."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

# Short enough to keep the suite fast, long enough for a loaded CI machine to answer.
TIMEOUT_S = 1.0


def inference_config(
    ollama: dict[str, Any] | None = None, llama_cpp: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """The [inference] section as a dict: ``ollama={"spark": server}`` (a fake, a URL or a dict)."""

    def url(v: Any) -> dict[str, Any]:
        if isinstance(v, dict):
            return v
        return {"url": v if isinstance(v, str) else v.url}

    return {
        "ollama": {k: url(v) for k, v in (ollama or {}).items()},
        "llama_cpp": {k: url(v) for k, v in (llama_cpp or {}).items()},
        "timeout_s": TIMEOUT_S,
        **extra,
    }


def hub_overrides(inference: dict[str, Any]) -> dict[str, Any]:
    """A hub config with these inference hosts and no semantic memory (its model load is
    seconds of CPU these tests do not need)."""
    return {"inference": inference, "memory": {"enabled": False}}


def stub_command(directory: Path, name: str, log_path: str) -> Path:
    """An executable ``name`` in ``directory`` that prints the stand-in's server log and records
    its argv, as ``journalctl -u ollama`` or ``docker logs ollama`` would print it."""
    script = directory / name
    argv_file = directory / f"{name}.argv"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import sys\n"
        f"open({str(argv_file)!r}, 'w').write('\\n'.join(sys.argv[1:]))\n"
        f"sys.stdout.write(open({log_path!r}).read())\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return argv_file


def path_with(directory: Path) -> str:
    return f"{directory}{os.pathsep}{os.environ.get('PATH', '')}"
