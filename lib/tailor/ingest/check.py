"""``tailor check-source``: the first rows of a source through its mapping and validation, and a profile of
what they hold, without writing anything.

:func:`check` lands at most ``rows`` rows of each entity, standardises and validates them exactly as ingest
does, and returns a :class:`SourceCheck`: each contract column with example values, the rejected rows per
reason, a profile of the accepted events, and warnings naming the jobs a shape of data affects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from tailor import quarantine as Q
from tailor import schemas as S
from tailor.ingest import validate as V
from tailor.ingest.sources import ADAPTERS, ENTITY_COLUMNS, SourceInputs
from tailor.settings import IngestSettings

EXAMPLES = 3


@dataclass
class EntityCheck:
    rows: int
    accepted: int
    rejected: dict[str, int]
    examples: dict[str, list[str]]
    """contract column -> up to three distinct accepted values (as text); empty when never given."""


@dataclass
class SourceCheck:
    entities: dict[str, EntityCheck] = field(default_factory=dict)
    profile: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _validated(entity: str, df: DataFrame, run_date: date, settings: IngestSettings, secret: bytes) -> DataFrame:
    limits = V.Limits.of(settings)
    if entity == "events":
        return df.transform(V.validate_events(run_date, settings.future_tolerance_hours, settings.rating_min,
                                              settings.rating_max, limits=limits, dedupe=settings.dedupe,
                                              free_items=settings.free_items))
    if entity == "customers":
        return df.transform(V.validate_customers(run_date, secret, limits))
    return df.transform(V.validate_products(limits))


def check(spark: SparkSession, inputs: SourceInputs, run_date: date, rows: int, settings: IngestSettings,
          secret: bytes) -> SourceCheck:
    """Check the first ``rows`` rows of each entity of ``inputs.source`` (see the module docstring).

    Raises:
        ConfigError: a mapping names a column the file lacks, or an expression outside the language.
        SourceError: a file is missing or unreadable.
    """
    adapter = ADAPTERS[inputs.source]
    landed = {e: df.limit(rows) for e, df in adapter.land(spark, inputs, run_date).items()}
    standard = adapter.standardize(landed, inputs)
    out = SourceCheck()
    flagged = {e: _validated(e, df, run_date, settings, secret).cache() for e, df in standard.items()}
    try:
        for entity, df in flagged.items():
            counts = {r[Q.REASON]: r["count"] for r in df.groupBy(Q.REASON).count().collect()}
            ok = df.where(F.col(Q.REASON).isNull())
            examples = {}
            for c in ENTITY_COLUMNS[entity]:
                if c in ok.columns:
                    vals = [r[0] for r in ok.where(F.col(c).isNotNull()).select(F.col(c).cast("string"))
                            .distinct().limit(EXAMPLES).collect()]
                    examples[c] = sorted(v if len(v) <= 40 else v[:37] + "..." for v in vals)
            out.entities[entity] = EntityCheck(sum(counts.values()), counts.get(None, 0),
                                               dict(sorted((k, v) for k, v in counts.items() if k is not None)),
                                               examples)
        events = flagged["events"]
        out.profile, out.warnings = _profile(standard["events"], events.where(F.col(Q.REASON).isNull()),
                                             out.entities["events"], inputs)
    finally:
        for df in flagged.values():
            df.unpersist()
    return out


def _profile(standard: DataFrame, ok: DataFrame, events: EntityCheck, inputs: SourceInputs
             ) -> tuple[dict[str, float], list[str]]:
    n = standard.count()
    nulls = standard.agg(
        F.sum(F.when(Q.blank(F.col(S.USER_ID)), 1).otherwise(0)).alias("u"),
        F.sum(F.when(Q.blank(F.col(S.ITEM_ID)), 1).otherwise(0)).alias("i")).first()
    p = ok.agg(
        F.countDistinct(S.USER_ID).alias("users"), F.countDistinct(S.ITEM_ID).alias("items"),
        F.countDistinct(S.ORDER_ID).alias("orders"), F.countDistinct(F.to_date(S.TS)).alias("days"),
        F.count(S.ORDER_ID).alias("order_lines"), F.count(F.lit(1)).alias("accepted")).first()
    profile = {
        "distinct_users": p["users"], "distinct_items": p["items"], "distinct_orders": p["orders"],
        "distinct_days": p["days"],
        "events_per_order": round(p["order_lines"] / p["orders"], 2) if p["orders"] else 0.0,
        "share_null_user": round((nulls["u"] or 0) / n, 4) if n else 0.0,
        "share_null_item": round((nulls["i"] or 0) / n, 4) if n else 0.0,
    }
    warnings = []
    if p["accepted"] and p["days"] == 1:
        warnings.append("all events fall on one day: every customer's recency is the same, RFM thresholds "
                        "collapse (features, segments), evaluate has no time window (it falls back to a random "
                        "split) and propensity has no future to label (train-propensity)")
    if profile["share_null_user"] == 1.0:
        warnings.append("no user ids: every event is quarantined; map user_id (an order id, if each basket "
                        "stands for a customer)")
    elif p["users"] and p["users"] == p["orders"] and p["order_lines"] == p["accepted"]:
        warnings.append("each user has exactly one order: user ids may be order ids; user-CF, segments, "
                        "propensity and campaigns see one-order customers")
    if p["accepted"] and p["items"] == 1:
        warnings.append("one product: content, cf, als, rules and recommendations have nothing to choose "
                        "between (they will be not applicable or trivial)")
    shared = ok.where(F.col(S.ORDER_ID).isNotNull()).groupBy(S.ORDER_ID) \
        .agg(F.countDistinct(S.USER_ID).alias("n")).where("n > 1")
    shared_n = shared.count()
    if shared_n:
        example = shared.orderBy(F.desc("n"), S.ORDER_ID).first()
        warnings.append(f"{shared_n} order id(s) are shared across users (order {example[S.ORDER_ID]} has "
                        f"{example['n']} users): baskets for rules and similarity merge different customers; "
                        "map order_id to something unique per order (concat(user, '-', date))")
    dupes = events.rejected.get(Q.DUPLICATE, 0)
    e = getattr(inputs.sources.csv, "events", None) if inputs.source == "csv" else None
    if dupes and e is not None and S.EVENT_ID not in e.mapping:
        warnings.append(f"{dupes} row(s) repeat another row exactly and the file has no event ids: they are "
                        "quarantined as duplicate; if repeats are genuine (two identical orders), set "
                        "ingest.dedupe=off")
    return profile, warnings
