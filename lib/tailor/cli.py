"""The ``tailor`` command.

    tailor <job> [--conf FILE]... [--set key=value]... [--run-date YYYY-MM-DD]
    tailor ingest --source online_retail --path ../shared/data/online_retail/online_retail.csv.gz
    tailor pipeline --run-date YYYY-MM-DD [--from JOB | --only JOB ...]
    tailor demo [--conf conf/local.yaml]
    tailor tables

Exit codes: 0 ok, 1 a job failed, 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
import time
from collections.abc import Sequence
from datetime import date, datetime, timezone

from tailor import log as tlog
from tailor.config import Config, load_config, warehouse
from tailor.errors import ConfigError, TailorError, first_line

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
logger = logging.getLogger("tailor.cli")

_SOURCE_PATH_KEY = {"online_retail": "sources.online_retail.path", "movielens": "sources.movielens.path",
                    "csv": "sources.csv.events.path"}


FIRST_RUN_DATE, LAST_RUN_DATE = date(1970, 1, 1), date(2100, 12, 31)


def _run_date(text: str) -> date:
    try:
        d = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--run-date must be YYYY-MM-DD, got {text!r}") from None
    if not FIRST_RUN_DATE <= d <= LAST_RUN_DATE:
        raise argparse.ArgumentTypeError(f"--run-date must be between {FIRST_RUN_DATE} and {LAST_RUN_DATE}, "
                                         f"got {text}")
    return d


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (``tailor: usage error: ...``, exit 2); ``--help`` as usual."""

    def error(self, message: str):
        import difflib
        import re

        bad = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if bad:
            choices = re.findall(r"[\w-]+", bad.group(2))
            close = difflib.get_close_matches(bad.group(1), choices, n=1)
            message = (f"unknown command {bad.group(1)!r}" + (f"; did you mean {close[0]!r}?" if close else "")
                       + f" (commands: {', '.join(choices)})")
        print(f"tailor: usage error: {self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _source_options(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--source", choices=["synthetic", "online_retail", "movielens", "csv"],
                    help="shorthand for --set ingest.source=...")
    sp.add_argument("--path", help="the source's file, folder or glob: shorthand for --set sources.<source>.path=... "
                    "(csv: sources.csv.events.path)")


def _describe(job) -> str:
    """A job's ``--help`` text: its summary and the tables it declares."""
    lines = [textwrap.fill(job.summary.replace("``", ""), 100), ""]
    lines.append(f"reads:      {', '.join(sorted(job.reads)) or '-'}")
    for table, fallback in sorted(job.soft_reads.items()):
        lines.append(f"reads if present: {table} (else: {fallback})")
    if job.history:
        lines.append(f"reads earlier dates of: {', '.join(sorted(job.history))}")
    lines.append(f"writes:     {', '.join(sorted(job.writes)) or '- (see above)'}")
    return "\n".join(lines)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive number")
    return value


def _campaign_share(text: str) -> tuple[str, float]:
    name, sep, share = text.rpartition("=")
    try:
        value = float(share)
    except ValueError:
        value = -1.0
    if not sep or not name or not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give CAMPAIGN=SHARE with a share in (0, 1]")
    return name, value


def _job_args(name: str, args: argparse.Namespace) -> object | None:
    """The typed arguments of job ``name`` from its command-line options (None: it takes none)."""
    from tailor.jobs import JOBS, TOOLS

    job = JOBS.get(name) or TOOLS.get(name)
    if job is None or job.args is None:
        return None
    if name == "record-sends":
        return job.args(file=args.file)
    if name == "analyze-experiment":
        return job.args(campaigns=tuple(args.campaigns), expected_shares=tuple(args.expected_shares))
    if name == "plan-experiment":
        return job.args(campaigns=tuple(args.campaigns), target_lift=args.target_lift)
    if name == "forget":
        return job.args(user_ids=tuple(args.user_ids), ids_file=args.ids_file, purge=args.purge)
    return job.args()


