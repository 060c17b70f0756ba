"""Helpers for the tests where a running hub follows what other processes write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homelab_hub.server.cli import main as cli_main

# How soon a running hub must find rows another process committed. It polls the table's
# change number every memory.sync_poll_s (0.5 s) and typically finds them within a second;
# the deadline leaves room for a search on a loaded 2-core CI machine. Before, such rows
# waited for persist_interval_s (30 s), or forever when the writer's clock was behind.
FOLLOW_S = 5.0


def cli_import(hub: Any, tmp_path: Path, text: str, name: str = "notes.md") -> None:
    """`homelab-hub memory import` of one note, as a separate writer on the hub's database
    and data directory (its own connections, its own copy of the index)."""
    config = tmp_path / f"cli-{name}.toml"
    config.write_text(
        f'[server]\ndata_dir = "{hub.config.server.data_dir}"\n'
        f'[storage]\nurl = "{hub.config.storage.url}"\n'
        f'[logging]\nfile = "{tmp_path / "cli.log"}"\n',
        encoding="utf-8",
    )
    note = tmp_path / name
    note.write_text(text, encoding="utf-8")
    assert cli_main(["--config", str(config), "memory", "import", str(note)]) == 0


def found(hub: Any, query: str, needle: str, token: str | None = None) -> bool:
    res = hub.rest("memory_search", {"query": query, "limit": 5}, token=token)
    return res.status_code == 200 and any(needle in r["content"] for r in res.json()["results"])
