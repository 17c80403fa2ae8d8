"""Campaigns: opt-outs and suppression always hold, the frequency cap over consecutive runs, priority,
stable assignment, the z-test by hand, record-sends replays, the analysis by hand, the planted campaign."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta

import pytest
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from conftest import make_cfg
from tailor import assign
from tailor import schemas as S
from tailor.campaigns import audience as A
from tailor.campaigns import experiment as X
from tailor.config import CampaignDefinition, load_config, warehouse
from tailor.errors import ConfigError, MissingTableError
from tailor.jobs import JOBS
from tailor.jobs.analyze_experiment import Args as ExperimentArgs
from tailor.jobs.base import execute
from tailor.jobs.record_sends import Args as SendsArgs

DAY = date(2026, 11, 1)


def contract(spark, schema: StructType, rows: list[dict]):
    """A frame in ``schema`` from rows giving only some columns: the rest are null when nullable, else 0,
    an empty string or ``DAY``."""
    def default(f):
        if f.nullable:
            return None
        name = f.dataType.typeName()
        return {"string": "", "date": DAY, "boolean": False, "array": [], "double": 0.0}.get(name, 0)

    full = [{f.name: r.get(f.name, default(f)) for f in schema.fields} for r in rows]
    return spark.createDataFrame(full, schema)


# --- assignment and statistics -------------------------------------------------------------------------

def test_assignment_is_a_stable_salted_hash_with_the_configured_split(spark):
    users = spark.range(100_000).select(F.format_string("U%07d", "id").alias(S.USER_ID))
    arms = users.select(S.USER_ID, assign.arm("s1", "win-back", 0.8, S.USER_ID).alias("a"))
    share = arms.where(F.col("a") == S.TREATMENT).count() / 100_000
    assert abs(share - 0.8) < 0.004  # 3 standard errors at 100k
    again = users.repartition(7).select(S.USER_ID, assign.arm("s1", "win-back", 0.8, S.USER_ID).alias("b"))
    assert arms.join(again, S.USER_ID).where("a != b").count() == 0  # any partitioning, any run
    some = [r[S.USER_ID] for r in users.limit(50).collect()]
    spark_units = {r[0]: r[1] for r in users.limit(50).select(S.USER_ID, assign.unit("s1", "k", S.USER_ID)).collect()}
    assert all(spark_units[u] == assign.unit_py("s1", "k", u) for u in some)
    # another salt or another campaign re-randomises: about 80% x 80% + 20% x 20% agree, not all
    other = users.select(S.USER_ID, assign.arm("s2", "win-back", 0.8, S.USER_ID).alias("b"))
    agree = arms.join(other, S.USER_ID).where("a = b").count() / 100_000
    assert 0.66 < agree < 0.70


def test_two_proportion_z_test_by_hand():
    # 200/1000 against 150/1000. pooled p = 0.175; se0 = sqrt(0.175 * 0.825 * 2/1000) = 0.0169926
    # z = 0.05 / 0.0169926 = 2.94245, two-sided p = 0.0032575
    # unpooled se = sqrt(0.2*0.8/1000 + 0.15*0.85/1000) = 0.0169558; 95%: 0.05 -/+ 1.959964 * se
    p = X.two_proportions(200, 1000, 150, 1000, 0.05)
    assert p.abs_lift == pytest.approx(0.05)
    assert p.rel_lift == pytest.approx(1 / 3)
    assert p.z == pytest.approx(2.94245, abs=1e-4)
    assert p.p_value == pytest.approx(0.0032575, abs=2e-6)
    assert (p.ci_low, p.ci_high) == (pytest.approx(0.016767, abs=1e-5), pytest.approx(0.083233, abs=1e-5))
    assert X.two_proportions(0, 0, 5, 10).p_value is None  # an empty arm: nothing to test
    # revenue: arms of 3 with sums 6 and 3: means 2 and 1, variances 1 and 1 -> se sqrt(2/3), z 1.2247
    assert X.mean_difference_p(3, 6.0, 14.0, 3, 3.0, 5.0) == pytest.approx(0.220671, abs=1e-5)


# --- audiences on generated data -----------------------------------------------------------------------

def _population(spark, seed: int, n: int):
    rnd = random.Random(seed)
    opt = [rnd.choice([True, True, True, False, None]) for _ in range(n)]
    ids = [f"C{seed}-{i:05d}" for i in range(n)]
    customers = contract(spark, S.CUSTOMERS, [
        {S.CUSTOMER_ID: u, S.MARKETING_OPT_IN: o} for u, o in zip(ids, opt, strict=True)])
    features = contract(spark, S.USER_FEATURES, [
        {S.USER_ID: u, "frequency": rnd.randint(0, 9), "monetary_total": rnd.uniform(0, 500)} for u in ids])
    suppressed = spark.createDataFrame([(u,) for u in ids if rnd.random() < 0.15], "user_id string")
    recs = contract(spark, S.RECOMMENDATIONS, [
        {S.USER_ID: u, S.ITEM_ID: f"P{k}", S.RANK: k, S.REASON: f"because {k}"} for u in ids for k in (1, 2)])
    return customers, features, suppressed, recs, dict(zip(ids, opt, strict=True))


def _settings(**over):
    return load_config([], [f"campaigns.{k}={json.dumps(v)}" for k, v in over.items()]).campaigns


@pytest.mark.parametrize("seed", [1, 2])
def test_no_opted_out_suppressed_or_held_out_customer_ever_appears(spark, seed):
    customers, features, suppressed, recs, opt = _population(spark, seed, 1500)
    settings = _settings(holdout_fraction=0.1, definitions=[
        {"name": "big", "rule": "frequency >= 2", "priority": 2},
        {"name": "rich", "rule": "monetary_total > monetary_median", "priority": 1, "offers": 1}])
    campaigns = A.expand(settings.definitions, settings, None)
    people = A.eligible(customers, suppressed, settings)
    attrs = A.attributes(people, features, None, None, [], "gbt", 250.0)
    out = A.assign(A.pick(A.qualify(attrs, campaigns)), campaigns, A.top_offers(recs, 3), settings.salt)
    rows = out.collect()
    got = {r.user_id for r in rows}
    banned = {r.user_id for r in suppressed.collect()}
    assert got and all(opt[u] is True for u in got)
    assert not got & banned
    assert all(assign.unit_py(settings.salt, assign.HOLDOUT_KEY, u) >= 0.1 for u in got)
    assert len(got) == len(rows)  # one campaign per customer
    # every opted-in, unsuppressed, not held-out customer with frequency >= 2 or rich is in
    feats = {r.user_id: r for r in features.collect()}
    want = {u for u, o in opt.items() if o is True and u not in banned
            and assign.unit_py(settings.salt, assign.HOLDOUT_KEY, u) >= 0.1
            and (feats[u].frequency >= 2 or feats[u].monetary_total > 250.0)}
    assert got == want
    by_user = {r.user_id: r for r in rows}
    assert all(by_user[u].campaign == "rich" for u in want if feats[u].monetary_total > 250.0)  # priority 1
    assert all(len(r.offers) == (1 if r.campaign == "rich" else 2) for r in rows)
    assert all(r.arm == (S.TREATMENT if assign.unit_py(settings.salt, r.campaign, r.user_id) < 0.8 else S.CONTROL)
               for r in rows)


def test_a_bad_rule_is_a_config_error_and_a_missing_score_names_the_job(spark):
    customers, features, _, _, _ = _population(spark, 3, 20)
    settings = _settings()
    attrs = A.attributes(A.eligible(customers, None, settings), features, None, None, [], "gbt", 1.0)
    bad = A.expand([CampaignDefinition(name="x", rule="frequency >>= 2")], settings, None)
    with pytest.raises(ConfigError, match="campaign 'x'"):
        A.qualify(attrs, bad)
    typo = A.expand([CampaignDefinition(name="y", rule="frequncy > 2")], settings, None)
    with pytest.raises(ConfigError, match="frequncy"):
        A.qualify(attrs, typo)
    scores = A.expand([CampaignDefinition(name="z", rule="churn_decile >= 8")], settings, None)
    with pytest.raises(MissingTableError, match="score-propensity"):
        A.qualify(attrs, scores)
    with pytest.raises(MissingTableError, match="tailor segments"):
        A.expand([CampaignDefinition(name="s", per_segment=True)], settings, None)


# --- the jobs over consecutive days --------------------------------------------------------------------

def _shop_tables(spark, cfg, days: list[date]):
    ids = [f"U{i}" for i in range(12)]
    # U0-U9 opted in; U10 opted out; U11 unknown. U9 is on the suppression list. U0-U3 buy often.
    customers = contract(spark, S.CUSTOMERS, [
        {S.CUSTOMER_ID: u, S.MARKETING_OPT_IN: (True if i < 10 else False if i == 10 else None),
         S.SOURCE: "t", S.INGEST_DATE: DAY} for i, u in enumerate(ids)])
    warehouse(customers.sparkSession, cfg).merge_upsert(customers, "customers", [S.CUSTOMER_ID])
    feats = contract(spark, S.USER_FEATURES, [  # every day's partition in one write
        {S.USER_ID: u, "frequency": 6 if i < 4 else 1, "monetary_total": 10.0 * i, S.RFM_SEGMENT: "x",
         S.RUN_DATE: d} for i, u in enumerate(ids) for d in days])
    warehouse(feats.sparkSession, cfg).merge_upsert(feats, "user_features", [S.USER_ID, S.RUN_DATE])
    recs = contract(spark, S.RECOMMENDATIONS, [
        {S.USER_ID: u, S.ITEM_ID: f"P{k}", S.SCORE: 1.0 / k, S.RANK: k, S.SOURCE: "als", S.REASON: "r",
         S.RUN_DATE: d} for u in ids for k in (1, 2, 3) for d in days])
    warehouse(recs.sparkSession, cfg).merge_upsert(recs, "recommendations", [S.USER_ID, S.ITEM_ID, S.RUN_DATE])


def test_cap_priority_suppression_and_idempotent_reruns_over_consecutive_days(spark, tmp_path):
    supp = tmp_path / "suppress.csv"
    supp.write_text("customer_id,reason\nU9,complaint\n")
    defs = [{"name": "loyal", "rule": "frequency >= 5", "priority": 1},
            {"name": "everyone", "rule": "true", "priority": 5, "offers": 2}]
    cfg = make_cfg(tmp_path / "w", f"campaigns.definitions={json.dumps(defs)}", "campaigns.treatment_share=1.0",
                   "campaigns.holdout_fraction=0.0", "campaigns.max_contacts=2", "campaigns.cap_days=3",
                   f"campaigns.suppression_files={json.dumps([str(supp)])}")
    days = [DAY + timedelta(days=i) for i in range(4)]
    _shop_tables(spark, cfg, days)
    for d in days:
        execute("campaign", JOBS["campaign"], spark, cfg, d)
        execute("record-sends", JOBS["record-sends"], spark, cfg, d)
    aud = warehouse(spark, cfg).read_run("campaign_audiences", days[0])
    first = {r.user_id: r for r in aud.collect()}
    assert set(first) == {f"U{i}" for i in range(9)}  # U9 suppressed, U10 opted out, U11 unknown
    assert {u for u, r in first.items() if r.campaign == "loyal"} == {"U0", "U1", "U2", "U3"}  # priority
    assert first["U5"].offers == ["P1", "P2"] and first["U0"].offers == ["P1", "P2", "P3"]
    # contacts allowed when fewer than 2 in the 2 days before: days 1, 2 and 4 (worked by hand)
    hist = warehouse(spark, cfg).read("contact_history").collect()
    got = sorted({(r.sent_date - DAY).days for r in hist if r.user_id == "U0"})
    assert got == [0, 1, 3]
    for u in {r.user_id for r in hist}:
        sent = [r.sent_date for r in hist if r.user_id == u and r.arm == S.TREATMENT]
        assert all(sum(1 for s in sent if d - timedelta(days=2) <= s <= d) <= 2 for d in days)
    everyone = warehouse(spark, cfg).read("campaign_audiences")
    assert everyone.where(F.col(S.RUN_DATE) == days[2]).count() == 0  # all capped on the third day
    # a re-run of a day after its sends were recorded, and a replay of record-sends, change nothing
    execute("campaign", JOBS["campaign"], spark, cfg, days[3])
    assert warehouse(spark, cfg).read_run("campaign_audiences", days[3]).count() == 9
    replay = execute("record-sends", JOBS["record-sends"], spark, cfg, days[3])
    assert replay.metrics["inserted"] == 0
    assert warehouse(spark, cfg).read("contact_history").count() == len(hist)


def test_record_sends_from_an_export_quarantines_bad_rows_and_counts_a_replay_once(spark, tmp_path):
    export = tmp_path / "sends.csv"
    export.write_text("\n".join([
        "campaign,customer_id,sent_at,arm,channel",
        "spring,U1,2026-10-01,treatment,email",
        "spring,U2,2026-10-01 09:30:00,control,",
        "spring,U3,2026-10-01,,push",
        "spring,U3,2026-10-01,,push",  # the same row twice
        "spring,,2026-10-01,treatment,email",
        "spring,U4,yesterday,treatment,email",
        "spring,U5,2027-01-01,treatment,email",
        "spring,U6,2026-10-01,variant-b,email",
        ",U7,2026-10-01,treatment,email",
    ]) + "\n")
    cfg = make_cfg(tmp_path / "w", 'campaigns.external=["spring"]')
    sent = SendsArgs(file=str(export))
    run = date(2026, 11, 1)
    s = execute("record-sends", JOBS["record-sends"], spark, cfg, run, args=sent)
    assert s.rows_in == 9 and s.rows_out == 3
    reasons = sorted(r.reason for r in warehouse(spark, cfg).read("quarantine").collect())
    assert reasons == ["bad_sent_at", "duplicate", "future_sent_at", "missing_campaign", "missing_user_id",
                       "unknown_arm"]
    hist = {r.user_id: r for r in warehouse(spark, cfg).read("contact_history").collect()}
    assert (hist["U2"].arm, hist["U2"].channel, hist["U2"].sent_date) == ("control", "email", date(2026, 10, 1))
    assert (hist["U3"].arm, hist["U3"].channel) == ("treatment", "push")
    again = execute("record-sends", JOBS["record-sends"], spark, cfg, run + timedelta(days=1), args=sent)
    assert again.rows_out == 0 and warehouse(spark, cfg).read("contact_history").count() == 3


def test_record_sends_quarantines_arm_conflicts_unknown_ids_and_placeholder_dates(spark, tmp_path):
    export = tmp_path / "sends.csv"
    export.write_text("\n".join([
        "campaign,user_id,sent_at,arm",
        "spring,U1,2026-10-01,treatment",
        "spring,U1,2026-10-01 18:00,control",  # both arms on one day: neither is kept
        "spring,U2,2026-10-01,control",
        "spring,U2,2026-10-01 08:00,control",  # one arm twice on one day (other times): the same contact, kept once
        "spring,NOBODY,2026-10-01,treatment",
        "autumn,U3,2026-10-01,treatment",
        "spring,U4,0001-01-01,treatment",
        'spring,"U5,extra",2026-10-01,treatment,surplus',  # a quoted comma is one field; the surplus is not
    ]) + "\n")
    cfg = make_cfg(tmp_path / "w", 'campaigns.external=["spring"]')
    sent = SendsArgs(file=str(export))
    customers = [{S.CUSTOMER_ID: f"U{i}", S.SIGNUP_DATE: DAY, S.COUNTRY: None, S.MARKETING_OPT_IN: True,
                  S.EMAIL_PSEUDONYM: None, S.SOURCE: "t", S.INGEST_DATE: DAY} for i in range(1, 6)]
    warehouse(spark, cfg).merge_upsert(contract(spark, S.CUSTOMERS, customers), "customers", [S.CUSTOMER_ID])
    first = {S.EVENT_ID: "e", S.USER_ID: "U1", S.ITEM_ID: "i", S.EVENT_TYPE: "view", S.TS: datetime(2026, 9, 1),
             S.SESSION_ID: None, S.ORDER_ID: None, S.QUANTITY: None, S.PRICE: None, S.RATING: None,
             S.SOURCE: "t", S.INGEST_DATE: DAY}
    warehouse(spark, cfg).merge_upsert(contract(spark, S.EVENTS, [first]), "events", [S.EVENT_ID])
    s = execute("record-sends", JOBS["record-sends"], spark, cfg, date(2026, 11, 1), args=sent)
    reasons = sorted(r.reason for r in warehouse(spark, cfg).read("quarantine").collect())
    assert reasons == ["arm_conflict", "arm_conflict", "before_first_event", "duplicate", "unknown_campaign",
                       "unknown_customer", "wrong_column_count"]
    hist = [(r.user_id, r.arm) for r in warehouse(spark, cfg).read("contact_history").collect()]
    assert hist == [("U2", "control")] and s.rows_in == 8


def test_an_export_keyed_by_email_is_matched_by_pseudonym_and_never_stored_raw(spark, tmp_path):
    from tailor.privacy.pseudonym import pseudonym

    key = b"tests-only-pseudonym-key"
    export = tmp_path / "sends.csv"
    export.write_text("campaign,email,sent_at,first_name\n"
                      "spring,Ann@Example.com ,2026-10-01,Ann\n"   # case and padding: the same address
                      "spring,bob@example.com,2026-10-01,Bob\n")   # nobody's address here
    cfg = make_cfg(tmp_path / "w", 'campaigns.external=["spring"]')
    sent = SendsArgs(file=str(export))
    row = {S.CUSTOMER_ID: "U1", S.SIGNUP_DATE: DAY, S.COUNTRY: None, S.MARKETING_OPT_IN: True,
           S.EMAIL_PSEUDONYM: pseudonym(key, "ann@example.com"), S.SOURCE: "t", S.INGEST_DATE: DAY}
    warehouse(spark, cfg).merge_upsert(contract(spark, S.CUSTOMERS, [row]), "customers", [S.CUSTOMER_ID])
    execute("record-sends", JOBS["record-sends"], spark, cfg, date(2026, 11, 1), args=sent)
    assert [r.user_id for r in warehouse(spark, cfg).read("contact_history").collect()] == ["U1"]
    (q,) = warehouse(spark, cfg).read("quarantine").collect()
    assert q.reason == "unknown_customer"
    assert json.loads(q.record) == {"campaign": "spring", "email": pseudonym(key, "bob@example.com"),
                                    "sent_at": "2026-10-01", "first_name": pseudonym(key, "Bob")}


def test_the_analysis_by_hand(spark, tmp_path):
    cfg = make_cfg(tmp_path / "w", "campaigns.window_days=7")
    sent = date(2026, 10, 1)
    hist = [(f"T{i}", S.TREATMENT) for i in range(4)] + [(f"C{i}", S.CONTROL) for i in range(4)]
    rows = [{S.CAMPAIGN: "c", S.USER_ID: u, S.SENT_DATE: sent, S.ARM: a, S.CHANNEL: "email", "recorded_on": sent}
            for u, a in hist]
    rows.append({S.CAMPAIGN: "late", S.USER_ID: "T0", S.SENT_DATE: date(2026, 10, 28), S.ARM: S.TREATMENT,
                 S.CHANNEL: "email", "recorded_on": sent})  # its window ends after the run date: skipped
    warehouse(spark, cfg).merge_upsert(
        contract(spark, S.CONTACT_HISTORY, rows), "contact_history", ["campaign", "user_id"])

    def line(u, day, amount, ret=False):
        return {S.EVENT_ID: f"{u}{day}{amount}", S.ORDER_ID: "o", S.USER_ID: u, S.ITEM_ID: "i",
                S.TS: datetime(2026, 10, day, 12), S.QUANTITY: 1, S.PRICE: abs(amount), S.AMOUNT: amount,
                S.IS_RETURN: ret, S.SOURCE: "t", S.INGEST_DATE: DAY}

    orders = [line("T0", 2, 10.0), line("T0", 3, -4.0, True),  # converted, net 6
              line("T1", 8, 20.0),  # the last day of the window: in
              line("T2", 1, 50.0),  # the send day: out
              line("T3", 9, 30.0),  # the day after the window: out
              line("C0", 5, 12.0), line("C1", 4, -5.0, True)]  # C1: a return alone is not a conversion
    warehouse(spark, cfg).merge_upsert(contract(spark, S.ORDERS, orders), "orders", [S.EVENT_ID])
    run = date(2026, 11, 1)
    execute("analyze-experiment", JOBS["analyze-experiment"], spark, cfg, run)
    res = warehouse(spark, cfg).read_run("experiment_results", run).collect()
    assert [r.campaign for r in res] == ["c"]
    r = res[0]
    assert (r.n_treatment, r.conversions_treatment, r.n_control, r.conversions_control) == (4, 2, 4, 1)
    p = X.two_proportions(2, 4, 1, 4, 0.05)
    assert (r.abs_lift, r.p_value, r.ci_low) == (pytest.approx(0.25), pytest.approx(p.p_value), pytest.approx(p.ci_low))
    assert (r.revenue_treatment, r.revenue_control) == (pytest.approx(26.0), pytest.approx(7.0))
    assert r.revenue_per_user_treatment == pytest.approx(6.5) and r.significant is False
    execute("analyze-experiment", JOBS["analyze-experiment"], spark, cfg, run)
    assert warehouse(spark, cfg).read_run("experiment_results", run).count() == 1
    with pytest.raises(MissingTableError, match="nope"):
        execute("analyze-experiment", JOBS["analyze-experiment"], spark, cfg, run,
                args=ExperimentArgs(campaigns=("nope",)))


def test_the_planted_campaign_follows_tailors_assignment(spark):
    from tailor.ingest import synthetic

    spec = synthetic.shop_spec("S", 42, date(2026, 11, 23), 120, 0.0, users=400, items=48)
    sends = synthetic.campaign_sends(spark, spec).collect()
    customers = {r.customer_id: r for r in synthetic.customers(spark, spec).collect()}
    assert sends and all(customers[r.user_id].marketing_opt_in == "yes" for r in sends)
    assert all(assign.unit_py(spec.salt, assign.HOLDOUT_KEY, r.user_id) >= spec.holdout for r in sends)
    assert all(r.arm == (S.TREATMENT if assign.unit_py(spec.salt, synthetic.PLANTED_CAMPAIGN, r.user_id) < 0.5
                         else S.CONTROL) for r in sends)
    assert {r.sent_at for r in sends} == {"2026-10-24"}  # 30 days before the end


@pytest.mark.parametrize(("rule", "named"), [
    ("reflect('java.lang.System', 'getenv', 'TAILOR_PSEUDONYM_KEY') = 'x'", "reflect()"),
    ("java_method('java.lang.System', 'exit', 3) = 0", "java_method()"),
    ("raise_error('boom') IS NULL", "raise_error()"),
    ("assert_true(frequency > 0) IS NULL", "assert_true()"),
    ("(SELECT max(value) FROM text.`/etc/hostname`) = 'x'", "a subquery"),
    ("EXISTS (SELECT 1 FROM delta.`/tmp/other-warehouse/silver/quarantine`)", "a subquery"),
    ("frequency IN (SELECT 1)", "a subquery"),
    ("my_udf(frequency) > 1", "my_udf()"),
    ("system.builtin.abs(frequency) > 1", "system.builtin.abs()"),
    ("rand() > 0.5", "rand()"),
    ("current_date() > '2026-01-01'", "current_date()"),
    ("exists(array(1), x -> x > 0)", "exists()"),
    ("t.frequency > 1", "the qualified name t.frequency"),
    ("frequency RLIKE '(a+)+$'", "RLIKE"),
])
def test_a_rule_outside_the_language_is_refused_naming_the_construct(spark, rule, named):
    from tailor.campaigns import sandbox

    with pytest.raises(ConfigError) as e:
        sandbox.check(spark, rule, "probe")
    assert named in str(e.value) and "campaign 'probe'" in str(e.value)


@pytest.mark.parametrize("rule", [
    "churn_decile >= 8 AND monetary_total > monetary_median",
    "recency_days BETWEEN 30 AND 90 OR frequency IN (1, 2)",
    "CASE WHEN segment LIKE 'loyal%' THEN true ELSE coalesce(purchase_score, 0) > 0.5 END",
    "NOT (country IS NULL) AND abs(spend_trend) * 2 <= least(monetary_total, 100) AND cast(r_score AS int) % 2 = 0",
    "-recency_days < -3 AND lower(top_category) = 'toys'",
])
def test_rules_in_the_language_pass(spark, rule):
    from tailor.campaigns import sandbox

    sandbox.check(spark, rule, "fine")  # no error


def test_a_refused_rule_exits_2_before_the_job_reads_anything(tmp_path, capsys):
    from tailor.cli import main

    rule = "reflect('java.lang.System', 'getenv', 'TAILOR_PSEUDONYM_KEY') = 'x'"
    code = main(["campaign", "--set", f"warehouse={tmp_path / 'empty'}", "--set", "spark.shuffle_partitions=2",
                 "--set", f'campaigns.definitions=[{{"name": "leak", "rule": "{rule}"}}]'])
    err = capsys.readouterr().err
    assert code == 2 and "reflect()" in err
    assert len([line for line in err.splitlines() if line.startswith("tailor:")]) == 1
