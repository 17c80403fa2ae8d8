"""K-means segmentation (tailor.segments.kmeans): planted clusters recovered, the silhouette picks k, profiles add
up."""

import numpy as np
import pytest
from pyspark.sql import Row

from tailor.errors import InsufficientDataError
from tailor.segments.kmeans import profiles, segment, signed_log

FEATURES = ["frequency", "monetary_total", "recency_days"]
# four groups in log space (log1p of frequency, monetary, recency), far apart relative to the noise
CENTRES = {0: (0.7, 3.0, 5.5), 1: (1.6, 5.0, 3.5), 2: (3.0, 7.5, 1.0), 3: (0.7, 6.5, 5.0)}


def adjusted_rand_index(a: list[int], b: list[int]) -> float:
    """ARI from the contingency table (Hubert and Arabie, 1985)."""
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(table, (ai, bi), 1)

    def pairs(x):
        return (x * (x - 1) / 2).sum()

    n = len(a)
    index, rows, cols = pairs(table), pairs(table.sum(1)), pairs(table.sum(0))
    expected = rows * cols / (n * (n - 1) / 2)
    return float((index - expected) / ((rows + cols) / 2 - expected))


def test_ari_helper_on_known_cases():
    assert adjusted_rand_index([0, 0, 1, 1], [5, 5, 7, 7]) == 1.0  # same partition, other names
    # a=[0,0,0,1,1,1], b=[0,0,1,1,2,2]: index 2, rows 6, cols 3 of 15 pairs -> expected 1.2; (2-1.2)/(4.5-1.2)
    assert adjusted_rand_index([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]) == pytest.approx(0.8 / 3.3)


def _planted(spark, per_group=60, seed=7):
    rng = np.random.default_rng(seed)
    rows, truth = [], {}
    for g, centre in CENTRES.items():
        for i in range(per_group):
            f, m, r = np.expm1(np.array(centre) + rng.normal(0, 0.15, 3))
            uid = f"g{g}-{i:03d}"
            rows.append(Row(user_id=uid, frequency=float(f), monetary_total=float(m), recency_days=float(r)))
            truth[uid] = g
    return spark.createDataFrame(rows), truth


@pytest.fixture(scope="module")
def planted(spark):
    df, truth = _planted(spark)
    seg = segment(df, FEATURES, k_min=2, k_max=6, seed=42, max_iter=40)
    return df, truth, seg


def test_silhouette_picks_the_planted_k(planted):
    _, _, seg = planted
    assert seg.k == 4
    assert max(seg.silhouettes, key=seg.silhouettes.get) == 4
    assert set(seg.silhouettes) == {2, 3, 4, 5, 6}


def test_kmeans_recovers_planted_groups(planted):
    df, truth, seg = planted
    got = {r.user_id: r.segment_id for r in seg.assign(df).collect()}
    ids = sorted(truth)
    assert adjusted_rand_index([truth[u] for u in ids], [got[u] for u in ids]) >= 0.9


def test_segment_ids_rank_by_spend_and_labels_read_the_profile(planted):
    df, _, seg = planted
    by_group = {}
    for r in seg.assign(df).collect():
        by_group.setdefault(r.user_id[:2], set()).add((r.segment_id, r.segment))
    # group 2 spends most (log monetary 7.5), then 3 (6.5), 1 (5.0), 0 (3.0)
    assert by_group["g2"] == {(0, "high value, active")}
    assert {sid for sid, _ in by_group["g3"]} == {1}
    assert {sid for sid, _ in by_group["g1"]} == {2}
    assert by_group["g0"] == {(3, "low value, lapsing")}


def test_the_same_seed_gives_the_same_segments(spark, planted):
    df, _, seg = planted
    again = segment(df, FEATURES, k_min=4, k_max=4, seed=42, max_iter=40)
    first = sorted(tuple(r) for r in seg.assign(df).collect())
    assert sorted(tuple(r) for r in again.assign(df).collect()) == first


def test_the_model_kept_from_the_search_is_the_refit_on_every_row(planted):
    from tailor.segments.kmeans import fit_kmeans, to_vectors

    df, _, seg = planted  # fewer rows than selection_sample_rows: the search saw every row
    scaled = seg.scaler.transform(df.transform(to_vectors(FEATURES)))
    refit = fit_kmeans(scaled, seg.k, seed=42, max_iter=40)
    assert [list(c) for c in seg.model.clusterCenters()] == [list(c) for c in refit.clusterCenters()]


def test_profiles_sizes_shares_and_means(spark):
    assigned = spark.createDataFrame(
        [("u1", 0, "x"), ("u2", 0, "x"), ("u3", 1, "y")], "user_id string, segment_id int, segment string"
    )
    feats = spark.createDataFrame(
        [("u1", 2, 30.0), ("u2", 4, 50.0), ("u3", 1, 20.0)], "user_id string, frequency int, monetary_total double"
    )
    got = {r.segment_id: r for r in profiles(assigned, feats, ["frequency", "monetary_total"]).collect()}
    assert (got[0].size, got[1].size) == (2, 1)
    assert got[0].customer_share == pytest.approx(2 / 3)
    assert got[0].revenue_share == pytest.approx(80 / 100)
    assert got[1].revenue_share == pytest.approx(20 / 100)
    assert got[0].feature_means == {"frequency": 3.0, "monetary_total": 40.0}


def test_signed_log_keeps_sign_and_fills_nulls(spark):
    from pyspark.sql import functions as F

    rows = spark.createDataFrame([(np.e - 1,), (-(np.e - 1),), (None,)], "x double")
    got = [r.y for r in rows.select(signed_log(F.col("x")).alias("y")).collect()]
    assert got == pytest.approx([1.0, -1.0, 0.0])


def test_too_few_customers_is_a_clear_error(spark):
    one = spark.createDataFrame([Row(user_id="u", frequency=1.0, monetary_total=5.0, recency_days=3.0)])
    with pytest.raises(InsufficientDataError, match="at least two customers"):
        segment(one, FEATURES, k_min=2, k_max=3, seed=1)
