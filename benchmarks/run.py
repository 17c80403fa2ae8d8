"""``make bench`` / ``python -m benchmarks.run``: run benchmark suites, write benchmarks/results/<suite>.{json,md}.

    python -m benchmarks.run jobs --scales S M          # the scale suite (default S and M; L takes hours)
    python -m benchmarks.run jobs --scales M --jobs ingest features segments
    python -m benchmarks.run jobs --scales S --keep /tmp/a   # then: python -m benchmarks.checksums /tmp/a/warehouse-S
    python -m benchmarks.run ml100k --data ../shared/data/ml-100k    # or any MovieLens folder (ml-1m ...)
    python -m benchmarks.run als100k --data ../shared/data/ml-100k
    python -m benchmarks.run dense --scales S M      # the dense-pivot baseline, in a memory-capped process
    python -m benchmarks.run hybrid100k              # every recommender and the hybrid on MovieLens 100k
    python -m benchmarks.run als-speed               # Spark ALS against `implicit` (pip install -e '.[bench]')
    python -m benchmarks.run evaluations --targets M online_retail   # tailor evaluate, time split
    python -m benchmarks.run rules --scale M        # FPGrowth vs mlxtend on Online Retail, curve, planted bundles
    python -m benchmarks.run crossover               # rules vs mlxtend, ALS vs implicit, 1x-64x Online Retail
    python -m benchmarks.run propensity --targets M online_retail cdnow   # out-of-time AUC and calibration, vs peers
    python -m benchmarks.run clv                     # tailor clv vs lifetimes on CDNOW (pip install -e '.[bench]')
    python -m benchmarks.run hostile                 # messy files, hostile config: handled, rows lost, traces
    python -m benchmarks.run plans --scale M        # grouped numpy plans against Spark's: same rows, time
    python -m benchmarks.run caps                    # user-CF quality under fixed and scaled interaction caps
    python -m benchmarks.run delta-costs             # seconds and Spark jobs per Delta operation, one-row tables
    python -m benchmarks.run spark-jobs              # Spark jobs, tasks and seconds of each job on a tiny shop
"""

from __future__ import annotations

