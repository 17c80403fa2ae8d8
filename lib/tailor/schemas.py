"""Data contracts: the column names and StructTypes of every table Tailor writes.

Column names are constants here and nowhere else. A table's contract is checked when it is written
(:func:`tailor.tables.conform`), and Delta enforces its NOT NULL columns.
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

# --- column names -------------------------------------------------------------------------------------
RUN_DATE = "run_date"
INGEST_DATE = "ingest_date"
SOURCE = "source"
EVENT_ID = "event_id"
USER_ID = "user_id"
ITEM_ID = "item_id"
EVENT_TYPE = "event_type"
TS = "ts"
SESSION_ID = "session_id"
ORDER_ID = "order_id"
QUANTITY = "quantity"
PRICE = "price"
RATING = "rating"
AMOUNT = "amount"
IS_RETURN = "is_return"
PRODUCT_ID = "product_id"
TITLE = "title"
DESCRIPTION = "description"
CATEGORY = "category"
BRAND = "brand"
CUSTOMER_ID = "customer_id"
SIGNUP_DATE = "signup_date"
COUNTRY = "country"
MARKETING_OPT_IN = "marketing_opt_in"
EMAIL = "email"
EMAIL_PSEUDONYM = "email_pseudonym"
NAME = "name"

# --- event types --------------------------------------------------------------------------------------
VIEW, CART, PURCHASE, RETURN, RATING_EVENT = "view", "cart", "purchase", "return", "rating"
EVENT_TYPES = (VIEW, CART, PURCHASE, RETURN, RATING_EVENT)

# Columns whose values identify a person directly. They may exist in bronze only.
PII_COLUMNS = frozenset({EMAIL, NAME, "phone"})


def _f(name: str, dtype: DataType, nullable: bool = True) -> StructField:
    return StructField(name, dtype, nullable)


EVENTS = StructType(
    [
        _f(EVENT_ID, StringType(), False),
        _f(USER_ID, StringType(), False),
        _f(ITEM_ID, StringType(), False),
        _f(EVENT_TYPE, StringType(), False),
        _f(TS, TimestampType(), False),
        _f(SESSION_ID, StringType()),
        _f(ORDER_ID, StringType()),
        _f(QUANTITY, IntegerType()),
        _f(PRICE, DoubleType()),
        _f(RATING, DoubleType()),
        _f(SOURCE, StringType(), False),
        _f(INGEST_DATE, DateType(), False),
    ]
)
"""Every interaction: view, cart, purchase, return (quantity is the positive number of units returned)
and rating. ``event_id`` is the source's id, or a hash of the landed row where the source has none."""

ORDERS = StructType(
    [
        _f(EVENT_ID, StringType(), False),
        _f(ORDER_ID, StringType(), False),
        _f(USER_ID, StringType(), False),
        _f(ITEM_ID, StringType(), False),
        _f(TS, TimestampType(), False),
        _f(QUANTITY, IntegerType(), False),
        _f(PRICE, DoubleType(), False),
        _f(AMOUNT, DoubleType(), False),
        _f(IS_RETURN, BooleanType(), False),
        _f(SOURCE, StringType(), False),
        _f(INGEST_DATE, DateType(), False),
    ]
)
"""Order lines: the purchase and return events, one row each. ``amount`` is quantity x price, negative
for a return."""

PRODUCTS = StructType(
    [
        _f(PRODUCT_ID, StringType(), False),
        _f(TITLE, StringType()),
        _f(DESCRIPTION, StringType()),
        _f(CATEGORY, StringType()),
        _f(BRAND, StringType()),
        _f(PRICE, DoubleType()),
        _f(SOURCE, StringType(), False),
        _f(INGEST_DATE, DateType(), False),
    ]
)

CUSTOMERS = StructType(
    [
        _f(CUSTOMER_ID, StringType(), False),
        _f(SIGNUP_DATE, DateType()),
        _f(COUNTRY, StringType()),
        _f(MARKETING_OPT_IN, BooleanType()),
        _f(EMAIL_PSEUDONYM, StringType()),
        _f(SOURCE, StringType(), False),
        _f(INGEST_DATE, DateType(), False),
    ]
)
"""``email_pseudonym`` is the keyed HMAC of the lower-cased address (:mod:`tailor.privacy.pseudonym`): it
joins with a provider's data hashed with the same key, and reveals nothing without it. The address itself
stays in bronze, under ``privacy.bronze_retention_days``. ``marketing_opt_in`` null means unknown, which
campaigns treat as no."""