def _parser() -> argparse.ArgumentParser:
    from tailor.jobs import JOBS, TOOLS

    common = _Parser(add_help=False)
    common.add_argument("--conf", action="append", default=[], metavar="FILE",
                        help="YAML overlay on the defaults (repeatable, applied in order)")
    common.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="override one config key, e.g. --set spark.shuffle_partitions=4")
    common.add_argument("--run-date", type=_run_date, default=None, metavar="YYYY-MM-DD",
                        help="the logical date of the run (default: today, UTC)")
    common.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])

    p = _Parser(prog="tailor", description="Personalised marketing on Spark and Delta Lake.")
    sub = p.add_subparsers(dest="command", required=True, metavar="<command>")
    for name, job in [*JOBS.items(), *TOOLS.items()]:
        sp = sub.add_parser(name, parents=[common], help=f"run the {name} job", description=_describe(job),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        if name == "ingest":
            _source_options(sp)
        if name == "record-sends":
            sp.add_argument("--file", help="a provider's export of what was sent (CSV); without it, the run "
                                           "date's campaign_audiences are recorded")
        if name == "analyze-experiment":
            sp.add_argument("--campaign", action="append", default=[], metavar="NAME", dest="campaigns",
                            help="analyse this campaign (repeatable); default: every one with a complete window")
            sp.add_argument("--expected-share", action="append", default=[], metavar="CAMPAIGN=SHARE",
                            type=_campaign_share, dest="expected_shares",
                            help="the treatment share a campaign sent outside Tailor was assigned with, for the "
                                 "sample-ratio check (repeatable; also campaigns.expected_shares)")
        if name == "plan-experiment":
            sp.add_argument("--campaign", action="append", default=[], metavar="NAME", dest="campaigns",
                            help="plan this campaign of the run date's audiences (repeatable); default: all")
            sp.add_argument("--target-lift", type=_positive_float, default=None, metavar="L",
                            help="size the audience for this relative lift (0.1 = +10%%)")
        if name == "forget":
            sp.add_argument("--user-id", action="append", default=[], metavar="ID", dest="user_ids",
                            help="a customer id to forget (repeatable)")
            sp.add_argument("--ids-file", help="a file of ids, one per line, or a CSV with a user_id/customer_id "
                                               "column")
            sp.add_argument("--purge", action="store_true",
                            help="also remove old file versions, history and checkpoints (REORG PURGE, VACUUM)")
    sp = sub.add_parser("pipeline", parents=[common], help="run every daily job in dependency order")
    sp.add_argument("--from", dest="start", metavar="JOB", help="run this job and every job that depends on it")
    sp.add_argument("--only", action="append", default=[], metavar="JOB",
                    help="run only this job (repeatable, or comma-separated)")
    _source_options(sp)
    sub.add_parser("demo", parents=[common],
                   help="generate the synthetic shop, run every job on it and summarise the tables")
    sub.add_parser("tables", parents=[common], help="list the tables in the warehouse with row counts")
    sp = sub.add_parser("check-source", parents=[common],
                        help="read the first rows of the source through its mapping and profile them; writes "
                             "nothing")
    _source_options(sp)
    sp.add_argument("--rows", type=int, default=10_000, metavar="N", help="rows read per entity (default 10000)")
    return p


def _overrides(args: argparse.Namespace) -> list[str]:
    out = list(args.overrides)
    source = getattr(args, "source", None)
    if source:
        out.append(f"ingest.source={source}")
    path = getattr(args, "path", None)
    if path:
        if source is None:  # the configured source's path
            source = load_config(args.conf, out).ingest.source
        if source not in _SOURCE_PATH_KEY:
            raise ConfigError(f"--path does not apply to the {source} source (it reads no files)")
        out.append(f"{_SOURCE_PATH_KEY[source]}={path}")
    return out


def _table_summary(spark, cfg: Config) -> list[tuple[str, str, int, int]]:
    wh = warehouse(spark, cfg)
    from tailor import tables

    names = list(tables.REGISTRY)
    for source in ("synthetic", "online_retail", "movielens", "csv"):
        names += [tables.bronze_name(source, e) for e in
                  ("events", "products", "customers", "lines", "ratings", "movies", "users")]
    rows = []
    for n in names:
        if wh.exists(n):
            rows.append((tables.spec(n).layer, n, wh.read(n).count(),
                         wh.version(n)))
    return rows


def _print_tables(rows: list[tuple[str, str, int, int]], cfg: Config) -> None:
    print(f"\nTables under {cfg.warehouse}:")
    print(f"  {'layer':<7} {'table':<34} {'rows':>12} {'version':>8}")
    for layer, name, n, v in rows:
        print(f"  {layer:<7} {name:<34} {n:>12,} {v:>8}")


def _run(args: argparse.Namespace) -> int:
    from tailor.jobs import JOBS, TOOLS
    from tailor.jobs.base import execute
    from tailor.spark import get_spark

    t0 = time.perf_counter()
    cfg = load_config(args.conf, _overrides(args))
    run_date = args.run_date or datetime.now(timezone.utc).date()
    if args.command == "pipeline":
        from tailor import pipeline

        only = [j.strip() for part in args.only for j in part.split(",") if j.strip()]
        jobs = pipeline.select(args.start, only, available=JOBS)
        _preflight(jobs, cfg, {})  # configuration and key mistakes, before a minute of Spark start-up
        code = pipeline.run(get_spark(cfg), cfg, run_date, jobs)
        print(f"pipeline {'succeeded' if code == 0 else 'failed'} for run date {run_date}: {len(jobs)} jobs "
              f"in {time.perf_counter() - t0:.0f}s (see the runs table)")
        return code
    if args.command == "check-source":
        from tailor.ingest.sources import check_paths

        check_paths(cfg.ingest.source, cfg.sources)  # before Spark starts
        return _check_source(get_spark(cfg), cfg, run_date, args.rows)
    job_args = _job_args(args.command, args)
    _preflight([args.command], cfg, {args.command: job_args})
    spark = get_spark(cfg)
    if args.command == "tables":
        _print_tables(_table_summary(spark, cfg), cfg)
        return EXIT_OK
    if args.command != "demo":
        job = JOBS.get(args.command) or TOOLS[args.command]
        _print_job(args.command, execute(args.command, job, spark, cfg, run_date, args=job_args))
        return EXIT_OK
    from tailor.privacy.pseudonym import demo_key_if_unset

    demo_key_if_unset(cfg.privacy.key_env)
    _run_demo(spark, cfg, run_date)
    _print_tables(_table_summary(spark, cfg), cfg)
    _print_experiments(spark, cfg, run_date)
    _print_uplift(spark, cfg, run_date)
    from tailor.jobs.report import output_path

    print(f"\nreport: {output_path(cfg, run_date)}")
    print(f"\ndemo finished in {time.perf_counter() - t0:.0f}s for run date {run_date}")
    return EXIT_OK


def _preflight(commands: list[str], cfg: Config, job_args: dict[str, object] | None = None) -> None:
    """What can be checked without Spark, for the jobs about to run (with their typed arguments): the
    pseudonymisation key of those that need it, and the source's mapping and local paths for an ingest.

    Raises:
        ConfigError: a key, mapping or path is missing.
    """
    from tailor.ingest.sources import check_paths
    from tailor.privacy import pseudonym

    sends = (job_args or {}).get("record-sends")
    needs_key = {"ingest", "forget"} | ({"record-sends"} if getattr(sends, "file", None) else set()) | (
        {"stream"} if cfg.stream.source == "landing" else set())
    if needs_key & set(commands):
        pseudonym.key(cfg.privacy.key_env)
    if "ingest" in commands:
        check_paths(cfg.ingest.source, cfg.sources)


def _run_demo(spark, cfg: Config, run_date: date) -> None:
    """The demo's steps, up to ``pipeline.parallelism`` at once, each after the earlier steps that write what it
    reads (for earlier dates too); the first failure stops it, as in a run of one job after another."""
    from tailor import pipeline
    from tailor.jobs import JOBS
    from tailor.jobs.base import execute
    from tailor.spark import session_for_job

    steps = demo_steps(spark, cfg, run_date)
    parallelism = cfg.pipeline.parallelism

    def one(i: int) -> None:
        name, step_args = steps[i]
        session = session_for_job(spark) if parallelism > 1 else spark
        execute(name, JOBS[name], session, cfg, run_date, args=step_args)

    pipeline.run_steps(pipeline.step_needs([name for name, _ in steps], JOBS, history=True), one, parallelism)


def demo_steps(spark, cfg: Config, run_date: date) -> list[tuple[str, object | None]]:
    """Every job in order, with its typed arguments. On the synthetic shop, ``record-sends`` first loads the
    provider's export of the campaigns planted 30 days ago (written under ``<warehouse>/landing``), before
    ``uplift`` learns from them; ``record-sends`` then records today's audiences, and ``analyze-experiment``
    has finished experiments to analyse (and knows their 50/50 splits, for the sample-ratio check)."""
    from tailor import csvfile
    from tailor.ingest import synthetic
    from tailor.jobs import JOBS
    from tailor.jobs.analyze_experiment import Args as ExperimentArgs
    from tailor.jobs.record_sends import Args as SendsArgs
    from tailor.wiring import shop_spec

    steps: list[tuple[str, object | None]] = []
    synthetic_shop = cfg.ingest.source == "synthetic"
    for name in JOBS:
        if name == "analyze-experiment" and synthetic_shop:  # the planted campaigns' splits, for the SRM check
            steps.append((name, ExperimentArgs(expected_shares=tuple(
                (c, synthetic.PLANTED_TREATMENT_SHARE) for c in synthetic.PLANTED_CAMPAIGNS))))
            continue
        steps.append((name, None))
        if name == "ingest" and synthetic_shop:  # the planted experiments, right away: uplift learns from them
            export = f"{cfg.warehouse_uri}/landing/synthetic/campaign_sends"
            csvfile.write(synthetic.campaign_sends(spark, shop_spec(cfg, run_date)), export)
            steps.append(("record-sends", SendsArgs(file=export, external=synthetic.PLANTED_CAMPAIGNS)))
    return steps


def _print_uplift(spark, cfg: Config, run_date: date) -> None:
    from pyspark.sql import functions as F

    wh = warehouse(spark, cfg)
    if not wh.exists("model_metrics"):
        return
    rows = wh.read("model_metrics").where((F.col("run_date") == F.lit(run_date)) & (F.col("model") == "uplift")
                                          & (F.col("key") == "")).collect()  # a dozen rows
    got = {r.metric: r.value for r in rows}
    if "auuc_random" not in got:
        return
    learner = cfg.uplift.learner
    print(f"\nuplift ({learner}-learner), held-out customers: area under the Qini curve "
          f"{got.get(f'auuc_{learner}', 0):.4f} against {got.get('auuc_propensity', 0):.4f} targeting by purchase "
          f"propensity and {got['auuc_random']:.4f} at random")


def _print_experiments(spark, cfg: Config, run_date: date) -> None:
    wh = warehouse(spark, cfg)
    from pyspark.sql import functions as F


    if not wh.exists("experiment_results"):
        return
    rows = wh.read("experiment_results").where(F.col("run_date") == F.lit(run_date)).collect()
    for r in rows:
        lift = "n/a" if r.abs_lift is None else f"{r.abs_lift:+.3f} ({r.ci_low:+.3f} to {r.ci_high:+.3f})"
        p = "n/a" if r.p_value is None else f"{r.p_value:.2g}"
        print(f"\nexperiment {r.campaign}: conversion {r.conversions_treatment}/{r.n_treatment} treated, "
              f"{r.conversions_control}/{r.n_control} control; lift {lift}, p = {p}")
        if r.srm_p_value is not None:
            verdict = "MISMATCH: not significant, whatever p says" if r.srm_failed else "as assigned"
            print(f"  sample ratio: {r.n_treatment / (r.n_treatment + r.n_control):.3f} treated against "
                  f"{r.expected_treatment_share:.3f} assigned, chi-square p = {r.srm_p_value:.2g}: {verdict}")
        if r.cuped_abs_lift is not None and r.cuped_ci_low is not None:
            print(f"  CUPED: lift {r.cuped_abs_lift:+.3f} ({r.cuped_ci_low:+.3f} to {r.cuped_ci_high:+.3f}), "
                  f"{100 * (r.cuped_variance_reduction or 0):.1f}% of the variance removed")
        if r.sequential_p_value is not None:
            print(f"  always valid over {r.looks} daily looks: p = {r.sequential_p_value:.2g}, lift in "
                  f"{r.sequential_ci_low:+.3f} to {r.sequential_ci_high:+.3f}")


def _check_source(spark, cfg: Config, run_date: date, rows: int) -> int:
    """Print what :func:`tailor.ingest.check.check` finds in the source's first ``rows`` rows."""
    import os

    from tailor import wiring
    from tailor.ingest import check

    secret = os.environ.get(cfg.privacy.key_env, "check-source: no key needed, nothing is written").encode()
    found = check.check(spark, wiring.source_inputs(cfg, run_date), run_date, rows, cfg.ingest, secret)
    print(f"source {cfg.ingest.source}: the first {rows:,} rows of each entity, as ingest would take them "
          f"on {run_date} (nothing written)")
    for entity, e in found.entities.items():
        print(f"\n{entity}: {e.rows:,} read, {e.accepted:,} accepted, {e.rows - e.accepted:,} would be quarantined")
        for reason, n in e.rejected.items():
            print(f"  rejected {reason:<28} {n:>10,}")
        for col, values in e.examples.items():
            shown = ", ".join(repr(v) for v in values) if values else "-- (not given)"
            print(f"  {col:<18} {shown}")
    print("\nprofile of the accepted events:")
    for k, v in found.profile.items():
        print(f"  {k:<18} {v:>12,}" if float(v).is_integer() else f"  {k:<18} {v:>12.4f}")
    for w in found.warnings:
        print(f"warning: {w}")
    if not found.warnings:
        print("no warnings")
    return EXIT_OK


def _print_job(name: str, summary) -> None:
    if summary.status == "not_applicable":
        print(f"{name}: not applicable: {summary.reason}")
        return
    print(f"{name}: {summary.rows_in} rows in, {summary.rows_out} rows out")
    for k, v in sorted(summary.metrics.items()):
        print(f"  {k:<48} {v:>14,.0f}" if float(v).is_integer() else f"  {k:<48} {v:>14.4f}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tailor`` console script and of ``jobs/*.py`` under spark-submit."""
    parser = _parser()
    args = parser.parse_args(argv)
    tlog.setup(args.log_level)
    mark = _checkpoint_mark()
    try:
        return _run(args)
    except ConfigError as e:
        logger.debug("configuration error", exc_info=True)
        print(f"tailor: config error: {first_line(e, 2000)}", file=sys.stderr)
        return EXIT_USAGE
    except TailorError as e:
        logger.debug("job error", exc_info=True)
        print(f"tailor: {args.command} failed: {first_line(e, 2000)}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as e:
        logger.debug("unexpected error", exc_info=True)
        first = first_line(e)
        print(f"tailor: {args.command} failed: {type(e).__name__}: {first} "
              "(re-run with --log-level DEBUG for the traceback)", file=sys.stderr)
        return EXIT_FAILED
    finally:
        _drop_checkpoints(mark)


def _checkpoint_mark() -> int:
    """The checkpoint folders' mark (0 while this process has not imported Spark: usage errors and ``--help``
    never do)."""
    spark_module = sys.modules.get("tailor.spark")
    return spark_module.checkpoint_mark() if spark_module else 0


def _drop_checkpoints(mark: int) -> None:
    """Delete the RDD checkpoint folders this command's sessions made (:func:`tailor.spark.drop_checkpoint_dirs`),
    whether it succeeded or failed. A failure here is logged and leaves the exit code alone."""
    spark_module = sys.modules.get("tailor.spark")
    if spark_module is None or spark_module.checkpoint_mark() == mark:
        return
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession()  # the one get_spark made in this thread; None once stopped
    if spark is None:
        return
    try:
        spark_module.drop_checkpoint_dirs(spark, mark)
    except Exception as e:  # the command's result stands; the folders are scratch (forget --purge also drops them)
        logger.warning("could not delete Spark's checkpoint folders: %s", first_line(e))


if __name__ == "__main__":
    sys.exit(main())
