"""Many agents saving at once lose nothing (the official MCP memory server loses writes)."""

from __future__ import annotations

import json
import threading

import httpx

THREADS = 8
SAVES = 200


def test_eight_threads_of_two_hundred_saves_are_all_stored_once_and_found(memory_hub):
    hub = memory_hub.hub
    tokens = [hub.create_token(f"writer{t}") for t in range(THREADS)]
    acked: dict[int, list[int]] = {t: [] for t in range(THREADS)}
    failures: list[str] = []

    def writer(t: int) -> None:
        with httpx.Client(
            base_url=hub.url, headers={"Authorization": f"Bearer {tokens[t]}"}, timeout=120
        ) as client:
            for i in range(SAVES):
                # Every thread also saves the same shared line, to race the duplicate check.
                content = f"writer {t} note {i}: host-{t}-{i} listens on port {20000 + t * SAVES + i}."
                res = client.post("/api/save", json={"content": content, "category": f"w{t}"})
                if res.status_code != 200:
                    failures.append(res.text)
                    continue
                acked[t].append(res.json()["id"])

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert failures == []
    all_ids = [i for ids in acked.values() for i in ids]
    assert len(all_ids) == len(set(all_ids)) == THREADS * SAVES
    db = hub.services.db
    assert db.query_one("SELECT COUNT(*) AS n FROM memories")["n"] == THREADS * SAVES
    admin_stats = memory_hub.ok("memory_stats", {"agent": "*"}, memory_hub.admin)
    assert admin_stats["total"] == THREADS * SAVES and admin_stats["index_vectors"] == THREADS * SAVES
    # Each save is findable by its exact identifier, in its own agent.
    for t in (0, THREADS - 1):
        for i in (0, SAVES // 2, SAVES - 1):
            res = hub.rest("memory_search", {"query": f"host-{t}-{i}", "limit": 1}, token=tokens[t])
            assert res.json()["results"][0]["id"] == acked[t][i]


def test_concurrent_saves_of_the_same_content_keep_one_copy(memory_hub):
    hub = memory_hub.hub
    ids: list[int] = []
    lock = threading.Lock()

    def save() -> None:
        res = hub.rest(
            "memory_save", {"content": "Shared fact: the NAS is nas-01 at 192.168.1.30."}, memory_hub.alice
        )
        with lock:
            ids.append(res.json()["id"])

    threads = [threading.Thread(target=save) for _ in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(set(ids)) == 1 and len(ids) == THREADS
    assert memory_hub.ok("memory_stats", {})["total"] == 1


def test_one_agents_poisoned_searches_never_fail_another_agents(hub_factory, embedder):
    hub = hub_factory({})
    poisoner, victim = hub.create_token("mallory"), hub.create_token("bob")
    hub.rest("memory_save", {"content": "Grafana on pve-01 listens on port 3000."}, token=victim)
    results: dict[str, list[int]] = {"bob": [], "mallory": []}
    lock = threading.Lock()

    def search(who: str, token: str, query: str) -> None:
        with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
            # json.dumps escapes a lone surrogate (\\ud800), as a hostile client sends it.
            res = c.post(
                "/api/tools/memory_search",
                content=json.dumps({"query": query}),
                headers={"Content-Type": "application/json"},
            )
        with lock:
            results[who].append(res.status_code)

    threads = [threading.Thread(target=search, args=("bob", victim, f"grafana port {i}")) for i in range(40)]
    threads += [
        threading.Thread(target=search, args=("mallory", poisoner, f"x\ud800 {i}")) for i in range(40)
    ]
    for th in threads[::2] + threads[1::2]:
        th.start()
    for th in threads:
        th.join()
    assert results["bob"] == [200] * 40
    assert results["mallory"] == [400] * 40


def test_a_text_the_model_cannot_encode_fails_only_its_own_caller(embedder):
    # Straight at the embedder, past validation: the batch is retried one text at a time.
    from homelab_hub.errors import InvalidInput

    outcomes: dict[str, str] = {}
    barrier = threading.Barrier(9)

    def embed(name: str, text: str) -> None:
        barrier.wait()
        try:
            embedder.embed_one(text)
            outcomes[name] = "ok"
        except InvalidInput:
            outcomes[name] = "refused"

    threads = [
        threading.Thread(target=embed, args=(f"good{i}", f"restart ollama on host {i}")) for i in range(8)
    ]
    threads.append(threading.Thread(target=embed, args=("bad", "ollama \ud800 port")))
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert outcomes.pop("bad") == "refused"
    assert set(outcomes.values()) == {"ok"}


def test_a_save_that_lands_while_sync_reads_the_table_stays_in_the_caches(memory, monkeypatch):
    # The background sync compares the table with the index to drop deleted rows; a save
    # committing between its two reads must not look deleted.
    memory.save("ops", "The NAS is nas-01 at 192.168.1.30.")
    table_versions = memory.store.versions
    landed: list[int] = []

    def versions_while_a_save_lands():  # type: ignore[no-untyped-def]
        truth = table_versions()
        landed.append(memory.save("ops", "Frigate records to /media/frigate on nas-01.").id)
        return truth

    monkeypatch.setattr(memory.store, "versions", versions_while_a_save_lands)
    monkeypatch.setattr(memory.store, "count", lambda: -1)  # as while saves are in flight
    memory.sync()
    monkeypatch.undo()
    assert len(memory.index) == 2
    hits = memory.search("ops", "where does frigate record to", min_score=-1)
    assert hits[0].memory.id == landed[0]


LONG_CLIENTS = 16
LONG_SAVES = 4
_WORDS = (
    "the backup job on nas-01 copies the frigate recordings to the offsite bucket every night at two, "
    "checks the snapshot with restic, prunes anything older than thirty days and mails a short report. "
    "When the upload stalls the job retries three times, then pages whoever is on call through ntfy. "
    "The bucket credentials live in the vault under infra slash backup, rotated each quarter by hand. "
).split()


def long_memory(client: int, n: int) -> str:
    """About 120 words (170 word pieces): long enough to be saved in chunks."""
    words = [*_WORDS, *_WORDS][(client + n) % 7 : (client + n) % 7 + 118]
    return f"client {client} note {n}: " + " ".join(words) + f" Ticket OPS-{client * 100 + n}."


def test_sixteen_clients_saving_long_memories_all_succeed(memory_hub):
    # Counting a memory's word pieces shared the tokenizer with a batch being padded in another
    # thread without a lock: "expected sequence of length 55 at dim 1 (got 50)" as a 500.
    hub = memory_hub.hub
    statuses: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        auth = {"Authorization": f"Bearer {memory_hub.alice}"}
        with httpx.Client(base_url=hub.url, headers=auth, timeout=120) as http:
            for n in range(LONG_SAVES):
                res = http.post("/api/save", json={"content": long_memory(c, n)})
                with lock:
                    statuses.append(res.status_code)
                    if res.status_code != 200:
                        errors.append(res.text[:200])

    threads = [threading.Thread(target=client, args=(c,)) for c in range(LONG_CLIENTS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert statuses == [200] * LONG_CLIENTS * LONG_SAVES
    chunked = hub.services.db.query_one("SELECT COUNT(DISTINCT memory_id) AS n FROM memory_chunks")["n"]
    assert chunked == LONG_CLIENTS * LONG_SAVES


def test_the_embedder_can_count_and_encode_from_many_threads_at_once(embedder):
    # The race behind the 500s, without the HTTP around it: counting word pieces while
    # another thread pads a batch of texts of different lengths.
    texts = [" ".join(["restart the ollama container on dgx-spark"] * (1 + n % 9)) for n in range(12)]
    errors: list[str] = []
    stop = threading.Event()

    def encode() -> None:
        try:
            for _ in range(15):
                embedder.embed(texts, batch_size=12)
        except Exception as exc:  # the test reports any failure, whatever its type
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            stop.set()

    def count() -> None:
        expected = embedder.count_tokens(texts)
        while not stop.is_set():
            try:
                got = embedder.count_tokens(texts)
            except Exception as exc:  # as above
                errors.append(f"{type(exc).__name__}: {exc}")
                return
            if got != expected:
                errors.append(f"counted {got}, expected {expected}")
                return

    threads = [threading.Thread(target=encode)] + [threading.Thread(target=count) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
