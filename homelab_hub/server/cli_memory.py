"""``homelab-hub memory import|export``: bulk-load markdown notes, back up to JSONL."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEFAULT_AGENT = "claude"


def _config_option(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS keeps a global `homelab-hub --config FILE memory …` from being reset to None.
    parser.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help="config file")


def register(subparsers: Any) -> None:
    mem = subparsers.add_parser("memory", help="Import and export semantic memory.")
    sub = mem.add_subparsers(dest="memory_command", required=True)

    imp = sub.add_parser(
        "import",
        help="Import markdown (one memory per ## section) or an exported .jsonl file.",
        description="Markdown files are split by ## headers into self-contained memories tagged with their file; "
        "re-importing updates changed sections and removes vanished ones. Directories are searched for *.md. "
        ".jsonl files written by `memory export` are read back as they are.",
    )
    imp.add_argument(
        "paths", nargs="+", metavar="PATH", help="Markdown files, directories or .jsonl exports."
    )
    imp.add_argument(
        "--category", help="Category for markdown memories (default: the file name without .md)."
    )
    imp.add_argument(
        "--agent",
        help=f"Agent that owns the memories (markdown default: {DEFAULT_AGENT}; "
        "JSONL default: each record's own agent).",
    )
    _config_option(imp)
    imp.set_defaults(func=cmd_import)

    exp = sub.add_parser("export", help="Write memories as JSONL that `memory import` reads back.")
    exp.add_argument("--agent", help="Only this agent's memories (default: all agents).")
    exp.add_argument("--output", "-o", help="File to write (default: standard output).")
    _config_option(exp)
    exp.set_defaults(func=cmd_export)


def _markdown_files(path: Path) -> Iterator[tuple[Path, str]]:
    """(file, source) pairs; the source names the file stably across re-imports."""
    if path.is_dir():
        for file in sorted(path.rglob("*.md")):
            yield file, f"{path.resolve().name}/{file.relative_to(path).as_posix()}"
    else:
        yield path, path.name


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SystemExit(f"{path}:{n}: not a JSON line ({exc.msg})") from exc


def _open_service(args: argparse.Namespace) -> Any:
    from homelab_hub.config import load_config
    from homelab_hub.server.services import build_services

    services = build_services(load_config(args.config), start_workers=False)
    if services.memory is None:
        raise SystemExit("memory is disabled in this configuration (memory.enabled = false)")
    services.memory.wait_ready(timeout=600)
    return services


def cmd_import(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from homelab_hub.memory.importer import Document, ImportReport, MemoryImporter, split_markdown
    from homelab_hub.server.services import close_services

    docs: list[Document] = []
    jsonl: list[Path] = []
    for raw in args.paths:
        path = Path(raw)
        if not path.exists():
            print(f"error: {path} does not exist", file=sys.stderr)
            return 2
        if path.suffix == ".jsonl":
            jsonl.append(path)
            continue
        for file, source in _markdown_files(path):
            sections = split_markdown(file.read_text(encoding="utf-8", errors="replace"), file.stem)
            docs.append(Document(source, args.category or file.stem, [file.name], sections))
    services = _open_service(args)
    try:
        importer = MemoryImporter(services.memory)
        total = sum(len(d.sections) for d in docs)
        reports: list[ImportReport] = []
        with tqdm(total=total or None, unit="memory", desc="importing", disable=None) as bar:
            if docs:
                reports.append(importer.import_documents(args.agent or DEFAULT_AGENT, docs, bar.update))
            for path in jsonl:
                reports.append(importer.import_records(_jsonl(path), args.agent, bar.update))
        services.memory.persist()
    finally:
        close_services(services)
    added = sum(r.added for r in reports)
    updated = sum(r.updated for r in reports)
    removed = sum(r.removed for r in reports)
    unchanged = sum(r.unchanged for r in reports)
    skipped = sum(r.skipped for r in reports)
    print(f"{added} added, {updated} updated, {removed} removed, {unchanged} unchanged, {skipped} skipped")
    errors = [e for r in reports for e in r.errors]
    for err in errors:
        print(f"warning: {err}", file=sys.stderr)
    return 1 if errors else 0


def cmd_export(args: argparse.Namespace) -> int:
    from homelab_hub.memory.importer import export_records
    from homelab_hub.server.services import close_services

    services = _open_service(args)
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    count = 0
    try:
        for record in export_records(services.memory, args.agent):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    finally:
        if out is not sys.stdout:
            out.close()
        close_services(services)
    print(f"exported {count} memories", file=sys.stderr)
    return 0
