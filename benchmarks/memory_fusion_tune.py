"""Choose the hybrid fusion's parameters and BM25's k1/b on the dev halves of both eval sets.

Loads the operator set and the conversational set (tests/fixtures/memory/) into one SQLite
hub, then scores a grid of settings by hybrid recall@5 on the dev halves only, and keeps
those where hybrid is at least as good as the better half on every query class. It prints
the best settings; the chosen numbers live in memory/search.py and memory/keyword.py, and
tests/memory/test_memory_quality.py reports the held-out halves.

    python benchmarks/memory_fusion_tune.py                 # thread context: span x shares
    python benchmarks/memory_fusion_tune.py --weights       # BM25 k1/b x semantic weights
    python benchmarks/memory_fusion_tune.py --identifier-weights 0.05,0.1,0.15

Each form keeps every setting it does not sweep at its default (the chosen ones). The first
chose the neighbour span and the context shares, the second k1, b and the semantic weights,
the third sweeps only the semantic weight of queries with an identifier in them.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from homelab_hub.memory.config import MemoryConfig
from homelab_hub.memory.keyword import KeywordIndex
from homelab_hub.memory.search import Fusion
from homelab_hub.memory.service import MemoryService
from homelab_hub.server.components import all_migrations
from homelab_hub.store import Database, migrate
from tests.memory import support


def rebuild_keywords(service: MemoryService, k1: float, b: float) -> None:
    index = KeywordIndex(k1=k1, b=b)
    for rows in service.store.iter_contents():
        for m in rows:
            index.upsert(m.id, m.agent, m.content)
    service.keywords = index


Tables = dict[str, dict[str, dict[str, dict[int, float]]]]


def halves(service: MemoryService, sets: dict[str, list[support.EvalSet]]) -> Tables:
    search = support.service_search(service)
    return {
        name: support.recall_table(chosen, search, "dev", modes=("semantic", "keyword"))
        for name, chosen in sets.items()
    }


def score(
    service: MemoryService, sets: dict[str, list[support.EvalSet]], base: Tables
) -> tuple[float, bool, str]:
    search = support.service_search(service)
    total, ok, notes = 0.0, True, []
    for name, chosen in sets.items():
        table = {**base[name], **support.recall_table(chosen, search, "dev", modes=("hybrid",))}
        total += table["hybrid"]["all"][5]
        for kind in table["hybrid"]:
            best_half = max(table["semantic"][kind][5], table["keyword"][kind][5])
            if table["hybrid"][kind][5] + 1e-9 < best_half:
                ok = False
                notes.append(f"{name}/{kind} {table['hybrid'][kind][5]:.3f}<{best_half:.3f}")
        notes.append(f"{name} {table['hybrid']['all'][5]:.3f}")
    return total / len(sets), ok, " ".join(notes)


def sweep(
    service: MemoryService,
    sets: dict[str, list[support.EvalSet]],
    base: Tables,
    settings: list[dict[str, float]],
) -> list[tuple[bool, float, dict[str, float], str]]:
    results = []
    for setting in settings:
        service.fusion = replace(Fusion(), **setting)
        mean, ok, notes = score(service, sets, base)
        results.append((ok, mean, setting, notes))
        shown = " ".join(f"{k} {v}" for k, v in setting.items())
        print(f"  {shown}: {mean:.3f} {'ok' if ok else 'LOSES'}  {notes}", flush=True)
    return results


def main() -> None:
    from homelab_hub.memory.embedders import build_embedder

    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", action="store_true", help="sweep BM25 k1/b and the semantic weights")
    parser.add_argument(
        "--identifier-weights", help="comma-separated: sweep only this weight, the rest at defaults"
    )
    args = parser.parse_args()

    embedder = build_embedder(MemoryConfig())
    embedder.load_now()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.from_url(f"sqlite:///{tmp}/tune.db")
        migrate(db, all_migrations())
        service = MemoryService(db, MemoryConfig(), Path(tmp) / "index", embedder)
        service.start_now()
        started = time.monotonic()
        sets = {
            "operator": [support.load_operator_set(service)],
            "conversation": list(support.load_conversation_set(service).values()),
        }
        print(f"loaded both sets in {time.monotonic() - started:.0f}s; scoring dev halves (hybrid R@5)")
        results = []
        if args.identifier_weights:
            settings = [{"identifier_weight": float(w)} for w in args.identifier_weights.split(",")]
            results = sweep(service, sets, halves(service, sets), settings)
        elif args.weights:
            for k1, b in [(1.2, 0.75), (1.2, 0.4)]:
                rebuild_keywords(service, k1, b)
                print(f" BM25 k1 {k1} b {b}")
                grid = itertools.product((0.3, 0.45), (0.15, 0.3), (0.0, 0.45, 0.75))
                settings = [
                    {"semantic_weight": sem_w, "identifier_weight": id_w, "keyword_context": context}
                    for sem_w, id_w, context in grid
                ]
                results += sweep(service, sets, halves(service, sets), settings)
        else:
            grid = itertools.product((5, 6, 7, 8), (0.6, 0.75, 0.9), (0.1, 0.2, 0.3))
            settings = [
                {"neighbours": span, "keyword_context": kc, "semantic_context": sc} for span, kc, sc in grid
            ]
            results = sweep(service, sets, halves(service, sets), settings)
        results.sort(key=lambda r: (not r[0], -r[1]))
        print("best:", results[0])
        db.close()


if __name__ == "__main__":
    main()
