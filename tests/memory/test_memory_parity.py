"""The same memories and queries give the same ids, in the same order, on SQLite and MariaDB."""

from __future__ import annotations

import json
from pathlib import Path

from homelab_hub.memory.importer import MemoryImporter

SET = Path(__file__).parents[1] / "fixtures" / "memory" / "quality_set.json"


def test_sqlite_and_mariadb_answer_every_query_with_the_same_ids(make_service, sqlite_url, mysql_url):
    data = json.loads(SET.read_text(encoding="utf-8"))
    memories = data["memories"][:200]
    records = [
        {"agent": "ops", "content": m["content"], "category": m["category"], "tags": m["tags"]}
        for m in memories
    ]
    answers = []
    for url in (sqlite_url, mysql_url):
        service = make_service(url)
        MemoryImporter(service).import_records(records, None)
        per_query = []
        for q in data["queries"]:
            hits = service.search("ops", q["query"], limit=5)
            per_query.append([(h.memory.id, round(h.score, 5)) for h in hits])
        per_query.append([m.id for m in service.page("ops", category="fixes", limit=50)[0]])
        answers.append(per_query)
    assert answers[0] == answers[1]
    assert sum(1 for a in answers[0] if a) >= len(data["queries"]) * 0.8
