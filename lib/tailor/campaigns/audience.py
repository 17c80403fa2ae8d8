"""Campaign audiences: who qualifies, who may be contacted, which campaign wins, which arm, which offers.

Every build runs, in this order:

1. **Eligible customers**: silver ``customers`` with ``marketing_opt_in`` true (null is unknown, so no),
   minus every id in the suppression files (an anti-join, on every build), minus the global holdout.
2. **Attributes** the rules are written over, one row per eligible customer (left joins, so a customer
   with no features simply matches no rule that needs them):
   - every column of ``user_features`` for the run date (``recency_days``, ``frequency``,
     ``monetary_total``, ``r_score``, ``rfm_segment``...);
   - ``segment_id`` and ``segment`` from ``user_segments``;
   - ``<model>_score`` and ``<model>_decile`` for every model in ``propensity_scores`` (``purchase_gbt``...),
     and ``purchase_score``/``purchase_decile``/``churn_score``/``churn_decile`` from the models of
     ``campaigns.propensity_algorithm`` (decile 10 = the most likely);
   - ``p_alive``, ``p_alive_change`` (P(alive) now less ``clv.trend_days`` ago: negative while a customer
     slips away), ``expected_purchases_<h>`` (``expected_purchases_90``: the expected purchase days in the
     next 90 days, for each h of ``clv.horizons_days``), ``days_to_next_purchase``, ``expected_order_value``,
     ``clv`` and ``clv_decile`` (1 = the most valuable tenth) from ``customer_value``;
   - ``uplift``, ``uplift_decile`` (10 = the most persuadable) and ``expected_gain`` (uplift x value - contact
     cost; see :data:`UPLIFT_ATTRIBUTES`) from ``uplift_scores``;
   - ``monetary_median``: the median ``monetary_total`` of customers with a purchase.
3. **Qualification**: each campaign's rule (a null result is no). ``per_segment`` campaigns expand into
   one campaign per segment.
4. **Frequency cap**: customers with ``max_contacts`` contacts already in the ``cap_days - 1`` days before
   the run date (contacts, the rows of every arm but control, in ``contact_history``; on the run date itself,
   contacts of campaigns this build does not make) are left out. With at most one campaign per customer per
   day this keeps every rolling ``cap_days`` window at or under ``max_contacts``, and a re-run for the same
   date, after its sends were recorded, builds the same audience.
5. **Priority**: a customer who qualifies for several campaigns gets the one with the lowest priority
   number (ties: the name).
6. **Arm** by the salted hash of :mod:`tailor.assign`: ``treatment`` or ``control``, or for an A/B/n campaign
   (``arms``) one of its treatment arms or ``control``.
7. **Offers**: the customer's top recommendations of the run date. Customers with none are left out
   (counted in the job's metrics), since the campaign has nothing to offer them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import reduce

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from tailor import assign as H
from tailor import csvfile, sandbox
from tailor import schemas as S
from tailor.errors import ConfigError, MissingTableError, SourceError
from tailor.settings import CampaignDefinition, CampaignSettings

MONETARY_MEDIAN = "monetary_median"
_FROM_SEGMENTS = {S.SEGMENT_ID, S.SEGMENT}
_FROM_SCORES = re.compile(r"^(purchase|churn)(_(lr|gbt))?_(score|decile)$")
VALUE_ATTRIBUTES = ("p_alive", "p_alive_change", "days_to_next_purchase", "expected_order_value", "clv",
                    "clv_decile")
"""What a rule may use from ``customer_value``, besides ``expected_purchases_<h>`` (its summary columns would
clash with ``user_features``')."""
_FROM_VALUE = re.compile(rf"^({'|'.join(VALUE_ATTRIBUTES)}|expected_purchases_\d+)$")
UPLIFT_ATTRIBUTES = ("uplift", "uplift_decile", "expected_gain")
"""What a rule may use from ``uplift_scores``: ``expected_gain`` = uplift x value - ``campaigns.contact_cost``,
the value being ``expected_order_value`` from ``customer_value`` when there is one, else the customer's
``avg_order_value``, else the shop's mean of it."""


@dataclass(frozen=True)
class Campaign:
    """A campaign as built on one run: a definition, or one segment of a ``per_segment`` definition."""

    name: str
    key: str
    """The experiment key of the assignment hash: the definition's name (shared by its segments, so a
    customer keeps their arm when segments are re-fitted)."""
    rule: str
    priority: int
    offers: int
    arms: tuple[tuple[str, float], ...]
    """(treatment arm, share), in assignment order; the control arm has the rest."""
    channel: str
    segment: str | None = None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "none"


def expand(definitions: list[CampaignDefinition], settings: CampaignSettings,
           segments: list[str] | None) -> list[Campaign]:
    """Definitions -> campaigns; ``per_segment`` ones need the run's segment names.

    Raises:
        MissingTableError: a ``per_segment`` campaign, and no segments for the run date.
    """
    out = []
    for d in definitions:
        share = d.arm_shares(settings.treatment_share)
        channel = d.channel or settings.channel
        if not d.per_segment:
            out.append(Campaign(d.name, d.name, d.rule, d.priority, d.offers, share, channel))
            continue
        if segments is None:
            raise MissingTableError(f"campaign '{d.name}' is per segment, and user_segments has no rows for the "
                                    "run date: run `tailor segments` for that date first")
        out.extend(Campaign(f"{d.name}-{_slug(s)}", d.name, d.rule, d.priority, d.offers, share, channel, s)
                   for s in sorted(segments))
    return out


def suppressed_ids(spark: SparkSession, files: list[str]) -> DataFrame | None:
    """The ids in the suppression files (trimmed, distinct), or None when there are none.

    Raises:
        SourceError: a file is missing or has neither a ``user_id`` nor a ``customer_id`` column.
    """
    frames = []
    for path in files:
        # a ragged row still suppresses the id it holds: contacting someone who asked not to be is the worse error
        df = csvfile.read(spark, path, what="suppression file")
        col = next((c for c in (S.USER_ID, S.CUSTOMER_ID) if c in df.columns), None)
        if col is None:
            raise SourceError(f"suppression file {path} needs a user_id or customer_id column; it has {df.columns}")
        frames.append(df.select(F.trim(F.col(col)).alias(S.USER_ID)))
    if not frames:
        return None
    return reduce(DataFrame.unionByName, frames).where(F.col(S.USER_ID).isNotNull() & (F.col(S.USER_ID) != ""))


def opted_in(customers: DataFrame) -> DataFrame:
    return (customers.where(F.col(S.MARKETING_OPT_IN) == F.lit(True))
            .select(F.col(S.CUSTOMER_ID).alias(S.USER_ID)).distinct())


def eligible(customers: DataFrame, suppressed: DataFrame | None, settings: CampaignSettings) -> DataFrame:
    """Opted-in customers, minus the suppressed, minus the global holdout."""
    out = opted_in(customers)
    if suppressed is not None:
        out = out.join(suppressed.distinct(), S.USER_ID, "left_anti")
    return out.where(~H.in_holdout(settings.salt, settings.holdout_fraction, S.USER_ID))


def attributes(people: DataFrame, features: DataFrame, segments: DataFrame | None, scores: DataFrame | None,
               models: list[str], algorithm: str, monetary_median: float | None,
               value: DataFrame | None = None, horizons: list[int] = (), uplift: DataFrame | None = None,
               contact_cost: float = 0.0) -> DataFrame:
    """One row per customer of ``people`` with everything a rule may use (see the module docstring);
    ``horizons`` are the keys of ``value``'s ``expected_purchases``, one column each."""
    out = people.join(features.drop(S.RUN_DATE), S.USER_ID, "left")
    if value is not None:
        per = [F.col("expected_purchases")[h].alias(f"expected_purchases_{h}") for h in horizons]
        out = out.join(value.select(S.USER_ID, *VALUE_ATTRIBUTES, *per), S.USER_ID, "left")
    if segments is not None:
        out = out.join(segments.select(S.USER_ID, S.SEGMENT_ID, S.SEGMENT), S.USER_ID, "left")
    if scores is not None and models:
        aggs = []
        for m in models:
            aggs.append(F.max(F.when(F.col("model") == m, F.col(S.SCORE))).alias(f"{m}_score"))
            aggs.append(F.max(F.when(F.col("model") == m, F.col("decile"))).alias(f"{m}_decile"))
        wide = scores.groupBy(S.USER_ID).agg(*aggs)
        for target in ("purchase", "churn"):
            if f"{target}_{algorithm}" in models:
                wide = (wide.withColumn(f"{target}_score", F.col(f"{target}_{algorithm}_score"))
                        .withColumn(f"{target}_decile", F.col(f"{target}_{algorithm}_decile")))
        out = out.join(wide, S.USER_ID, "left")
    if uplift is not None:
        mean_order = features.agg(F.avg("avg_order_value")).first()[0]
        worth = F.coalesce(*([F.col("expected_order_value")] if value is not None else []),
                           F.col("avg_order_value"), F.lit(mean_order).cast("double"))
        out = out.join(uplift.select(S.USER_ID, "uplift", "uplift_decile"), S.USER_ID, "left").withColumn(
            "expected_gain", F.col("uplift") * worth - F.lit(contact_cost))
    return out.withColumn(MONETARY_MEDIAN, F.lit(monetary_median).cast("double"))


class MissingAttributesError(MissingTableError):
    """A campaign's rule uses attributes (segments, scores) that no table provides for the run date."""

    def __init__(self, campaign: str, attributes: list[str], job: str):
        self.attributes = attributes
        self.why = f"it uses {attributes}, which no table provides for the run date"
        super().__init__(f"campaign '{campaign}' uses {attributes}, which no table provides for the run date: run "
                         f"`tailor {job}` for that date first")


def condition(attrs: DataFrame, c: Campaign) -> Column:
    """The campaign's rule as a column, checked by :mod:`tailor.sandbox`, then against the attributes.

    Raises:
        MissingAttributesError: the rule uses attributes whose table has no rows for the run date.
        ConfigError: the rule does not parse, uses a construct outside the rule language, or a column no
            table provides.
    """
    sandbox.check(attrs.sparkSession, c.rule, c.name)
    try:
        cond = F.coalesce(F.expr(c.rule).cast("boolean"), F.lit(False))
        attrs.select(cond).schema  # noqa: B018 - analyses the expression now, not in the middle of the build
    except AnalysisException as e:
        words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", c.rule)) - set(attrs.columns)
        missing = sorted(w for w in words if w in _FROM_SEGMENTS or _FROM_VALUE.match(w) or _FROM_SCORES.match(w)
                         or w in UPLIFT_ATTRIBUTES)
        if missing:
            job = ("segments" if set(missing) <= _FROM_SEGMENTS
                   else "clv" if all(_FROM_VALUE.match(w) for w in missing)
                   else "uplift" if set(missing) <= set(UPLIFT_ATTRIBUTES) else "score-propensity")
            raise MissingAttributesError(c.name, missing, job) from None
        raise ConfigError(f"campaign '{c.name}': rule {c.rule!r} is not valid over the customer attributes: "
                          f"{str(e).splitlines()[0][:300]}") from None
    if c.segment is not None:
        cond = cond & (F.col(S.SEGMENT) == F.lit(c.segment))
    return cond


def qualify(attrs: DataFrame, campaigns: list[Campaign]) -> DataFrame:
    """(user_id, campaign, priority) for every campaign each customer qualifies for."""
    parts = [attrs.where(condition(attrs, c)).select(
        S.USER_ID, F.lit(c.name).alias(S.CAMPAIGN), F.lit(c.priority).alias("priority")) for c in campaigns]
    return reduce(DataFrame.unionByName, parts)


def over_cap(history: DataFrame | None, run_date, settings: CampaignSettings, todays: list[str]) -> DataFrame | None:
    """Customers who may not be contacted on ``run_date`` (see step 4 of the module docstring)."""
    if history is None:
        return None
    first = F.date_sub(F.lit(run_date), settings.cap_days - 1)
    d = F.col(S.SENT_DATE)
    counted = history.where(
        (F.col(S.ARM) != S.CONTROL) & (d >= first)
        & ((d < F.lit(run_date)) | ((d == F.lit(run_date)) & ~F.col(S.CAMPAIGN).isin(todays))))
    return (counted.groupBy(S.USER_ID).count()
            .where(F.col("count") >= settings.max_contacts).select(S.USER_ID))


def pick(qualified: DataFrame) -> DataFrame:
    """One campaign per customer: the lowest priority number, then the name."""
    w = Window.partitionBy(S.USER_ID).orderBy(F.col("priority"), F.col(S.CAMPAIGN))
    return qualified.withColumn("_n", F.row_number().over(w)).where("_n = 1").drop("_n")


def top_offers(recommendations: DataFrame, most: int) -> DataFrame:
    """(user_id, items in rank order, the first item's reason) from the run date's recommendations."""
    ranked = (recommendations.where(F.col(S.RANK) <= most)
              .groupBy(S.USER_ID)
              .agg(F.sort_array(F.collect_list(F.struct(S.RANK, S.ITEM_ID, S.REASON))).alias("_o")))
    return ranked.select(S.USER_ID, F.transform("_o", lambda x: x[S.ITEM_ID]).alias("_items"),
                         F.col("_o")[0][S.REASON].alias("_why"))


def _per_campaign(campaigns: list[Campaign], value) -> Column:
    """A column holding ``value(c)`` (a column, or a literal value) for the row's campaign."""
    col = None
    for c in campaigns:
        this, v = F.col(S.CAMPAIGN) == c.name, value(c)
        v = v if isinstance(v, Column) else F.lit(v)
        col = F.when(this, v) if col is None else col.when(this, v)
    return col


def assign(chosen: DataFrame, campaigns: list[Campaign], offers: DataFrame | None, salt: str) -> DataFrame:
    """Arms, offers and reasons for the chosen (user_id, campaign, priority) rows, in contract shape less
    run_date. In a campaign with offers, customers with no offer are dropped here (the caller counts them);
    a campaign with ``offers: 0`` keeps everyone, with an empty offer list. ``offers`` may be None when no
    campaign has offers."""
    arm = _per_campaign(campaigns, lambda c: H.arms(salt, c.key, c.arms, S.USER_ID))
    n_offers = _per_campaign(campaigns, lambda c: c.offers)
    rule = _per_campaign(campaigns, lambda c: c.rule if c.segment is None else f"{c.rule}, segment {c.segment}")
    if offers is None:
        offers = chosen.sparkSession.createDataFrame([], f"{S.USER_ID} string, _items array<string>, _why string")
    why = F.when(n_offers > 0, F.concat(F.lit("; first offer: "), F.coalesce(F.col("_why"), F.lit("recommended"))))
    reason = F.concat(F.col(S.CAMPAIGN), F.lit(" ("), rule, F.lit(")"), F.coalesce(why, F.lit("")))
    joined = chosen.join(offers, S.USER_ID, "left").where((n_offers == 0) | F.col("_items").isNotNull())
    return joined.select(
        F.col(S.CAMPAIGN), F.col(S.USER_ID),
        F.array_compact(F.when(n_offers == 0, F.array().cast("array<string>"))  # compact: no null elements
                        .otherwise(F.slice("_items", 1, n_offers))).alias(S.OFFERS),
        reason.alias(S.REASON), arm.alias(S.ARM), F.col("priority").cast("int").alias("priority"))