import argparse
import logging
from datetime import date
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="benchmarks.run")
    sub = p.add_subparsers(dest="suite")
    j = sub.add_parser("jobs", help="wall time and peak memory of every job on the synthetic shop")
    j.add_argument("--scales", nargs="+", default=["S", "M"], choices=["S", "M", "L"])
    j.add_argument("--jobs", nargs="+", default=None, help="a subset of the jobs, in pipeline order")
    j.add_argument("--run-date", default="2026-11-23")
    j.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE")
    j.add_argument("--keep", default=None, metavar="DIR",
                   help="keep each scale's warehouse under DIR (for python -m benchmarks.checksums)")
    ml = sub.add_parser("ml100k", help="item-CF and user-CF on MovieLens 100k, recommenders protocol")
    ml.add_argument("--data", default="../shared/data/ml-100k")
    d = sub.add_parser("dense", help="the seeds' dense pandas pivot + cosine, for comparison with similarity")
    d.add_argument("--scales", nargs="+", default=["S", "M"], choices=["S", "M", "L"])
    d.add_argument("--limit-gb", type=float, default=16.0)
    a = sub.add_parser("als100k", help="implicit ALS tuned on validation, on MovieLens 100k")
    a.add_argument("--data", default="../shared/data/ml-100k")
    hy = sub.add_parser("hybrid100k", help="every recommender and the hybrid on MovieLens 100k")
    hy.add_argument("--data", default="../shared/data/ml-100k")
    hy.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE")
    sp = sub.add_parser("als-speed", help="Spark ALS fit time against the implicit library, with/without BLAS")
    sp.add_argument("--data", default="../shared/data/ml-100k")
    sp.add_argument("--modes", nargs="+", default=["java", "native", "native-1t"],
                    choices=["java", "native", "native-1t", "native-kryo", "native-nockpt"])
    sp.add_argument("--synthetic", type=int, default=1_000_000, help="synthetic pairs besides --data; 0 for none")
    sp.add_argument("--iters", type=int, default=10)
    sp.add_argument("--busy", type=int, default=0, metavar="N",
                    help="N other processes spin a core each while it runs (results/als_speed-busyN)")
    ev = sub.add_parser("evaluations", help="tailor evaluate (time split) on the synthetic shop and Online Retail")
    ev.add_argument("--targets", nargs="+", default=["M", "online_retail"], choices=["S", "M", "L", "online_retail"])
    ev.add_argument("--data", default="../shared/data")
    ev.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE")
    ru = sub.add_parser("rules", help="FPGrowth against mlxtend on Online Retail, support curve, planted bundles")
    ru.add_argument("--data", default="../shared/data")
    ru.add_argument("--support", type=float, default=0.02)
    ru.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
                    help="config for the Online Retail run, e.g. spark.conf={...}")
    ru.add_argument("--curve", type=float, nargs="*", default=[0.05, 0.03, 0.02, 0.015, 0.01, 0.0075, 0.005])
    ru.add_argument("--scale", default="M", help="synthetic shop for the planted bundles; '' to skip")
    ru.add_argument("--planted-support", type=float, default=0.0001,
                    help="minSupport for the planted bundles (the default 0.001 misses most of them)")
    cx = sub.add_parser("crossover", help="rules against mlxtend and ALS against implicit at 1x-64x Online Retail")
    cx.add_argument("--data", default="../shared/data")
    cx.add_argument("--scales", nargs="+", type=int, default=[1, 4, 16, 64])
    cx.add_argument("--support", type=float, default=0.02)
    cx.add_argument("--limit-gb", type=float, default=16.0)
    cx.add_argument("--parts", nargs="+", default=["rules", "als"], choices=["rules", "als"])
    pr = sub.add_parser("propensity", help="propensity AUC out of time, against scikit-learn and LightGBM")
    pr.add_argument("--targets", nargs="+", default=["M", "online_retail", "cdnow"],
                    choices=["S", "M", "online_retail", "cdnow"])
    pr.add_argument("--data", default="../shared/data")
    pr.add_argument("--cdnow", default=None, help="lifetimes' datasets folder (downloaded from PyPI when absent)")
    pr.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
                    help="a config override for every target, e.g. to compare feature sets")
    pl = sub.add_parser("plans", help="grouped numpy plans against Spark's plans: same results, and the time")
    pl.add_argument("--scale", default="M", choices=["S", "M", "L"])
    pl.add_argument("--run-date", default="2026-11-23")
    cl = sub.add_parser("clv", help="tailor clv against lifetimes on CDNOW: summary, parameters, holdout, time")
    cl.add_argument("--data", default=None, help="lifetimes' datasets folder (downloaded from PyPI when absent)")
    st = sub.add_parser("stream", help="event-to-recommendation latency of tailor stream (processing-time trigger)")
    st.add_argument("--rate", type=int, default=200, help="events per second")
    st.add_argument("--seconds", type=float, default=120.0)
    st.add_argument("--interval", type=float, default=5.0, help="trigger interval (s)")
    st.add_argument("--users", type=int, default=20_000)
    st.add_argument("--items", type=int, default=2_000)
    dc = sub.add_parser("delta-costs", help="seconds and Spark jobs per Delta operation on a one-row table")
    dc.add_argument("--repeats", type=int, default=6)
    sj = sub.add_parser("spark-jobs", help="Spark jobs, tasks and seconds of each daily job on a tiny shop")
    sj.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE")
    ca = sub.add_parser("caps", help="user-CF quality under fixed and scaled interaction caps, on MovieLens")
    ca.add_argument("--data", default="../shared/data/ml-100k")
    ca.add_argument("--floors", nargs="+", type=int, default=[25, 50, 100])
    ho = sub.add_parser("hostile", help="the tailor command on messy files and hostile config: rows lost, traces")
    ho.add_argument("--cases", nargs="+", default=None, help="some of the cases (default: all)")
    args = p.parse_args(argv)
    from tailor import log as tlog

    tlog.setup("WARNING")
    logging.getLogger("py4j").setLevel(logging.ERROR)
    suite = args.suite or "jobs"
    if suite == "jobs":
        from benchmarks import jobs

        md = jobs.main(getattr(args, "scales", ["S", "M"]), getattr(args, "jobs", None),
                       date.fromisoformat(getattr(args, "run_date", "2026-11-23")), getattr(args, "overrides", []),
                       Path(args.keep) if getattr(args, "keep", None) else None)
        print(f"results: {md}")
    elif suite == "dense":
        from benchmarks import dense

        dense.main(args.scales, args.limit_gb)
    elif suite == "als100k":
        from benchmarks import als100k

        print(f"results: {als100k.main(args.data)}")
    elif suite == "hybrid100k":
        from benchmarks import hybrid100k

        print(f"results: {hybrid100k.main(args.data, overrides=args.overrides)}")
    elif suite == "spark-jobs":
        from benchmarks import spark_jobs

        print(f"results: {spark_jobs.main(args.overrides)}")
    elif suite == "delta-costs":
        from benchmarks import delta_costs

        print(f"results: {delta_costs.main(args.repeats)}")
    elif suite == "caps":
        from benchmarks import caps

        print(f"results: {caps.main(args.data, tuple(args.floors))}")
    elif suite == "plans":
        from benchmarks import plans

        print(f"results: {plans.main(args.scale, date.fromisoformat(args.run_date))}")
    elif suite == "als-speed":
        from benchmarks import als_speed

        print(f"results: {als_speed.main(args.data, args.modes, args.synthetic, args.iters, args.busy)}")
    elif suite == "evaluations":
        from benchmarks import evaluations

        print(f"results: {evaluations.main(args.targets, args.data, args.overrides)}")
    elif suite == "rules":
        from benchmarks import rules_bench

        planted = (f"rules.min_support={args.planted_support}",)
        md = rules_bench.main(args.data, args.support, args.curve, args.scale or None, planted,
                              tuple(args.overrides))
        print(f"results: {md}")
    elif suite == "crossover":
        from benchmarks import crossover

        print(f"results: {crossover.main(args.data, args.scales, args.support, args.limit_gb, args.parts)}")
    elif suite == "propensity":
        from benchmarks import propensity_bench

        print(f"results: {propensity_bench.main(args.targets, args.data, tuple(args.overrides), args.cdnow)}")
    elif suite == "stream":
        from benchmarks import stream_bench

        print(f"results: {stream_bench.main(args.rate, args.seconds, args.interval, args.users, args.items)}")
    elif suite == "hostile":
        from benchmarks import hostile

        outcomes = hostile.main(args.cases)
        return 0 if all(o.handled and not o.rows_lost and not o.traces for o in outcomes) else 1
    elif suite == "clv":
        from benchmarks import clv_bench

        print(f"results: {clv_bench.main(args.data)}")
    elif suite == "ml100k":
        from benchmarks import ml100k

        print(f"results: {ml100k.main(args.data)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
