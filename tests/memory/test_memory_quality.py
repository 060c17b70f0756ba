"""Search quality on a labelled, operator-style set: hybrid vs semantic-only.

tests/fixtures/memory/quality_set.json (written by make_quality_set.py next to it) holds
330 memories (ports, hosts, fixes, decisions, cameras, config paths, logs) and 77 queries,
37 of them identifiers (ports, IPs, error strings, paths) and 40 plain questions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from homelab_hub.memory.importer import MemoryImporter

SET = Path(__file__).parents[1] / "fixtures" / "memory" / "quality_set.json"


@pytest.fixture
def loaded(make_service, sqlite_url):  # type: ignore[no-untyped-def]
    data = json.loads(SET.read_text(encoding="utf-8"))
    service = make_service(sqlite_url)
    records = [
        {"agent": "ops", **{k: m[k] for k in ("content", "category", "tags")}} for m in data["memories"]
    ]
    report = MemoryImporter(service).import_records(records, None)
    assert report.added == len(data["memories"])
    ids = {m["key"]: service.store.id_by_hash("ops", m["content"]) for m in data["memories"]}
    return service, data["queries"], ids


def recall(service, queries, ids, mode: str) -> dict[str, tuple[float, float]]:  # type: ignore[no-untyped-def]
    out = {}
    for kind in ("identifier", "natural", "all"):
        chosen = [q for q in queries if kind in ("all", q["kind"])]
        at1 = at5 = 0
        for q in chosen:
            hits = [
                h.memory.id for h in service.search("ops", q["query"], limit=5, min_score=-1.0, mode=mode)
            ]
            at1 += hits[:1] == [ids[q["expected"]]]
            at5 += ids[q["expected"]] in hits
        out[kind] = (at1 / len(chosen), at5 / len(chosen))
    return out


def test_hybrid_search_beats_semantic_only_on_identifiers_and_overall(loaded, capsys):
    service, queries, ids = loaded
    assert len(queries) >= 60 and len(ids) >= 300
    semantic = recall(service, queries, ids, "semantic")
    hybrid = recall(service, queries, ids, "hybrid")
    with capsys.disabled():
        print(f"\n  {len(queries)} queries over {len(ids)} memories   recall@1  recall@5")
        for kind in ("identifier", "natural", "all"):
            for name, r in (("semantic", semantic), ("hybrid", hybrid)):
                print(f"  {kind:<10} {name:<8}              {r[kind][0]:.3f}     {r[kind][1]:.3f}")
    assert hybrid["all"][0] >= semantic["all"][0] and hybrid["all"][1] >= semantic["all"][1]
    assert hybrid["natural"][0] >= semantic["natural"][0]
    assert hybrid["identifier"][0] >= semantic["identifier"][0] + 0.3
    assert hybrid["identifier"][1] >= 0.95
