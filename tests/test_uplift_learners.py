"""The T- and X-learners (tailor.uplift.learners) fitted together: they share one pair of arm classifiers, and
the T-learner's uplift is μ₁ − μ₀ of those classifiers."""

from __future__ import annotations

import random

import pytest

from tailor.uplift import learners as U


def _rows(spark, n=120, seed=7):
    """``n`` customers, half treated, with two features; the treated convert more when ``x`` is high."""
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        x, z, treated = rnd.random(), rnd.random(), i % 2 == 0
        y = int(rnd.random() < (0.2 + 0.6 * x if treated else 0.3))
        rows.append((str(i), x, z, treated, y))
    return spark.createDataFrame(rows, "user_id string, x double, z double, treated boolean, y int")


def test_both_learners_share_one_pair_of_arm_classifiers(spark):
    rows = _rows(spark)
    with pytest.raises(ValueError, match="unknown uplift learner 's'"):  # before any fit
        U.fit(rows, ("t", "s"), U.Settings(("x",)))
    fitted = U.fit(rows, U.LEARNERS, U.Settings(("x", "z"), seed=3, max_iter=3, max_depth=2))
    t, x = fitted["t"], fitted["x"]
    assert t.mu1 is x.mu1 and t.mu0 is x.mu0  # fitted once: the X-learner's first stage is the T-learner
    assert t.tau1 is None and x.tau1 is not None and x.tau0 is not None
    assert t.treated_share == x.treated_share == 0.5  # 60 of 120
    # the T-learner's uplift is the difference of the two arm models' probabilities
    got = t.uplift(rows).select("user_id", "uplift").orderBy("user_id").collect()
    p1 = U._predict(t.mu1, rows, "_p").select("user_id", "_p").orderBy("user_id").collect()
    p0 = U._predict(t.mu0, rows, "_p").select("user_id", "_p").orderBy("user_id").collect()
    assert [r.uplift for r in got] == pytest.approx([a._p - b._p for a, b in zip(p1, p0, strict=True)], abs=1e-12)


def test_the_models_do_not_depend_on_how_the_rows_are_partitioned(spark):
    # a GBT sums its split statistics over partitions: rows given in 2 or in 5 partitions must still give the
    # same models, bit for bit, as a laptop and a cluster would otherwise learn different ones
    rows = _rows(spark, n=600, seed=11)
    settings = U.Settings(("x", "z"), seed=3, max_iter=3, max_depth=3)
    scores = []
    for parts in (2, 5):
        fitted = U.fit(rows.repartition(parts), ("t",), settings)["t"]
        scores.append([(r.user_id, r.uplift) for r in fitted.uplift(rows).orderBy("user_id").collect()])
    assert scores[0] == scores[1]
