"""VectorIndex and TurboQuantizer alone: 4-bit codes, scan quality, persistence."""

from __future__ import annotations

import numpy as np

from homelab_hub.memory.index import VectorIndex, key, memory_of
from homelab_hub.memory.quantizer import TurboQuantizer, _scan_numpy, scan_codes


def unit(rng, n, dim=384):
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_codes_take_four_bits_per_dimension():
    q = TurboQuantizer(384)
    codes, scales = q.encode(unit(np.random.default_rng(0), 10))
    assert codes.shape == (10, 192) and codes.dtype == np.uint8
    assert scales.dtype == np.float32


def test_index_ram_stays_under_0_6_bytes_per_dimension():
    index = VectorIndex(384)
    n = 2000
    index.upsert(list(range(1, n + 1)), ["a"] * n, unit(np.random.default_rng(1), n), [1.0] * n)
    assert index.nbytes / (n * 384) <= 0.6
    assert index.bits_per_dim <= 4.8


def test_lookup_table_scan_matches_decoded_dot_products():
    rng = np.random.default_rng(2)
    q = TurboQuantizer(384)
    vecs, query = unit(rng, 50), unit(rng, 1)[0]
    codes, _ = q.encode(vecs)
    idx = np.empty((50, 384), dtype=np.int64)
    idx[:, 0::2], idx[:, 1::2] = codes & 15, codes >> 4
    decoded = q.codebook[idx]
    expected = decoded @ (query @ q.rotation_t)
    lut = q.lookup_table(query)
    assert np.allclose(scan_codes(codes, lut), expected, atol=1e-4)
    out = np.empty(50, dtype=np.float32)
    _scan_numpy(codes, lut, out)
    assert np.allclose(out, expected, atol=1e-4)


def test_four_bit_scan_ranks_close_to_exact_cosine():
    rng = np.random.default_rng(3)
    base = unit(rng, 300)
    # Clusters of near neighbours, as real memories have.
    vecs = np.vstack([base + 0.3 * unit(rng, 300) / np.sqrt(384) * 10 for _ in range(5)])
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    index = VectorIndex(384)
    index.upsert(list(range(len(vecs))), ["a"] * len(vecs), vecs, [0.0] * len(vecs))
    hits = 0
    for query in unit(rng, 20):
        exact = set(np.argsort(-(vecs @ query))[:10].tolist())
        approx = {i for i, _ in index.search(query, "a", 100)}
        hits += len(exact & approx)
    assert hits / 200 >= 0.99  # the 100 candidates the reranker sees hold the exact top 10


def found(hits) -> set[int]:  # type: ignore[no-untyped-def]
    return {memory_of(k) for k, _ in hits}


def test_search_sees_only_the_named_agent_and_live_rows():
    rng = np.random.default_rng(4)
    index = VectorIndex(384)
    vecs = unit(rng, 6)
    index.upsert([key(i) for i in range(1, 7)], ["a", "b", "a", "b", "a", "b"], vecs, [0.0] * 6)
    index.remove([3])
    assert found(index.search(vecs[0], "a", 10)) == {1, 5}
    assert found(index.search(vecs[0], None, 10)) == {1, 2, 4, 5, 6}
    assert index.search(vecs[0], "nobody", 10) == []
    assert found(index.search(vecs[0], None, 10, allowed=np.array([2, 5]))) == {2, 5}


def test_removing_a_memory_removes_all_its_chunk_vectors():
    rng = np.random.default_rng(7)
    index = VectorIndex(384)
    vecs = unit(rng, 4)
    index.upsert([key(1), key(1, 1), key(1, 2), key(2)], ["a"] * 4, vecs, [0.0] * 4)
    assert (len(index), index.memories) == (4, 2)
    assert index.remove([1]) == 1
    assert found(index.search(vecs[1], "a", 10)) == {2}
    assert (len(index), index.memories) == (1, 1)


def test_ids_committed_out_of_order_stay_findable():
    rng = np.random.default_rng(5)
    index = VectorIndex(384)
    vecs = unit(rng, 4)
    index.upsert([key(10)], ["a"], vecs[:1], [0.0])
    index.upsert([key(30)], ["a"], vecs[1:2], [0.0])
    index.upsert([key(20)], ["a"], vecs[2:3], [0.0])
    index.upsert([key(5)], ["a"], vecs[3:4], [0.0])
    for memory_id, vec in zip([10, 30, 20, 5], vecs, strict=True):
        assert memory_of(index.search(vec, "a", 1)[0][0]) == memory_id
    assert sorted(index.versions()) == [5, 10, 20, 30]


def test_index_survives_a_save_and_load_round_trip(tmp_path):
    rng = np.random.default_rng(6)
    index = VectorIndex(384)
    vecs = unit(rng, 3000)
    index.upsert(
        [key(i) for i in range(1, 3001)], ["a", "b", "c"] * 1000, vecs, [float(i) for i in range(3000)]
    )
    index.remove(list(range(1, 1500)))  # enough to trigger compaction
    index.save(tmp_path / "v.npz")
    loaded = VectorIndex.load(tmp_path / "v.npz", 384)
    assert loaded is not None and len(loaded) == len(index) == 1501
    assert loaded.versions() == index.versions()
    assert loaded.search(vecs[2000], "c", 3) == index.search(vecs[2000], "c", 3)


def test_a_corrupt_or_foreign_index_file_is_ignored(tmp_path):
    (tmp_path / "v.npz").write_bytes(b"not an index")
    assert VectorIndex.load(tmp_path / "v.npz", 384) is None
    VectorIndex(8).save(tmp_path / "small.npz")
    assert VectorIndex.load(tmp_path / "small.npz", 384) is None
    assert VectorIndex.load(tmp_path / "missing.npz", 384) is None
