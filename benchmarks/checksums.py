"""Row counts and order-free checksums of every table in a warehouse, and a table-by-table comparison of two.

    python -m benchmarks.checksums WAREHOUSE [--out FILE]     # print (and write) one warehouse's checksums
    python -m benchmarks.checksums --compare A.json B.json   # the tables whose rows differ

A table's checksum is the sum (as a 38-digit decimal, so order-free and exact) of a 64-bit hash of each row's
JSON, columns in name order. Doubles are rounded to ``DIGITS`` decimals first: two runs that sum the same
numbers in another order agree. Columns that record when or where something ran (wall-clock timestamps, run
ids, durations) are left out, and the warehouse's own path is replaced by ``<warehouse>`` in every string,
so two warehouses of the same data in two folders agree.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIGITS = 6
SKIP_TABLES = {"runs", "stream_progress"}
"""The run log and the stream's progress: wall-clock times and ids, by design different on every run."""
VOLATILE = {"started_at", "ended_at", "duration_s", "run_id", "pipeline_run_id", "requested_at", "updated_at"}


def table_sums(spark, wh) -> dict[str, dict[str, object]]:
    """table -> {"rows": n, "checksum": str} for every table of ``wh`` that exists (bronze included)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, FloatType, StringType

    from tailor import tables

    names = [n for n in tables.REGISTRY if n not in SKIP_TABLES]
    for source in ("synthetic", "online_retail", "movielens", "csv"):
        names += [tables.bronze_name(source, e) for e in ("events", "products", "customers", "lines", "ratings",
                                                          "movies", "users")]
    out = {}
    for name in names:
        if not wh.exists(name):
            continue
        df = wh.read(name)
        cols = []
        for f in sorted(df.schema.fields, key=lambda f: f.name):
            if f.name in VOLATILE:
                continue
            c = F.col(f"`{f.name}`")
            if isinstance(f.dataType, (DoubleType, FloatType)):
                c = F.round(c, DIGITS)
            elif isinstance(f.dataType, StringType):
                c = F.replace(c, F.lit(wh.root), F.lit("<warehouse>"))
            cols.append(c.alias(f.name))
        row = F.xxhash64(F.to_json(F.struct(*cols), {"ignoreNullFields": "false"}))
        got = df.agg(F.count(F.lit(1)).alias("n"), F.sum(row.cast("decimal(38,0)")).alias("sum")).first()
        out[name] = {"rows": int(got["n"]), "checksum": str(got["sum"])}
    return out


def compare(a: dict, b: dict) -> list[str]:
    """One line per table that is missing on one side or whose rows differ."""
    lines = []
    for name in sorted(set(a) | set(b)):
        x, y = a.get(name), b.get(name)
        if x != y:
            lines.append(f"{name}: {x} != {y}")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="benchmarks.checksums")
    p.add_argument("warehouse", nargs="?")
    p.add_argument("--out")
    p.add_argument("--compare", nargs=2, metavar=("A", "B"))
    args = p.parse_args(argv)
    if args.compare:
        a, b = (json.loads(Path(f).read_text()) for f in args.compare)
        diff = compare(a, b)
        print("\n".join(diff) if diff else f"all {len(a)} tables equal")
        return 1 if diff else 0
    from tailor.config import load_config, warehouse
    from tailor.spark import get_spark

    cfg = load_config([str(ROOT / "conf" / "local.yaml")],
                      [f"warehouse={args.warehouse}", f"spark.jars_dir={ROOT / '.jars'}"])
    spark = get_spark(cfg)
    sums = table_sums(spark, warehouse(spark, cfg))
    for name, s in sums.items():
        print(f"{name:<40} {s['rows']:>10} {s['checksum']}")
    if args.out:
        Path(args.out).write_text(json.dumps(sums, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