QUARANTINE = StructType(
    [
        _f(SOURCE, StringType(), False),
        _f("entity", StringType(), False),
        _f("reason", StringType(), False),
        _f("record", StringType(), False),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""Rejected rows: the landed row as JSON, and the first rule it broke."""

RUNS = StructType(
    [
        _f("run_id", StringType(), False),
        _f("job", StringType(), False),
        _f(RUN_DATE, DateType(), False),
        _f("status", StringType(), False),
        _f("started_at", TimestampType(), False),
        _f("ended_at", TimestampType(), False),
        _f("duration_s", DoubleType(), False),
        _f("rows_in", LongType()),
        _f("rows_out", LongType()),
        _f("metrics", MapType(StringType(), DoubleType())),
        _f("error", StringType()),
        _f("exit_code", IntegerType()),
        _f("pipeline_run_id", StringType()),
    ]
)
"""One row per job attempt: succeeded (exit_code 0), failed (2 for a configuration error, else 1), or skipped
because a job it needs failed in the same pipeline run (exit_code null). A log, so re-runs add rows."""

# --- gold: customers -----------------------------------------------------------------------------------
SEGMENT_ID = "segment_id"
SEGMENT = "segment"
RFM_SEGMENT = "rfm_segment"

USER_FEATURES = StructType(
    [
        _f(USER_ID, StringType(), False),
        _f(COUNTRY, StringType()),
        _f("tenure_days", IntegerType(), False),
        _f("recency_days", IntegerType()),
        _f("frequency", IntegerType(), False),
        _f("monetary_total", DoubleType(), False),
        _f("avg_order_value", DoubleType()),
        _f("purchases_per_30d", DoubleType(), False),
        _f("mean_days_between_purchases", DoubleType()),
        _f("distinct_items", IntegerType(), False),
        _f("distinct_categories", IntegerType(), False),
        _f("top_category", StringType()),
        _f("top_category_share", DoubleType()),
        _f("top3_category_share", DoubleType()),
        _f("return_rate", DoubleType()),
        _f("spend_recent", DoubleType(), False),
        _f("spend_prior", DoubleType(), False),
        _f("spend_trend", DoubleType(), False),
        _f("sessions", IntegerType(), False),
        _f("views", IntegerType(), False),
        _f("carts", IntegerType(), False),
        _f("avg_session_minutes", DoubleType()),
        _f("view_to_purchase", DoubleType()),
        _f("r_score", IntegerType()),
        _f("f_score", IntegerType()),
        _f("m_score", IntegerType()),
        _f(RFM_SEGMENT, StringType(), False),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""One row per customer as of run_date (only data at or before it). See :mod:`tailor.features.profile` for
each column's definition; R, F and M scores are null for customers with no purchase."""

USER_SEGMENTS = StructType(
    [
        _f(USER_ID, StringType(), False),
        _f(SEGMENT_ID, IntegerType(), False),
        _f(SEGMENT, StringType(), False),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""K-means segment of every customer in ``user_features``; -1 is the customers with no purchase yet."""

CUSTOMER_VALUE = StructType(
    [
        _f(USER_ID, StringType(), False),
        _f("frequency", IntegerType(), False),
        _f("recency", DoubleType(), False),
        _f("tenure", DoubleType(), False),
        _f("monetary", DoubleType(), True),
        _f("p_alive", DoubleType(), False),
        _f("expected_purchases", MapType(IntegerType(), DoubleType(), False), False),
        _f("days_to_next_purchase", DoubleType(), False),
        _f("expected_order_value", DoubleType(), True),
        _f("clv", DoubleType(), True),
        _f("clv_decile", IntegerType(), True),
        _f("p_alive_change", DoubleType(), True),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""Each customer with a purchase by run_date (:mod:`tailor.clv`): ``frequency`` repeat purchase days,
``recency`` first to last purchase and ``tenure`` first purchase to run_date (T), both in ``clv.time_unit``;
``monetary`` the mean value of the repeat purchase days (null without one); ``p_alive``; ``expected_purchases``
(horizon in days -> expected purchase days); ``days_to_next_purchase`` (the median wait if still active);
``expected_order_value`` (Gamma-Gamma); ``clv`` over ``clv.months``, discounted; ``clv_decile`` 1 = the top
tenth. The value columns are null when Gamma-Gamma could not be fitted. ``p_alive_change``: P(alive) now
less P(alive) ``clv.trend_days`` earlier, both with today's fit (negative: slipping away; null for a customer
whose first purchase came after that day)."""

SEGMENT_PROFILES = StructType(
    [
        _f(SEGMENT_ID, IntegerType(), False),
        _f(SEGMENT, StringType(), False),
        _f("size", LongType(), False),
        _f("customer_share", DoubleType(), False),
        _f("revenue_share", DoubleType(), False),
        _f("feature_means", MapType(StringType(), DoubleType()), False),
        _f("k", IntegerType(), False),
        _f("silhouette", DoubleType()),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""One row per segment: its size, share of customers and of net revenue, the mean of each feature, and the
k and silhouette of the clustering."""

# --- gold: similarity and recommendations ---------------------------------------------------------------
ENTITY, NEIGHBOUR, SCORE, CO_COUNT, METHOD, RANK = "entity", "neighbour", "score", "co_count", "method", "rank"
ANCHOR = "anchor"

SIMILARITY = StructType(
    [
        _f(ENTITY, StringType(), False),
        _f(NEIGHBOUR, StringType(), False),
        _f(SCORE, DoubleType(), False),
        _f(CO_COUNT, IntegerType(), False),
        _f(METHOD, StringType(), False),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""Top-K neighbours per entity (item ids in ``item_similarity``, customer ids in ``user_similarity``), both
directions of each pair, for one measure (``method``)."""

CANDIDATES = StructType(
    [
        _f(USER_ID, StringType(), False),
        _f(ITEM_ID, StringType(), False),
        _f(SCORE, DoubleType(), False),
        _f(RANK, IntegerType(), False),
        _f(ANCHOR, StringType()),
        _f(SOURCE, StringType(), False),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""Top-N recommendations per user from one recommender (``source``: item_cf, user_cf, als, content,
popular, trending), seen items excluded, rank 1 best (ties broken by item id). ``anchor`` is what the score
rests on, when there is one thing to name: the user's item for item_cf and content (``because you bought
X``), the group for popularity (``segment:…``, ``country:…``, ``global``); null otherwise."""

POPULAR_ITEMS = StructType(
    [
        _f("scope", StringType(), False),
        _f("group_key", StringType(), False),
        _f(ITEM_ID, StringType(), False),
        _f(SCORE, DoubleType(), False),
        _f("users", LongType(), False),
        _f(RANK, IntegerType(), False),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""Top items per group: ``scope`` global, segment, country (score: capped, decayed interest summed over
the group's users) or trending (score: growth of users, last window against the one before)."""

FREQUENT_ITEMSETS = StructType(
    [
        _f("items", ArrayType(StringType(), False), False),
        _f("size", IntegerType(), False),
        _f("freq", LongType(), False),
        _f("support", DoubleType(), False),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""FPGrowth's frequent itemsets: items sorted, freq = baskets holding all of them, support = freq / baskets."""

ASSOCIATION_RULES = StructType(
    [
        _f("antecedent", ArrayType(StringType(), False), False),
        _f("consequent", StringType(), False),
        _f("support", DoubleType(), False),
        _f("confidence", DoubleType(), False),
        _f("lift", DoubleType(), False),
        _f("leverage", DoubleType(), False),
        _f("conviction", DoubleType(), False),
        _f("antecedent_support", DoubleType(), False),
        _f("consequent_support", DoubleType(), False),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""antecedent -> consequent: support of both, confidence = supp(AC)/supp(A), lift = conf/supp(C), leverage =
supp(AC) - supp(A)·supp(C), conviction = (1 - supp(C))/(1 - conf) (Infinity when conf = 1)."""

FREQUENTLY_BOUGHT_TOGETHER = StructType(
    [
        _f(ITEM_ID, StringType(), False),
        _f("consequent", StringType(), False),
        _f("support", DoubleType(), False),
        _f("confidence", DoubleType(), False),
        _f("lift", DoubleType(), False),
        _f(RANK, IntegerType(), False),
        _f(RUN_DATE, DateType(), False),
        _f(TITLE, StringType(), True),
        _f("consequent_title", StringType(), True),
    ]
)
"""Top consequents of each single-item rule, by confidence then lift, with both products' titles where the
catalogue has them (added after the first release: the table gains the columns on its next write)."""

PROPENSITY_SCORES = StructType(
    [
        _f(USER_ID, StringType(), False),
        _f("model", StringType(), False),
        _f("version", StringType(), False),
        _f(SCORE, DoubleType(), False),
        _f("decile", IntegerType(), False),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""Every customer's probability under a propensity model (``purchase_lr``, ``churn_gbt``...) of the given
version, and its decile among all customers scored (10 = the highest)."""

MODEL_METRICS = StructType(
    [
        _f("model", StringType(), False),
        _f("version", StringType(), False),
        _f("metric", StringType(), False),
        _f("key", StringType(), False),
        _f("value", DoubleType(), False),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""Out-of-time metrics of a trained model: roc_auc, pr_auc, log_loss, brier (key ""), lift / capture /
decile_rate by decile (key "1".."10"), calibration_* by probability bin, importance or coefficient by
feature."""

MODEL_VERSIONS = StructType(
    [
        _f("model", StringType(), False),
        _f("version", StringType(), False),
        _f("path", StringType(), False),
        _f("meta", StringType(), False),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""The model store's index: where each version of a model lives and its metadata (JSON: features,
parameters, cutoffs, metrics)."""

REASON = "reason"
RECOMMENDATIONS = StructType(
    [
        _f(USER_ID, StringType(), False),
        _f(ITEM_ID, StringType(), False),
        _f(SCORE, DoubleType(), False),
        _f(RANK, IntegerType(), False),
        _f(SOURCE, StringType(), False),
        _f(ANCHOR, StringType()),
        _f(REASON, StringType(), False),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""The hybrid's final top-N per user: blended score, the source that contributed most, its anchor and a
human-readable reason. Bought and non-catalogue items are filtered out; categories are capped."""

EVALUATIONS = StructType(
    [
        _f("recommender", StringType(), False),
        _f("split", StringType(), False),
        _f("k", IntegerType(), False),
        _f("metric", StringType(), False),
        _f("value", DoubleType(), False),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""One row per recommender, split, cut-off and metric (precision, recall, ndcg, map, hit_rate, coverage,
novelty, diversity, users)."""

# --- ops: stable integer ids ------------------------------------------------------------------------------
KIND, EXTERNAL_ID, IDX, FIRST_SEEN = "kind", "external_id", "idx", "first_seen"

ID_MAP = StructType(
    [
        _f(KIND, StringType(), False),
        _f(EXTERNAL_ID, StringType(), False),
        _f(IDX, IntegerType(), False),
        _f(FIRST_SEEN, DateType(), False),
    ]
)
"""Dense int ids for string user and item ids (``kind`` = user or item). Rows are only ever added: an id
keeps its number for good, so factors and recommendations stay comparable across runs."""

# --- gold: ALS ------------------------------------------------------------------------------------------
FEATURES = "features"
USER_FACTORS = StructType(
    [
        _f(USER_ID, StringType(), False),
        _f(IDX, IntegerType(), False),
        _f(FEATURES, ArrayType(FloatType()), False),
        _f(RUN_DATE, DateType(), False),
    ]
)
ITEM_FACTORS = StructType(
    [
        _f(ITEM_ID, StringType(), False),
        _f(IDX, IntegerType(), False),
        _f(FEATURES, ArrayType(FloatType()), False),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""ALS latent factors of one run, by string id and by the stable int id of ``id_map``."""

TUNING_RESULTS = StructType(
    [
        _f("model", StringType(), False),
        _f("params", MapType(StringType(), DoubleType()), False),
        _f("metrics", MapType(StringType(), DoubleType()), False),
        _f("chosen", BooleanType(), False),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""One row per setting tried by a model's search, scored on a validation split; ``chosen`` marks the best."""

# --- campaigns ------------------------------------------------------------------------------------------
CAMPAIGN = "campaign"
ARM = "arm"
TREATMENT, CONTROL = "treatment", "control"
OFFERS = "offers"
SENT_DATE = "sent_date"
CHANNEL = "channel"

CAMPAIGN_AUDIENCES = StructType(
    [
        _f(CAMPAIGN, StringType(), False),
        _f(USER_ID, StringType(), False),
        _f(OFFERS, ArrayType(StringType(), False), False),
        _f(REASON, StringType(), False),
        _f(ARM, StringType(), False),
        _f("priority", IntegerType(), False),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""Who each campaign targets on the run date: at most one campaign per customer (by priority), opted-in,
not suppressed, not in the global holdout, under the frequency cap. ``arm`` is treatment (to contact) or
control (held back for the experiment); both carry the offers they would get."""

UPLIFT_SCORES = StructType(
    [
        _f(USER_ID, StringType(), False),
        _f("uplift", DoubleType()),
        _f("uplift_decile", IntegerType(), False),
        _f("conversion", DoubleType()),
        _f(CAMPAIGN, StringType(), False),
        _f("learner", StringType(), False),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""``tailor uplift``: every customer known on the run date, with the predicted change in their chance of
buying within ``campaigns.window_days`` if contacted (``uplift``), its decile (10 = the most persuadable), the
predicted conversion rate, the experiment learnt from and the learner."""

EXPERIMENT_PLANS = StructType(
    [
        _f(CAMPAIGN, StringType(), False),
        _f("audience", LongType(), False),
        _f("n_treatment", LongType(), False),
        _f("n_control", LongType(), False),
        _f("treatment_share", DoubleType()),
        _f("window_days", IntegerType(), False),
        _f("alpha", DoubleType(), False),
        _f("power", DoubleType(), False),
        _f("base_rate", DoubleType()),
        _f("mde_conversion", DoubleType()),
        _f("mde_conversion_relative", DoubleType()),
        _f("cuped_reduction_conversion", DoubleType()),
        _f("mde_conversion_cuped", DoubleType()),
        _f("revenue_per_user", DoubleType()),
        _f("revenue_sd", DoubleType()),
        _f("mde_revenue", DoubleType()),
        _f("cuped_reduction_revenue", DoubleType()),
        _f("mde_revenue_cuped", DoubleType()),
        _f("target_lift", DoubleType()),
        _f("needed_conversion", LongType()),
        _f("needed_conversion_cuped", LongType()),
        _f("needed_revenue", LongType()),
        _f("needed_revenue_cuped", LongType()),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""``tailor plan-experiment``: per campaign of the run date's audiences, its arms, the audience's base rate and
revenue per customer over the last ``window_days``, the minimum detectable effects (absolute; conversion also
relative) at ``alpha`` and ``power`` without and with CUPED (expected variance reduction ρ² between that
window and the pre-period before it), and with a target lift, the audience each would need."""

CONTACT_HISTORY = StructType(
    [
        _f(CAMPAIGN, StringType(), False),
        _f(USER_ID, StringType(), False),
        _f(SENT_DATE, DateType(), False),
        _f(ARM, StringType(), False),
        _f(CHANNEL, StringType(), False),
        _f("recorded_on", DateType(), False),
    ]
)
"""One row per (campaign, customer, day): treatment rows are contacts (they count towards the frequency
cap); control rows record who was held back, for the experiment. ``recorded_on`` is the run date of the
``record-sends`` run that first recorded the row."""

EXPERIMENT_RESULTS = StructType(
    [
        _f(CAMPAIGN, StringType(), False),
        _f("window_days", IntegerType(), False),
        _f("first_send", DateType(), False),
        _f("last_send", DateType(), False),
        _f("n_treatment", LongType(), False),
        _f("n_control", LongType(), False),
        _f("conversions_treatment", LongType(), False),
        _f("conversions_control", LongType(), False),
        _f("rate_treatment", DoubleType()),
        _f("rate_control", DoubleType()),
        _f("abs_lift", DoubleType()),
        _f("rel_lift", DoubleType()),
        _f("ci_low", DoubleType()),
        _f("ci_high", DoubleType()),
        _f("z", DoubleType()),
        _f("p_value", DoubleType()),
        _f("revenue_treatment", DoubleType(), False),
        _f("revenue_control", DoubleType(), False),
        _f("revenue_per_user_treatment", DoubleType()),
        _f("revenue_per_user_control", DoubleType()),
        _f("revenue_lift_per_user", DoubleType()),
        _f("revenue_p_value", DoubleType()),
        _f("significant", BooleanType()),
        _f("expected_treatment_share", DoubleType()),
        _f("srm_chi2", DoubleType()),
        _f("srm_p_value", DoubleType()),
        _f("srm_failed", BooleanType()),
        _f("cuped_theta", DoubleType()),
        _f("cuped_abs_lift", DoubleType()),
        _f("cuped_ci_low", DoubleType()),
        _f("cuped_ci_high", DoubleType()),
        _f("cuped_p_value", DoubleType()),
        _f("cuped_variance_reduction", DoubleType()),
        _f("cuped_revenue_lift_per_user", DoubleType()),
        _f("cuped_revenue_p_value", DoubleType()),
        _f("cuped_revenue_variance_reduction", DoubleType()),
        _f("sequential_p_value", DoubleType()),
        _f("sequential_ci_low", DoubleType()),
        _f("sequential_ci_high", DoubleType()),
        _f("looks", IntegerType()),
        _f("arm", StringType()),
        _f("p_value_holm", DoubleType()),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""A/B result per campaign over the customers whose outcome window ended by the run date: conversion
(any purchase in the window) per arm, absolute and relative lift, the two-proportion z-test (pooled) and
the unpooled confidence interval of the difference; net revenue per customer with a Welch z-test;
``significant`` only when the sample-ratio check passed (``srm_*``: chi-square against
``expected_treatment_share``, null when no share is known); the CUPED-adjusted lifts (``cuped_*``, covariate:
the same outcome in the pre-period) with the variance they removed; the always-valid p-value and confidence
sequence of the conversion lift over the ``looks`` so far (``sequential_*``). One row per campaign and
treatment ``arm`` (``treatment``, or each arm of an A/B/n campaign, against the control), with the
Holm-corrected ``p_value_holm`` that ``significant`` reads."""

# --- privacy --------------------------------------------------------------------------------------------
FORGET_REQUESTS = StructType(
    [
        _f("user_pseudonym", StringType(), False),
        _f("requested_at", TimestampType(), False),
        _f("rows_deleted", LongType(), False),
        _f("purged", BooleanType(), False),
        _f("verified", BooleanType(), False),
        _f(RUN_DATE, DateType(), False),
    ]
)
"""One row per customer forgotten on the run date, by keyed pseudonym (never the id itself):
``rows_deleted`` counts the rows removed for the whole request, ``verified`` that the scan after the deletes
found none left."""

# --- streaming ------------------------------------------------------------------------------------------
REALTIME_STATE = StructType(
    [
        _f(USER_ID, StringType(), False),
        _f(ITEM_ID, StringType(), False),
        _f(EVENT_TYPE, StringType(), False),
        _f(TS, TimestampType(), False),
        _f("updated_batch", LongType(), False),
    ]
)
"""Each user's most recent viewed, carted or bought items (the latest event per item), kept by
``tailor stream``."""

REALTIME_RECS = StructType(
    [
        _f(USER_ID, StringType(), False),
        _f(RANK, IntegerType(), False),
        _f(ITEM_ID, StringType(), False),
        _f(SCORE, DoubleType(), False),
        _f(ANCHOR, StringType(), False),
        _f("anchor_ts", TimestampType(), False),
        _f(REASON, StringType(), False),
        _f("updated_at", TimestampType(), False),
        _f("batch_id", LongType(), False),
    ]
)
"""The live "because you just viewed X" list of each user touched by the stream, keyed by (user, rank).
``anchor_ts`` is the time of the event behind the anchor; ``updated_at`` when the list was written."""

STREAM_PROGRESS = StructType(
    [
        _f("query", StringType(), False),
        _f("batch_id", LongType(), False),
        _f("events", LongType(), False),
        _f("quarantined", LongType(), False),
        _f("users", LongType(), False),
        _f("started_at", TimestampType(), False),
        _f("finished_at", TimestampType(), False),
    ]
)
"""One row per micro-batch of ``tailor stream`` (``query`` is its checkpoint): what it handled and when it
finished, which with each state row's ``updated_batch`` gives event-to-recommendation latency."""


def is_personal(column: str) -> bool:
    """A column name that holds a direct identifier (e-mail, name, phone), in any case."""
    c = column.lower()
    if c.endswith("_pseudonym"):
        return False
    return c in PII_COLUMNS or any(w in c for w in ("email", "e_mail", "phone", "mobile")) or c in {
        "first_name", "last_name", "full_name", "firstname", "lastname", "fullname", "surname"}
