"""``tailor clv`` against ``lifetimes`` 0.11.3 on the CDNOW data it ships (``pip download lifetimes==0.11.3``,
then ``lifetimes/datasets/``; the benchmark downloads it when ``--data`` is not given).

1. ``CDNOW_sample.txt`` (6,919 transactions of 2,357 customers: id, id, yyyymmdd, CDs, dollars) goes through
   Tailor's own csv source and ``tailor clv`` as of 1997-09-30, the end of the 39-week calibration period.
   - The summary (frequency, recency, T in weeks) against ``cdnow_customers_summary.csv``.
   - BG/NBD and Gamma-Gamma parameters against ``lifetimes``' fits on the same summary.
   - Each customer's P(alive), expected purchases in 39 weeks, expected order value and 12-month CLV against
     ``lifetimes``' (CLV with its month of 4.345 weeks: ``clv.month_days=30.415``).
2. The holdout table: ``tailor clv`` as of 1998-06-30 with ``clv.holdout_days=273`` (the same calibration
   period), predicted against actual repeat purchases in the 39 weeks after, by calibration frequency,
   beside ``lifetimes``' own calibration/holdout prediction.
3. ``CDNOW_master.txt`` (69,659 transactions of 23,570 customers): parameters and wall times, with
   ``lifetimes``' summary and fit on the driver as the peer.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from datetime import date
from pathlib import Path

from benchmarks.common import machine_facts, measure, scratch, write_results

ROOT = Path(__file__).resolve().parents[1]
CAL_END, END, HOLDOUT_DAYS = date(1997, 9, 30), date(1998, 6, 30), 273
SOURCE = ("sources.csv.events={{path: {path}, delimiter: whitespace, header: {header}, "
          "timestamp_format: yyyyMMdd, mapping: {{user_id: {0}, ts: {1}, quantity: {2}, "
          "price: 'try_divide(cast({3} as double), cast({2} as double))', order_id: \"concat({0}, '-', {1})\"}}, "
          "constants: {{item_id: cd, event_type: purchase}}}}")
SAMPLE = ("_c1", "_c2", "_c3", "_c4")
"""The sample has no header: id, id, date, CDs, dollars (its second id is the summary file's ID)."""
MASTER = ("customer_id", "date", "number_of_cds", "dollar_value")
"""The master's header names its four columns."""
SETTINGS = ["ingest.source=csv", "ingest.dedupe=off", "ingest.free_items=true", "clv.time_unit=weeks",
            "clv.horizons_days=[273]", "clv.months=12", "clv.month_days=30.415", "clv.monthly_discount=0.01"]


def _datasets(data: str | None, work: Path) -> Path:
    if data:
        return Path(data)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "lifetimes==0.11.3", "-d",
                    str(work)], check=True)
    wheel = next(work.glob("[Ll]ifetimes-0.11.3-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        z.extractall(work / "lifetimes-wheel")
    return work / "lifetimes-wheel" / "lifetimes" / "datasets"


def _tailor(spark, warehouse: Path, path: Path, runs: list[tuple[date, int]], columns: tuple = SAMPLE):
    """Ingest ``path`` (user ids are the second column) and run clv for each (run date, holdout days);
    returns the config and each run's seconds."""
    from tailor.config import load_config
    from tailor.jobs import JOBS
    from tailor.jobs.base import execute

    source = SOURCE.format(*columns, path=path, header=str(columns != SAMPLE).lower())

    def cfg(holdout: int):
        return load_config([str(ROOT / "conf" / "local.yaml")],
                           [f"warehouse={warehouse}", f"spark.jars_dir={ROOT / '.jars'}", source, *SETTINGS,
                            f"clv.holdout_days={holdout}"])

    execute("ingest", JOBS["ingest"], spark, cfg(0), END)
    seconds = []
    for run_date, holdout in runs:
        with measure(f"clv {run_date}") as m:
            s = execute("clv", JOBS["clv"], spark, cfg(holdout), run_date)
        if s.status != "succeeded":
            raise SystemExit(f"tailor clv {run_date}: {s.status} {s.reason}")
        seconds.append(m.seconds)
    return cfg(0), seconds


def _value(spark, cfg, run_date: date):
    from pyspark.sql import functions as F

    from tailor.config import warehouse

    df = warehouse(spark, cfg).read_run("customer_value", run_date)
    df = df.withColumn("e39", F.col("expected_purchases")[273]).drop("expected_purchases")
    return df.toPandas()  # 2,357 or 23,570 rows: a benchmark may


def _metrics(spark, cfg, run_date: date) -> dict[tuple[str, str], float]:
    from tailor.config import warehouse

    rows = warehouse(spark, cfg).read_run("model_metrics", run_date).where("model = 'clv'").collect()
    return {(r.metric, r.key): r.value for r in rows}


def _lifetimes_fit(x, t_x, T, m_x):
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    t0 = time.perf_counter()
    bgf = BetaGeoFitter(penalizer_coef=0.0).fit(x, t_x, T)
    ggf = None
    if m_x is not None:
        repeat = (x > 0) & (m_x > 0)  # as Tailor: lifetimes refuses a repeat buyer whose repeats were all free
        ggf = GammaGammaFitter(penalizer_coef=0.0).fit(x[repeat], m_x[repeat])
    return bgf, ggf, time.perf_counter() - t0


def _rel(a, b) -> float:
    import numpy as np

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def main(data: str | None = None) -> Path:
    import numpy as np
    import pandas as pd

    from tailor.config import load_config
    from tailor.spark import get_spark

    spark = get_spark(load_config([str(ROOT / "conf" / "local.yaml")]))
    lines: list[str] = []
    results: dict = {}
    with scratch("tailor-clv-") as work:
        folder = _datasets(data, work)
        # 1. the sample, as of the end of calibration
        cfg, (sample_s,) = _tailor(spark, work / "wh-sample", folder / "CDNOW_sample.txt", [(CAL_END, 0)])
        tv = _value(spark, cfg, CAL_END)
        tv["ID"] = tv["user_id"].astype(int)
        ref = pd.read_csv(folder / "cdnow_customers_summary.csv").merge(tv, on="ID", how="outer", indicator=True)
        both = ref["_merge"] == "both"
        diffs = {
            "frequency": float(np.max(np.abs(ref.loc[both, "frequency_x"] - ref.loc[both, "frequency_y"]))),
            "recency": float(np.max(np.abs(ref.loc[both, "recency_x"] - ref.loc[both, "recency_y"]))),
            "T": float(np.max(np.abs(ref.loc[both, "T"] - ref.loc[both, "tenure"])))}
        tv = tv.sort_values("ID").reset_index(drop=True)
        x, t_x, T = tv["frequency"].to_numpy(float), tv["recency"].to_numpy(float), tv["tenure"].to_numpy(float)
        m_x = tv["monetary"].fillna(0.0).to_numpy(float)
        bgf, ggf, lt_s = _lifetimes_fit(x, t_x, T, m_x)
        ours = _metrics(spark, cfg, CAL_END)
        params = [(k, ours[("bgnbd_param", k)], float(bgf.params_[k])) for k in ("r", "alpha", "a", "b")]
        params += [(k, ours[("gamma_gamma_param", k)], float(ggf.params_[k])) for k in ("p", "q", "v")]
        lt_aov = ggf.conditional_expected_average_profit(pd.Series(x), pd.Series(m_x)).to_numpy()
        lt = {
            "p_alive": bgf.conditional_probability_alive(x, t_x, T),
            "e39": bgf.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T),
            "expected_order_value": lt_aov,  # for x = 0 (m = 0) it is the population mean, as Tailor's
            "clv": ggf.customer_lifetime_value(bgf, pd.Series(x), pd.Series(t_x), pd.Series(T), pd.Series(m_x),
                                               time=12, discount_rate=0.01, freq="W").to_numpy(),
        }
        per_customer = {c: _rel(tv[c].to_numpy(float), v) for c, v in lt.items()}
        # Tailor's formulas fed lifetimes' parameters: the predictions alone, apart from the two optimisers
        from tailor.clv import btyd as B

        lp = {k: float(bgf.params_[k]) for k in ("r", "alpha", "a", "b")}
        gp = {k: float(ggf.params_[k]) for k in ("p", "q", "v")}
        aov = B.expected_order_value(gp, x, m_x)
        same = {"p_alive": B.p_alive(lp, x, t_x, T), "e39": B.expected_purchases(lp, 39.0, x, t_x, T),
                "expected_order_value": aov,
                "clv": B.lifetime_value(lp, aov, x, t_x, T, 12, 0.01, 4.345)}
        formulas = {c: _rel(same[c], lt[c]) for c in lt}
        results["sample"] = {"customers": int(both.sum()), "unmatched": int((~both).sum()),
                             "summary_max_abs_diff_weeks": diffs, "params": params,
                             "per_customer_max_rel_diff": per_customer, "same_params_max_rel_diff": formulas,
                             "tailor_clv_s": sample_s,
                             "lifetimes_fit_s": round(lt_s, 2)}
        lines += ["## CDNOW_sample (2,357 customers), as of 1997-09-30", "",
                  f"Summary against cdnow_customers_summary.csv: {int(both.sum())} customers matched, "
                  f"{int((~both).sum())} unmatched; largest difference frequency {diffs['frequency']:g}, "
                  f"recency {diffs['recency']:.4f} weeks, T {diffs['T']:.4f} weeks (the file rounds to 0.01).", "",
                  "| parameter | Tailor | lifetimes 0.11.3 | relative difference | published (quickstart) |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "p": 6.25, "q": 3.74, "v": 15.45}
        lines += [f"| {k} | {a:.6f} | {b:.6f} | {abs(a - b) / b:.2e} | {published[k]} |" for k, a, b in params]
        lines += ["", "| per customer | largest relative difference from lifetimes, each tool's own fit | "
                  "the same, Tailor's formulas with lifetimes' parameters |", "| --- | ---: | ---: |"]
        lines += [f"| {c} | {v:.2e} | {formulas[c]:.2e} |" for c, v in per_customer.items()]
        lines += ["", "Gamma-Gamma is fitted on repeat buyers' mean values to the cent (what bounds its input); "
                  "lifetimes fits the exact means."]
        lines += ["", f"Wall time: tailor clv {sample_s:.1f} s (Spark job: summary, fit, scoring, writes); "
                  f"lifetimes fit alone {lt_s:.2f} s.", ""]

        # 2. the holdout table
        cfg_h, (holdout_s,) = _tailor(spark, work / "wh-holdout", folder / "CDNOW_sample.txt",
                                      [(END, HOLDOUT_DAYS)])
        hm = _metrics(spark, cfg_h, END)
        from lifetimes.utils import calibration_and_holdout_data

        tx = pd.read_csv(folder / "CDNOW_sample.txt", sep=r"\s+", header=None,
                         names=["master", "id", "date", "cds", "dollars"], dtype={"date": str})
        tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
        ch = calibration_and_holdout_data(tx, "id", "date", calibration_period_end="1997-09-30",
                                          observation_period_end="1998-06-30", freq="D")
        # purchase days, as Tailor counts them (freq W would merge the days of a week), in weeks
        ch[["recency_cal", "T_cal", "duration_holdout"]] = ch[["recency_cal", "T_cal", "duration_holdout"]] / 7.0
        bgf_h, _, _ = _lifetimes_fit(ch["frequency_cal"], ch["recency_cal"], ch["T_cal"], None)
        ch["pred"] = bgf_h.conditional_expected_number_of_purchases_up_to_time(
            ch["duration_holdout"], ch["frequency_cal"], ch["recency_cal"], ch["T_cal"])
        ch["bucket"] = ch["frequency_cal"].clip(upper=7).astype(int)
        peer = ch.groupby("bucket").agg(n=("pred", "size"), pred=("pred", "mean"), actual=("frequency_holdout",
                                                                                            "mean"))
        lines += ["## Holdout: calibration to 1997-09-30, the 39 weeks after", "",
                  "| repeat purchases in calibration | customers | Tailor predicted | lifetimes predicted | actual "
                  "(Tailor) | actual (lifetimes) |", "| ---: | ---: | ---: | ---: | ---: | ---: |"]
        table = []
        for b in range(8):
            key = str(b)
            row = (b, hm.get(("holdout_customers", key)), hm.get(("holdout_predicted", key)),
                   float(peer.loc[b, "pred"]) if b in peer.index else None, hm.get(("holdout_actual", key)),
                   float(peer.loc[b, "actual"]) if b in peer.index else None)
            table.append(row)
            label = f"{b}+" if b == 7 else str(b)
            lines.append(f"| {label} | {int(row[1] or 0)} | {row[2]:.3f} | {row[3]:.3f} | {row[4]:.3f} | "
                         f"{row[5]:.3f} |")
        results["holdout"] = {"table": table, "tailor_clv_s": holdout_s,
                              "tailor_total_predicted": hm.get(("holdout_total_predicted", "")),
                              "actual": hm.get(("holdout_total_actual", ""))}
        lines += ["", f"Totals: predicted {hm.get(('holdout_total_predicted', '')):.0f}, actual "
                  f"{hm.get(('holdout_total_actual', '')):.0f} repeat purchases; tailor clv with the backtest "
                  f"{holdout_s:.1f} s.", ""]

        # 3. the whole cohort
        cfg_m, (master_s,) = _tailor(spark, work / "wh-master", folder / "CDNOW_master.txt", [(CAL_END, 0)],
                                     MASTER)
        mv = _value(spark, cfg_m, CAL_END)
        mm = _metrics(spark, cfg_m, CAL_END)
        from lifetimes.utils import summary_data_from_transaction_data

        txm = pd.read_csv(folder / "CDNOW_master.txt", sep=r"\s+", header=0,
                          names=["id", "date", "cds", "dollars"], dtype={"date": str})
        t0 = time.perf_counter()
        txm["date"] = pd.to_datetime(txm["date"], format="%Y%m%d")
        sm = summary_data_from_transaction_data(txm, "id", "date", monetary_value_col="dollars",
                                                observation_period_end="1997-09-30", freq="D")
        sm[["recency", "T"]] = sm[["recency", "T"]] / 7.0
        bgf_m, ggf_m, _ = _lifetimes_fit(sm["frequency"], sm["recency"], sm["T"], sm["monetary_value"])
        lt_master_s = time.perf_counter() - t0
        mparams = [(k, mm[("bgnbd_param", k)], float(bgf_m.params_[k])) for k in ("r", "alpha", "a", "b")]
        mparams += [(k, mm[("gamma_gamma_param", k)], float(ggf_m.params_[k])) for k in ("p", "q", "v")]
        results["master"] = {"customers": len(mv), "lifetimes_customers": len(sm), "params": mparams,
                             "tailor_clv_s": master_s, "lifetimes_summary_and_fit_s": round(lt_master_s, 2),
                             "groups": mm.get(("bgnbd_groups", ""))}
        lines += ["## CDNOW_master (23,570 customers), as of 1997-09-30", "",
                  f"Customers: Tailor {len(mv)}, lifetimes {len(sm)}; BG/NBD's input: "
                  f"{mm.get(('bgnbd_groups', '')):.0f} distinct (x, t_x, T).", "",
                  "| parameter | Tailor | lifetimes 0.11.3 | relative difference |", "| --- | ---: | ---: | ---: |"]
        lines += [f"| {k} | {a:.6f} | {b:.6f} | {abs(a - b) / b:.2e} |" for k, a, b in mparams]
        lines += ["", f"Wall time: tailor clv {master_s:.1f} s (a Spark job on 2 cores: summary, fit, scores and "
                  f"three Delta writes); lifetimes summary + both fits {lt_master_s:.2f} s on the driver.", ""]
    facts = machine_facts(spark)
    print("\n".join(lines), flush=True)
    print(json.dumps(results["sample"]["per_customer_max_rel_diff"]))
    return write_results("clv", facts, [results], "\n".join(lines))
