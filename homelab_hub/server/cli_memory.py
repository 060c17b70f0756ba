"""``homelab-hub memory import|export``: bulk-load notes and transcripts, back up to JSONL.

Imports write as agent ``local`` (who a caller without a token is, so a tokenless hub finds
them at once) unless ``--agent`` names the agent whose token will search them; the agent
written to is always printed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homelab_hub.server.cli_options import config_option

if TYPE_CHECKING:
    from homelab_hub.memory.service import MemoryService
    from homelab_hub.services import Services

DEFAULT_AGENT = "local"
DOC_SUFFIXES = (".md", ".markdown", ".txt")


def register(subparsers: Any) -> None:
    mem = subparsers.add_parser(
        "memory", help="import notes and transcripts into semantic memory, export it as JSONL"
    )
    sub = mem.add_subparsers(dest="memory_command", metavar="ACTION", required=True)

    imp = sub.add_parser(
        "import",
        help="import notes (markdown or text), conversation transcripts (.jsonl) or a `memory export`",
        description="Notes are split by the headings they use (any # level, underlined, or plain heading "
        "lines; else paragraphs) into pieces the model reads whole, each with its file and heading path. "
        "A .jsonl chat transcript (Claude Code session files, or lines with role/speaker, text, timestamp) "
        "becomes one thread, one memory per turn. Re-importing updates what changed and removes what "
        "vanished. Directories are searched for *.md, *.markdown and *.txt. .jsonl files written by "
        "`memory export` are read back as they are, earlier versions included.",
    )
    imp.add_argument(
        "paths", nargs="+", metavar="PATH", help="note files, directories, transcripts or .jsonl exports"
    )
    imp.add_argument(
        "--category", help="category for note memories (default: none; each memory's source names its file)"
    )
    imp.add_argument(
        "--agent",
        help=f"agent that owns the memories: the agent name of the token that will search them "
        f"(notes and transcripts default: {DEFAULT_AGENT}, the tokenless caller; exports default: each "
        "record's own agent)",
    )
    config_option(imp)
    imp.set_defaults(func=cmd_import)

    reembed = sub.add_parser(
        "reembed",
        help="re-embed the memories another embedder made, with a progress bar (after changing memory.embedder)",
        description="The hub also does this by itself at start; run it first to watch it, or to have it done "
        "before the hub serves. Interrupted, it resumes where it stopped; run again, it does nothing.",
    )
    config_option(reembed)
    reembed.set_defaults(func=cmd_reembed)

    exp = sub.add_parser("export", help="write memories as JSONL that `memory import` reads back")
    exp.add_argument("--agent", help="only this agent's memories (default: all agents)")
    exp.add_argument("--output", "-o", help="file to write (default: standard output)")
    config_option(exp)
    exp.set_defaults(func=cmd_export)


def _note_files(path: Path) -> Iterator[tuple[Path, str]]:
    """(file, source) pairs; the source names the file stably across re-imports."""
    if path.is_dir():
        for file in sorted(f for f in path.rglob("*") if f.suffix.lower() in DOC_SUFFIXES and f.is_file()):
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


def _owners(records: Iterator[dict[str, Any]], agent: str | None, seen: set[str]) -> Iterator[dict[str, Any]]:
    """The records, passed on as read, noting whose memories they are."""
    for record in records:
        if isinstance(record, dict):
            seen.add(agent or str(record.get("agent")))
        yield record


def _open_service(args: argparse.Namespace) -> tuple[Services, MemoryService]:
    """The hub's services (built by the CLI's ``build_services``, set in server/cli.py) and its memory."""
    from homelab_hub.config import load_config

    services: Services = args.build_services(load_config(args.config), start_workers=False)
    if services.memory is None:
        raise SystemExit("memory is disabled in this configuration (memory.enabled = false)")
    services.memory.wait_ready(timeout=600)
    return services, services.memory


def cmd_import(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from homelab_hub.memory.importer import Document, ImportReport, MemoryImporter
    from homelab_hub.memory.transcripts import is_transcript

    notes: list[tuple[Path, str]] = []
    jsonl: list[Path] = []
    for raw in args.paths:
        path = Path(raw)
        if not path.exists():
            print(f"error: {path} does not exist", file=sys.stderr)
            return 2
        if path.suffix == ".jsonl":
            for _ in _jsonl(path):  # a bad line stops the import before anything is written
                pass
            jsonl.append(path)
        else:
            notes.extend(_note_files(path))
    services, memory = _open_service(args)
    agent = args.agent or DEFAULT_AGENT
    try:
        importer = MemoryImporter(memory)
        # Read and split as the import goes (a generator), so only a batch is held at a time.
        docs = (
            Document(
                source,
                args.category or "",
                [],
                importer.split(file.read_text(encoding="utf-8", errors="replace"), file.name),
            )
            for file, source in notes
        )
        reports: list[ImportReport] = []
        agents: set[str] = set()
        with tqdm(unit="memory", desc="importing", disable=None) as bar:
            if notes:
                reports.append(importer.import_documents(agent, docs, bar.update))
                agents.add(agent)
            for path in jsonl:
                records = _jsonl(path)
                first = next(records, None)
                if first is None:
                    continue
                if is_transcript(first):  # one conversation: one thread, read whole
                    turns = [first, *records]
                    reports.append(importer.import_transcript(agent, turns, path.name, bar.update))
                    agents.add(agent)
                else:
                    owners = _owners(itertools.chain([first], records), args.agent, agents)
                    reports.append(importer.import_records(owners, args.agent, bar.update))
        memory.persist()
    finally:
        args.close_services(services)
    added = sum(r.added for r in reports)
    updated = sum(r.updated for r in reports)
    removed = sum(r.removed for r in reports)
    unchanged = sum(r.unchanged for r in reports)
    skipped = sum(r.skipped for r in reports)
    print(f"{added} added, {updated} updated, {removed} removed, {unchanged} unchanged, {skipped} skipped")
    names = ", ".join(sorted(agents)) or agent
    hint = " (the agent of callers without a token)" if names == "local" else ""
    print(f"agent: {names}{hint}; search them with a token for that agent, or import with --agent NAME")
    errors = [e for r in reports for e in r.errors]
    for err in errors:
        print(f"warning: {err}", file=sys.stderr)
    return 1 if errors else 0


def cmd_reembed(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from homelab_hub.config import load_config

    services: Services = args.build_services(load_config(args.config), start_workers=False)
    memory = services.memory
    if memory is None:
        raise SystemExit("memory is disabled in this configuration (memory.enabled = false)")
    try:
        # The service re-embeds on its own loading thread; the bar follows it.
        with tqdm(unit="memory", desc=f"re-embedding with {memory.embedder.id}", disable=None) as bar:
            while not memory.loaded(0.2):
                done, total = memory.reembed_progress
                bar.total = total or None
                bar.update(done - bar.n)
            done, total = memory.reembed_progress
            bar.total = total
            bar.update(done - bar.n)
        if memory.error:
            print(f"error: {memory.error}", file=sys.stderr)
            return 1
        memory.persist()
    finally:
        args.close_services(services)
    print(f"{memory.reconcile_report.reembedded} memories re-embedded with {memory.embedder.id}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from homelab_hub.memory.importer import export_records

    services, memory = _open_service(args)
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    count = 0
    try:
        for record in export_records(memory, args.agent):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    finally:
        if out is not sys.stdout:
            out.close()
        args.close_services(services)
    print(f"exported {count} memories", file=sys.stderr)
    return 0
