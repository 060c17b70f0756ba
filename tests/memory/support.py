"""Eval-set helpers shared by the quality test and benchmarks/memory_fusion_tune.py.

Two labelled sets live in tests/fixtures/memory/: the operator set (quality_set.json: one
memory per fact, one expected memory per query) and the conversational set
(conversations.json: dated multi-session conversations saved one memory per turn, each
session a thread; questions name their evidence turns). recall@k is the share of a
question's evidence found in the top k, averaged over the questions of a class.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parents[1] / "fixtures" / "memory"
OPERATOR_SET = FIXTURES / "quality_set.json"
CONVERSATION_SET = FIXTURES / "conversations.json"
KS = (1, 5, 10)
MODES = ("semantic", "keyword", "hybrid")


@dataclass
class Query:
    text: str
    kind: str
    split: str
    expected: list[int]


@dataclass
class EvalSet:
    name: str
    agent: str
    queries: list[Query]


def operator_records() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    data = json.loads(OPERATOR_SET.read_text(encoding="utf-8"))
    records = [
        {"agent": "ops", **{k: m[k] for k in ("content", "category", "tags")}} for m in data["memories"]
    ]
    return records, data


def operator_split(index: int) -> str:
    # Every other query is held out; the set is ordered by kind, so both halves get both kinds.
    return "dev" if index % 2 == 0 else "test"


def load_operator_set(service: Any) -> EvalSet:
    """Import the operator set as agent ``ops``; its queries, split dev/test."""
    records, data = operator_records()
    report = import_records(service, records)
    assert report.added == len(records), report
    ids = {m["key"]: service.store.id_by_hash("ops", m["content"]) for m in data["memories"]}
    queries = [
        Query(q["query"], q["kind"], operator_split(i), [ids[q["expected"]]])
        for i, q in enumerate(data["queries"])
    ]
    return EvalSet("operator", "ops", queries)


def turn_content(turn: dict[str, Any]) -> str:
    return f"{turn['speaker']}: {turn['text']}"


def conversation_records(threads: bool = True) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One record per turn, agent ``conv-cNN``; with ``threads`` each session is a thread and
    each turn carries its time (without: plain memories, as the hub stored them before)."""
    data = json.loads(CONVERSATION_SET.read_text(encoding="utf-8"))
    records = []
    for conv in data["conversations"]:
        for session in conv["sessions"]:
            for turn in session["turns"]:
                rec: dict[str, Any] = {"agent": f"conv-{conv['id']}", "content": turn_content(turn)}
                if threads:
                    rec["thread"] = session["id"]
                    rec["occurred_at"] = turn["at"]
                records.append(rec)
    return records, data


def load_conversation_set(service: Any, threads: bool = True) -> dict[str, EvalSet]:
    """Import every conversation (one agent each); per conversation its questions."""
    records, data = conversation_records(threads)
    report = import_records(service, records)
    # Without threads, repeated small talk ("ok thanks") is one memory per agent.
    assert report.errors == [], report.errors
    assert report.added + report.skipped + report.unchanged == len(records), report
    by_turn: dict[str, int] = {}
    for conv in data["conversations"]:
        agent = f"conv-{conv['id']}"
        for session in conv["sessions"]:
            for turn in session["turns"]:
                key = (session["id"], _epoch(turn["at"])) if threads else ()
                by_turn[turn["id"]] = service.store.id_by_hash(agent, turn_content(turn), *key)
    sets: dict[str, EvalSet] = {}
    for q in data["questions"]:
        agent = f"conv-{q['conversation']}"
        sets.setdefault(agent, EvalSet("conversation", agent, []))
        evidence = [by_turn[t] for t in q["evidence"]]
        assert None not in evidence, q
        sets[agent].queries.append(Query(q["question"], q["type"], q["split"], evidence))
    return sets


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def import_records(service: Any, records: list[dict[str, Any]]) -> Any:
    from homelab_hub.memory.importer import MemoryImporter

    return MemoryImporter(service).import_records(records, None)


Search = Callable[[str, str, str], list[int]]


def service_search(service: Any, limit: int = 10, min_score: float | None = -1.0) -> Search:
    """Rankings without the relevance floor (``min_score=None``: the hub's default floor)."""

    def search(agent: str, query: str, mode: str) -> list[int]:
        hits = service.search(agent, query, limit=limit, min_score=min_score, mode=mode)
        return [h.memory.id for h in hits]

    return search


def recall_table(
    sets: Iterable[EvalSet], search: Search, split: str | None = None, modes: Iterable[str] = MODES
) -> dict[str, dict[str, dict[int, float]]]:
    """mode -> query kind (and "all") -> k -> recall@k over the chosen split."""
    sums: dict[str, dict[str, dict[int, float]]] = {}
    counts: dict[str, int] = {}
    for eval_set in sets:
        for q in eval_set.queries:
            if split is not None and q.split != split:
                continue
            for kind in (q.kind, "all"):
                counts[kind] = counts.get(kind, 0) + 1
            for mode in modes:
                found = search(eval_set.agent, q.text, mode)
                for kind in (q.kind, "all"):
                    row = sums.setdefault(mode, {}).setdefault(kind, dict.fromkeys(KS, 0.0))
                    for k in KS:
                        row[k] += sum(1 for e in q.expected if e in found[:k]) / len(q.expected)
    # Each query was counted once per mode; counts were incremented once per query.
    return {
        mode: {kind: {k: v / counts[kind] for k, v in row.items()} for kind, row in kinds.items()}
        for mode, kinds in sums.items()
    }


def format_table(title: str, table: dict[str, dict[str, dict[int, float]]]) -> str:
    kinds = sorted({k for rows in table.values() for k in rows}, key=lambda k: (k == "all", k))
    lines = [f"  {title}", f"  {'class':<11}{'mode':<9}  R@1    R@5    R@10"]
    for kind in kinds:
        for mode, rows in table.items():
            r = rows[kind]
            lines.append(f"  {kind:<11}{mode:<9} {r[1]:.3f}  {r[5]:.3f}  {r[10]:.3f}")
    return "\n".join(lines)


def tool_context(memory: Any, agent: str, role: str = "agent") -> Any:
    """A ToolContext for calling the memory tools' handlers directly on an engine, with a real
    Services object around it (not started: no workers, no other engines)."""
    from homelab_hub.config import load_config
    from homelab_hub.services import Services
    from homelab_hub.supervisor import Supervisor
    from homelab_hub.tools.registry import Identity, ToolContext

    config = load_config(None)
    services = Services(
        config=config, db=memory.store.db, supervisor=Supervisor(config.supervisor), memory=memory
    )
    return ToolContext(services=services, identity=Identity(agent, role))  # type: ignore[arg-type]
