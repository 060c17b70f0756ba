"""Markdown import (one memory per ## section, idempotent) and JSONL export/import."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from homelab_hub.memory.importer import Document, MemoryImporter, split_markdown
from homelab_hub.server.cli import main

NOTES = Path(__file__).parents[1] / "fixtures" / "memory" / "notes"


def docs_of(root: Path) -> list[Document]:
    out = []
    for file in sorted(root.rglob("*.md")):
        source = f"notes/{file.relative_to(root).as_posix()}"
        out.append(Document(source, file.stem, [file.name], split_markdown(file.read_text(), file.stem)))
    return out


def test_sections_keep_their_file_and_section_titles_and_ignore_fenced_headers():
    sections = split_markdown((NOTES / "camera_monitor.md").read_text(), "camera_monitor")
    assert [s.title for s in sections] == ["(intro)", "Ports", "PyAV deadlock", "Contour constants"]
    deadlock = sections[2].content
    assert deadlock.startswith("# Camera Monitor\n## PyAV deadlock\n\n")
    assert "## not a header: inside a code fence" in deadlock


def test_reimport_updates_changed_removes_vanished_and_keeps_untouched_sections(memory, tmp_path):
    root = tmp_path / "notes"
    shutil.copytree(NOTES, root)
    importer = MemoryImporter(memory)
    first = importer.import_documents("claude", docs_of(root))
    assert (first.added, first.updated, first.removed) == (8, 0, 0)
    before = {(m.source, m.section): m for m in memory.page("claude", limit=100)[0]}

    again = importer.import_documents("claude", docs_of(root))
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 8)

    cam = root / "camera_monitor.md"
    text = cam.read_text()
    text = text.replace("## Contour constants", "## Motion constants")  # renamed
    text = text.replace("port 8600", "port 8601")  # changed
    cam.write_text(text)
    dgx = root / "dgx_inference.md"
    dgx.write_text(dgx.read_text().split("## KV cache leak")[0])  # deleted section
    third = importer.import_documents("claude", docs_of(root))
    assert (third.added, third.updated, third.removed, third.unchanged) == (1, 1, 2, 5)

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
    assert "8 added, 0 updated, 0 removed, 0 unchanged" in capsys.readouterr().out
    assert main(["memory", "import", str(NOTES), "--agent", "ops", "--config", str(lite)]) == 0
    assert "0 added, 0 updated, 0 removed, 8 unchanged" in capsys.readouterr().out
    dump = tmp_path / "memories.jsonl"
    assert main(["--config", str(lite), "memory", "export", "--output", str(dump)]) == 0
    records = [json.loads(line) for line in dump.read_text().splitlines()]
    assert len(records) == 8 and {r["agent"] for r in records} == {"ops"}

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
