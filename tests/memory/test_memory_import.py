"""Document import (split as written, idempotent), transcript import, JSONL export/import."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from homelab_hub.memory.importer import Document, MemoryImporter
from homelab_hub.memory.markdown import split_document
from homelab_hub.server.cli import main

NOTES = Path(__file__).parents[1] / "fixtures" / "memory" / "notes"


class Words:
    """Counts whitespace words as word pieces: enough to test the splitter without the model."""

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(t.split()) for t in texts]


def docs_of(importer: MemoryImporter, root: Path) -> list[Document]:
    out = []
    for file in sorted(root.rglob("*.md")):
        source = f"notes/{file.relative_to(root).as_posix()}"
        out.append(Document(source, file.stem, [file.name], importer.split(file.read_text(), file.name)))
    return out


def test_sections_keep_their_file_and_heading_path_and_ignore_fenced_headers():
    sections = split_document((NOTES / "camera_monitor.md").read_text(), "camera_monitor.md", Words(), 128)
    assert [s.title for s in sections] == ["(intro)", "Ports", "PyAV deadlock", "Contour constants"]
    deadlock = sections[2].content
    assert deadlock.startswith("camera_monitor.md › Camera Monitor › PyAV deadlock\n\n")
    assert "## not a header: inside a code fence" in deadlock


def test_any_heading_level_setext_underlines_and_plain_paragraphs_are_split_as_written():
    deep = "# Lab\n\n### Ports\n\nOllama 11434.\n\n#### DGX\n\nProxy 8765.\n"
    assert [s.content for s in split_document(deep, "lab.md", Words(), 128)] == [
        "lab.md › Lab › Ports\n\nOllama 11434.",
        "lab.md › Lab › Ports › DGX\n\nProxy 8765.",
    ]
    setext = "Cameras\n=======\n\nGate is 4K.\n\nZones\n-----\n\nRoad excluded.\n"
    assert [s.title for s in split_document(setext, "cams.md", Words(), 128)] == ["(intro)", "Zones"]
    plain = "\n\n".join(f"Paragraph {n} " + "word " * 40 for n in range(6))
    pieces = split_document(plain, "notes.txt", Words(), 100)
    assert len(pieces) == 3
    assert all(p.content.startswith("notes.txt\n\nParagraph") for p in pieces)
    assert max(Words().count_tokens([p.content for p in pieces])) <= 100


def test_a_section_longer_than_the_window_becomes_pieces_within_it():
    long = "# Notes\n\n## Ports\n\n" + " ".join(f"Service {n} listens on {9000 + n}." for n in range(80))
    pieces = split_document(long, "n.md", Words(), 64)
    assert len(pieces) >= 6
    assert [p.title for p in pieces[:2]] == ["Ports", "Ports (2)"]
    assert all(p.content.startswith("n.md › Notes › Ports\n\n") for p in pieces)
    assert max(Words().count_tokens([p.content for p in pieces])) <= 64


def test_reimport_updates_changed_removes_vanished_and_keeps_untouched_sections(memory, tmp_path):
    root = tmp_path / "notes"
    shutil.copytree(NOTES, root)
    importer = MemoryImporter(memory)
    first = importer.import_documents("claude", docs_of(importer, root))
    assert (first.added, first.updated, first.removed) == (8, 0, 0)
    before = {(m.source, m.section): m for m in memory.page("claude", limit=100)[0]}

    again = importer.import_documents("claude", docs_of(importer, root))
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 8)

    cam = root / "camera_monitor.md"
    text = cam.read_text()
    text = text.replace("## Contour constants", "## Motion constants")  # renamed
    text = text.replace("port 8600", "port 8601")  # changed
    cam.write_text(text)
    dgx = root / "dgx_inference.md"
    dgx.write_text(dgx.read_text().split("## KV cache leak")[0])  # deleted section
    third = importer.import_documents("claude", docs_of(importer, root))
    assert (third.added, third.updated, third.removed, third.unchanged) == (1, 1, 2, 5)
    assert len(memory.history("claude", before[("notes/camera_monitor.md", "Ports")].id)[1]) == 1

    after = {(m.source, m.section): m for m in memory.page("claude", limit=100)[0]}
    assert ("notes/dgx_inference.md", "KV cache leak") not in after
    assert ("notes/camera_monitor.md", "Contour constants") not in after
    assert ("notes/camera_monitor.md", "Motion constants") in after
    ports = after[("notes/camera_monitor.md", "Ports")]
    assert ports.id == before[("notes/camera_monitor.md", "Ports")].id and "8601" in ports.content
    untouched = after[("notes/cameras/rtsp_urls.md", "Gate")]
    assert untouched.updated_at == before[("notes/cameras/rtsp_urls.md", "Gate")].updated_at
    assert untouched.tags == ["rtsp_urls.md"] and untouched.category == "rtsp_urls"
    assert [h.memory.id for h in memory.search("claude", "8601")][:1] == [ports.id]
    assert memory.search("claude", "num_ctx 4096 modelfile", min_score=0.5) == []


def write_config(tmp_path: Path, url: str, name: str) -> Path:
    config = tmp_path / f"{name}.toml"
    config.write_text(
        f'[server]\ndata_dir = "{tmp_path / name}"\n[storage]\nurl = "{url}"\n[logging]\nfile = ""\n',
        encoding="utf-8",
    )
    return config


def test_cli_imports_markdown_and_moves_memories_from_sqlite_to_mariadb(
    tmp_path, sqlite_url, mysql_url, embedder, capsys
):
    lite = write_config(tmp_path, sqlite_url, "lite")
    assert main(["--config", str(lite), "memory", "import", str(NOTES), "--agent", "ops"]) == 0
    out = capsys.readouterr().out
    assert "8 added, 0 updated, 0 removed, 0 unchanged" in out
    assert "agent: ops;" in out
    assert main(["memory", "import", str(NOTES), "--agent", "ops", "--config", str(lite)]) == 0
    assert "0 added, 0 updated, 0 removed, 8 unchanged" in capsys.readouterr().out
    edit = MemoryService_for(lite)  # an update leaves a version, which must travel too
    edited = edit.page("ops", limit=1)[0][0]
    edit.update("ops", edited.id, content=edited.content + " Checked 2026-06.")
    edit.store.db.close()
    dump = tmp_path / "memories.jsonl"
    assert main(["--config", str(lite), "memory", "export", "--output", str(dump)]) == 0
    records = [json.loads(line) for line in dump.read_text().splitlines()]
    assert len(records) == 8 and {r["agent"] for r in records} == {"ops"}
    assert [len(r.get("versions", [])) for r in records].count(1) == 1

    maria = write_config(tmp_path, mysql_url, "maria")
    assert main(["--config", str(maria), "memory", "import", str(dump)]) == 0
    assert "8 added" in capsys.readouterr().out
    assert main(["--config", str(maria), "memory", "import", str(dump)]) == 0
    assert "0 added, 0 updated, 0 removed, 8 unchanged" in capsys.readouterr().out
    back = tmp_path / "back.jsonl"
    assert main(["--config", str(maria), "memory", "export", "--output", str(back), "--agent", "ops"]) == 0
    moved = [json.loads(line) for line in back.read_text().splitlines()]
    strip = ("id", "updated_at")
    assert [{k: v for k, v in r.items() if k not in strip} for r in moved] == [
        {k: v for k, v in r.items() if k not in strip} for r in records
    ]


def test_cli_import_of_a_missing_path_fails_clearly(tmp_path, sqlite_url, capsys):
    lite = write_config(tmp_path, sqlite_url, "lite")
    assert main(["--config", str(lite), "memory", "import", str(tmp_path / "nope.md")]) == 2
    assert "does not exist" in capsys.readouterr().err


def MemoryService_for(config: Path):  # type: ignore[no-untyped-def]
    """The memory engine of the hub a config file describes (what the CLI opens)."""
    from homelab_hub.config import load_config
    from homelab_hub.memory.service import MemoryService
    from homelab_hub.server.components import all_migrations
    from homelab_hub.store import Database, migrate

    cfg = load_config(str(config))
    db = Database.from_url(cfg.storage.url)
    migrate(db, all_migrations())
    service = MemoryService(db, cfg.memory, cfg.server.data_dir / "memory-test")
    service.start_now()
    return service


def test_cli_import_writes_as_the_tokenless_agent_by_default_and_says_so(
    tmp_path, sqlite_url, embedder, capsys
):
    lite = write_config(tmp_path, sqlite_url, "lite")
    assert main(["--config", str(lite), "memory", "import", str(NOTES / "dgx_inference.md")]) == 0
    out = capsys.readouterr().out
    assert "agent: local (the agent of callers without a token)" in out
    service = MemoryService_for(lite)
    assert {m.agent for m in service.page(None, limit=50)[0]} == {"local"}
    service.store.db.close()


CLAUDE_CODE_SESSION = [
    {"type": "summary", "summary": "Grafana port move", "leafUuid": "u4"},
    {
        "type": "user",
        "uuid": "u1",
        "sessionId": "sess-42",
        "timestamp": "2026-03-02T20:00:00.000Z",
        "message": {"role": "user", "content": "Grafana clashes with Gitea on 3000, move Grafana"},
    },
    {
        "type": "assistant",
        "uuid": "u2",
        "sessionId": "sess-42",
        "timestamp": "2026-03-02T20:01:00.000Z",
        "message": {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "hm"},
                {"type": "tool_use", "name": "Bash", "input": {"command": "ss -ltnp"}},
            ],
        },
    },
    {
        "type": "user",
        "uuid": "u3",
        "sessionId": "sess-42",
        "timestamp": "2026-03-02T20:01:30.000Z",
        "message": {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "LISTEN 0 4096 *:3000"}],
        },
    },
    {
        "type": "assistant",
        "uuid": "u4",
        "sessionId": "sess-42",
        "timestamp": "2026-03-02T20:03:00.000Z",
        "message": {
            "role": "assistant",
            "content": [{"type": "text", "text": "Done, Grafana is on 3005 now."}],
        },
    },
    {
        "type": "assistant",
        "uuid": "u5",
        "sessionId": "sess-42",
        "isSidechain": True,
        "timestamp": "2026-03-02T20:04:00.000Z",
        "message": {"role": "assistant", "content": "sub-agent chatter"},
    },
]


def test_a_claude_code_session_becomes_one_thread_one_memory_per_turn_idempotently(memory):
    importer = MemoryImporter(memory)
    first = importer.import_transcript("claude", CLAUDE_CODE_SESSION, "sess-42.jsonl")
    assert (first.added, first.errors) == (2, [])
    turns = sorted(memory.page("claude", limit=10)[0], key=lambda m: m.when)
    assert [m.content for m in turns] == [
        "user: Grafana clashes with Gitea on 3000, move Grafana",
        "assistant: Done, Grafana is on 3005 now.",
    ]
    assert {m.thread for m in turns} == {"sess-42"}
    assert turns[1].occurred_at == 1772481780.0
    again = importer.import_transcript("claude", CLAUDE_CODE_SESSION, "sess-42.jsonl")
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 2)


def test_a_plain_chat_log_imports_through_the_cli_as_one_thread(tmp_path, sqlite_url, embedder, capsys):
    log = tmp_path / "night-shift.jsonl"
    lines = [
        {"speaker": "maria", "text": "frigate is down again", "timestamp": "2026-04-01T22:00:00Z"},
        {
            "speaker": "claude",
            "text": "The disk on nas-01 is full; pruning recordings.",
            "timestamp": "2026-04-01T22:02:00Z",
        },
        {"role": "maria", "content": "thanks", "time": "2026-04-01T22:03:00Z"},
    ]
    log.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    lite = write_config(tmp_path, sqlite_url, "lite")
    assert main(["--config", str(lite), "memory", "import", str(log), "--agent", "ops"]) == 0
    assert "3 added" in capsys.readouterr().out
    assert main(["--config", str(lite), "memory", "import", str(log), "--agent", "ops"]) == 0
    assert "0 added, 0 updated, 0 removed, 3 unchanged" in capsys.readouterr().out
    service = MemoryService_for(lite)
    assert {m.thread for m in service.page("ops", limit=10)[0]} == {"night-shift.jsonl"}
    service.store.db.close()


def test_memory_import_prints_no_progress_bar(tmp_path, sqlite_url):
    lite = write_config(tmp_path, sqlite_url, "lite")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "homelab_hub.server.cli",
            "--config",
            str(lite),
            "memory",
            "import",
            str(NOTES),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HOMELAB_HUB_CONFIG": ""},
    )
    assert out.returncode == 0, out.stderr
    assert "Loading weights" not in out.stderr
    assert "%|" not in out.stderr
