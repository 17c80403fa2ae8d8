"""MinHash LSH (tailor.similarity.lsh) scores exactly and finds the close pairs."""


import numpy as np
import pytest

from tailor.similarity.pairs import similarity

SCHEMA = "user_id string, item_id string, value double"


def test_minhash_lsh_scores_exactly_and_finds_the_close_pairs(spark):
    from tailor.similarity.lsh import minhash_jaccard

    rng = np.random.default_rng(11)
    rows = []
    for g in range(6):  # six families of items; items of a family share most of a user pool
        pool = [f"u{g}-{k}" for k in range(20)]
        for i in range(5):
            users = [u for u in pool if rng.random() < 0.8] + [f"x{rng.integers(500)}" for _ in range(3)]
            rows += [(u, f"i{g}-{i}", 1.0) for u in set(users)]
    df = spark.createDataFrame(rows, SCHEMA)
    exact = {(r.entity, r.neighbour): (r.score, r.co_count) for r in
             similarity(df, "user_id", "item_id", "value", "jaccard", top_k=1000).collect()}
    approx = {(r.entity, r.neighbour): (r.score, r.co_count) for r in
              minhash_jaccard(df, "user_id", "item_id", min_jaccard=0.3, hash_tables=10, seed=1, top_k=1000)
              .collect()}
    close = {p for p, (s, _) in exact.items() if s >= 0.3}
    assert len(close) >= 100
    assert len(close & set(approx)) / len(close) >= 0.9
    for pair, (score, co) in approx.items():
        assert score == pytest.approx(exact[pair][0]) and co == exact[pair][1]
