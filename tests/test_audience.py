"""Campaign audiences (tailor.campaigns.audience): opted-out, suppressed and held-out customers never appear; rule
errors."""

from __future__ import annotations

import json
import random
from datetime import date

import pytest

from conftest import contract
from tailor import assign
from tailor import schemas as S
from tailor.campaigns import audience as A
from tailor.config import CampaignDefinition, load_config
from tailor.errors import ConfigError, MissingTableError

DAY = date(2026, 11, 1)


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


def test_rules_over_customer_value_and_the_job_named_when_it_is_missing(spark):
    customers, features, _, _, _ = _population(spark, 4, 40)
    settings = _settings()
    people = A.eligible(customers, None, settings)
    ids = sorted(r.user_id for r in people.collect())
    value = contract(spark, S.CUSTOMER_VALUE, [
        {S.USER_ID: u, "p_alive": 0.2 if i % 2 else 0.9, "expected_purchases": {90: 0.1 * i}, "clv": float(i),
         "clv_decile": 1 + i % 10} for i, u in enumerate(ids)])
    rule = [CampaignDefinition(name="v", rule="p_alive < 0.5 AND clv_decile <= 3 AND expected_purchases_90 > 0.5")]
    attrs = A.attributes(people, features, None, None, [], "gbt", 1.0, value, [90])
    got = sorted(r.user_id for r in A.qualify(attrs, A.expand(rule, settings, None)).collect())
    # odd positions (P(alive) 0.2), decile 1-3 (i % 10 in 0..2) and i > 5 (0.1·i > 0.5): i = 11, 21
    assert got == [ids[i] for i in range(len(ids)) if i % 2 and i % 10 <= 2 and i > 5]
    without = A.attributes(people, features, None, None, [], "gbt", 1.0)
    with pytest.raises(MissingTableError, match="tailor clv"):
        A.qualify(without, A.expand(rule, settings, None))


def test_an_offer_free_campaign_keeps_customers_without_recommendations(spark):
    settings = _settings(definitions=[{"name": "winback", "rule": "frequency >= 1", "offers": 0, "priority": 1},
                                      {"name": "upsell", "rule": "frequency >= 5", "offers": 2, "priority": 0}])
    campaigns = A.expand(settings.definitions, settings, None)
    chosen = spark.createDataFrame([("a", "winback", 1), ("b", "upsell", 0), ("c", "upsell", 0)],
                                   "user_id string, campaign string, priority int")
    recs = contract(spark, S.RECOMMENDATIONS, [
        {S.USER_ID: "b", S.ITEM_ID: f"P{k}", S.RANK: k, S.REASON: f"because {k}"} for k in (1, 2, 3)])
    got = sorted((r.user_id, r.campaign, r.offers, r.reason) for r in
                 A.assign(chosen, campaigns, A.top_offers(recs, 2), settings.salt).collect())
    # a (offer-free) stays with no offers; b gets two; c has no recommendation, so upsell drops it
    assert got == [("a", "winback", [], "winback (frequency >= 1)"),
                   ("b", "upsell", ["P1", "P2"], "upsell (frequency >= 5); first offer: because 1")]
    none = A.assign(chosen.where("user_id = 'a'"), campaigns, None, settings.salt)  # no recommendations at all
    assert [(r.user_id, r.offers) for r in none.collect()] == [("a", [])]
