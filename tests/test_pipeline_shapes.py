"""The whole daily pipeline on shops of other shapes (tailor.pipeline), through config alone: it exits 0,
every job succeeds or is not applicable with its reason, a report is written, and every landed row is
accepted or quarantined."""

import random
from datetime import date, timedelta

from conftest import make_cfg
from tailor.cli import main
from tailor.config import warehouse

RUN = date(2026, 11, 23)
# small grids: the shapes, not the models, are under test
FAST = ["--set", "propensity.algorithms=[lr]", "--set", 'propensity.lr_grid={"regParam": [0.01]}',
        "--set", "propensity.max_iter=5",
        "--set", "hybrid.weight_grid=[1.0]", "--set", "hybrid.search_rounds=1",
        "--set", "evaluation.k=[5]", "--set", "evaluation.search_k=5",
        "--set", "segments.k_max=3", "--set", "als.max_iter=3"]


def _order_log(path, seed=3):
    """CDNOW's shape: customer id twice, yyyymmdd, CDs, dollars; whitespace-separated; no product; no header.
    40 customers over 150 days before the run date, a few repeat buyers, one identical repeat order."""
    rnd = random.Random(seed)
    lines = []
    for c in range(1, 41):
        day = RUN - timedelta(days=rnd.randint(20, 150))
        for _ in range(1 + (c % 4 == 0) * rnd.randint(1, 4)):
            cds = rnd.randint(1, 4)
            lines.append(f"{c:05d} {c:05d} {day:%Y%m%d} {cds} {cds * rnd.uniform(9, 16):7.2f}")
            day = min(day + timedelta(days=rnd.randint(5, 40)), RUN - timedelta(days=1))
    lines.append(lines[-1])  # the same order twice: genuine in an order log
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


def _baskets(root, seed=5):
    """Instacart's shape: baskets (order_id, product_id) with no time and no user; products with aisle and
    department ids, their names in lookup files."""
    rnd = random.Random(seed)
    names = ["milk", "bread", "butter", "eggs", "apples", "bananas", "cheese", "yogurt", "rice", "pasta"]
    (root / "products.csv").write_text("product_id,product_name,aisle_id,department_id\n" + "".join(
        f"{i},{n.title()},{i % 4},{i % 2}\n" for i, n in enumerate(names, start=1)))
    (root / "aisles.csv").write_text("aisle_id,aisle\n0,fresh\n1,dairy\n2,bakery\n3,staples\n")
    (root / "departments.csv").write_text("department_id,department\n0,pantry\n1,chilled\n")
    rows = [(o, p) for o in range(1, 61) for p in rnd.sample(range(1, 11), rnd.randint(2, 5))]
    (root / "order_products.csv").write_text("order_id,product_id,add_to_cart_order\n" + "".join(
        f"{o},{p},{k}\n" for k, (o, p) in enumerate(rows)))
    return len(rows)


SHAPES = {
    "order_log": lambda d: (_order_log(d / "CDNOW_sample.txt"), [
        "--set", "ingest.source=csv", "--set", "ingest.dedupe=off",
        "--set", f"sources.csv.events={{path: {d / 'CDNOW_sample.txt'}, delimiter: whitespace, header: false, "
                 "timestamp_format: yyyyMMdd, mapping: {user_id: _c0, ts: _c2, quantity: _c3, "
                 "price: 'try_divide(cast(_c4 as double), cast(_c3 as double))', "
                 "order_id: \"concat(_c0, '-', _c2)\"}, constants: {item_id: cd, event_type: purchase}}"]),
    "baskets": lambda d: (_baskets(d), [
        "--set", "ingest.source=csv",
        "--set", f"sources.csv.events={{path: {d / 'order_products.csv'}, mapping: {{user_id: order_id, "
                 "item_id: product_id, order_id: order_id}, constants: {event_type: purchase, "
                 f"ts: '{RUN - timedelta(days=1)} 12:00:00', quantity: '1', price: '1'}}}}",
        "--set", f"sources.csv.products={{path: {d / 'products.csv'}, mapping: {{product_id: product_id, "
                 "title: product_name, category: \"concat(department, ' / ', aisle)\"}, lookups: ["
                 f"{{name: aisles, path: {d / 'aisles.csv'}, column: aisle_id}}, "
                 f"{{name: departments, path: {d / 'departments.csv'}, column: department_id}}]}}"]),
}


# what does not apply, worked out from each shape: one product leaves content without two texts, similarity
# without pairs (so cf), the sources without an unseen item (so recommend), and the default campaigns (all
# with offers) without recommendations; baskets on one day leave propensity no later purchase to label; no
# shape has an experiment recorded before its first run, so uplift has nothing to learn from
NOT_APPLICABLE = {
    "order_log": {"content": "at least 2 products", "cf": "found nothing to write",
                  "recommend": "found nothing to write", "campaign": "no campaign can run",
                  "record-sends": "campaign was not applicable",
                  "analyze-experiment": "record-sends was not applicable",
                  "uplift": "contact_history does not exist"},
    "baskets": {"train-propensity": "both classes are needed", "clv": "no customer bought on two different days",
                "score-propensity": "train-propensity was not applicable",
                "uplift": "contact_history does not exist"},
}


def test_the_pipeline_runs_on_an_order_log_without_products(spark, tmp_path, capsys):
    check_shape(spark, tmp_path, capsys, "order_log")


def check_shape(spark, tmp_path, capsys, shape: str) -> None:
    """Run the pipeline on ``shape`` and check what the module docstring promises (test_pipeline_baskets.py runs
    the other shape, so that the two minutes-long runs go to both test workers)."""
    landed, options = SHAPES[shape](tmp_path)
    wh_path = tmp_path / "wh"
    code = main(["pipeline", "--set", f"warehouse={wh_path}", "--run-date", RUN.isoformat(), *FAST, *options])
    out = "".join(capsys.readouterr())
    runs = warehouse(spark, make_cfg(wh_path)).read("runs").collect()
    statuses = {r.job: (r.status, r.error) for r in runs}
    assert code == 0, (out, statuses)
    assert {s for s, _ in statuses.values()} <= {"succeeded", "not_applicable"}, statuses
    na = {job: why for job, (s, why) in statuses.items() if s == "not_applicable"}
    assert set(na) == set(NOT_APPLICABLE[shape]), statuses
    assert all(NOT_APPLICABLE[shape][job] in why for job, why in na.items()), na
    assert statuses["report"][0] == "succeeded" and statuses["ingest"][0] == "succeeded"
    assert (wh_path / "reports" / f"tailor-report-{RUN}.html").exists()
    ingest = next(r for r in runs if r.job == "ingest").metrics
    assert ingest["input.events"] == landed
    assert ingest["accepted.events"] + sum(v for k, v in ingest.items()
                                           if k.startswith("quarantined.events.")) == landed
    if shape == "baskets":  # every event on one day: no time window, so evaluate split each user's items
        splits = {r.split for r in warehouse(spark, make_cfg(wh_path)).read("evaluations").collect()}
        assert splits == {"per_user"}
