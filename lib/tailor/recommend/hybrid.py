"""The hybrid: every source's candidates, normalised per user, blended with weights, filtered, explained.

1. **Normalise** each source's scores per user: ``rank`` -> ``(n - rank + 1) / n`` over the user's list of
   ``n`` (1 for the first, whatever the scale of the source's scores), or ``minmax`` -> ``(s - min) / (max -
   min)`` (1 when all are equal).
2. **Blend**: ``score = Σ_s w_s · norm_s`` (a source that did not propose the item adds 0). The source with
   the largest ``w_s · norm_s`` is the item's ``source`` and lends its ``anchor``.
3. **Cold start**: ties (a user nobody but popularity knows scores 0 everywhere when popularity weighs 0)
   are broken by the popularity candidate's normalised score, then the item id: a new user still gets their
   segment's or country's best sellers, in order.
4. **Filters**: items the user already bought and items not in the catalogue are removed; at most
   ``max_per_category`` per category (items with no category are not capped); ``top_n`` kept.

Weights are learned on a validation window by :func:`search_weights`: the seeds' rule (``w_s = e_s / Σ e``,
``e`` the source's own nDCG) and each source alone are scored, and a coordinate search over ``grid`` from
the best of them keeps any change that raises the blend's nDCG@k. All settings of one step are scored in a
single Spark job.

Summing sources favours the items several of them propose, which are the popular ones, so a blend tends to
cover less of the catalogue than its best source. Two things keep coverage: a ``novelty`` term (each
candidate's self-information, min-max normalised over the user's candidates) that the search can weigh like
a source, and a coverage floor: a setting is only accepted when its coverage@k is at least ``floor`` (the
best single source's), and while none is, the search climbs coverage first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import reduce

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.evaluation.ranking import ndcg_gain
from tailor.recommend.hybrid_local import SERVED, Wide, score_settings, serve_group, wide_arrays
from tailor.similarity.local import LOCAL_MAX_ROWS, group_count, group_of, partition_keys

NORM, REASON = "norm", "reason"
FALLBACK_SOURCE = "popular"
NOVELTY = "novelty"
"""The pseudo-source of the novelty term: it adds to the score, never names the source or the anchor."""

_REASONS = {  # source -> (with an anchor, without one)
    "item_cf": ("customers who liked {anchor} also liked this", "customers with your taste liked this"),
    "content": ("similar to {anchor}", "matches what you browse"),
    "rules": ("frequently bought with {anchor}", "frequently bought together"),
    "als": (None, "picked for you"),
    "user_cf": (None, "customers like you bought this"),
    "trending": (None, "trending now"),
}


def normalised(cands: DataFrame, method: str = "rank") -> DataFrame:
    """``cands`` (user_id, item_id, score, rank, anchor, source) with ``norm`` in [0, 1] per user and source."""
    w = Window.partitionBy(S.USER_ID, S.SOURCE)
    if method == "rank":
        n = F.count(F.lit(1)).over(w)
        norm = (n - F.col(S.RANK) + 1) / n
    elif method == "minmax":
        lo, hi = F.min(S.SCORE).over(w), F.max(S.SCORE).over(w)
        norm = F.when(hi > lo, (F.col(S.SCORE) - lo) / (hi - lo)).otherwise(F.lit(1.0))
    else:
        raise ValueError(f"unknown normalisation {method!r}: rank or minmax")
    return cands.withColumn(NORM, norm.cast("double"))


def item_information(pairs: DataFrame) -> DataFrame:
    """item_id, info: the self-information ``-log2((n_i + 1) / (N + 1))`` of each item, from distinct
    (user_id, item_id) pairs (``n_i`` users touched the item, ``N`` users in all)."""
    pairs = pairs.select(S.USER_ID, S.ITEM_ID).distinct()
    per_item = pairs.groupBy(S.ITEM_ID).agg(F.count(F.lit(1)).alias("_item_users"))
    total = pairs.agg(F.countDistinct(S.USER_ID).alias("_all_users"))  # Spark names are case-insensitive
    return per_item.crossJoin(total).select(  # total is one row
        S.ITEM_ID, (-F.log2((F.col("_item_users") + 1.0) / (F.col("_all_users") + 1.0))).alias("info"))


def with_novelty(norm: DataFrame, info: DataFrame) -> DataFrame:
    """``norm`` plus one ``novelty`` row per (user, candidate item): the item's self-information, min-max
    normalised over the user's candidates (1 for an item absent from ``info``: nobody touched it)."""
    cands = norm.select(S.USER_ID, S.ITEM_ID).distinct().join(info, S.ITEM_ID, "left")
    w = Window.partitionBy(S.USER_ID)
    lo, hi = F.min("info").over(w), F.max("info").over(w)
    value = F.when(F.col("info").isNull(), F.lit(1.0)).when(hi > lo, (F.col("info") - lo) / (hi - lo)).otherwise(
        F.lit(1.0))
    rows = cands.select(S.USER_ID, S.ITEM_ID, F.col("info").alias(S.SCORE), F.lit(None).cast("int").alias(S.RANK),
                        F.lit(None).cast("string").alias(S.ANCHOR), F.lit(NOVELTY).alias(S.SOURCE),
                        value.cast("double").alias(NORM))
    return norm.unionByName(rows, allowMissingColumns=True)  # other columns (run_date...) null on these rows


def blend(norm: DataFrame, weights: Mapping[str, float]) -> DataFrame:
    """One row per (user, item): ``score`` (the blend), ``fallback`` (popularity's norm, 0 without),
    ``source`` and ``anchor`` of the largest contribution."""
    wmap = F.create_map(*[x for s, v in sorted(weights.items()) for x in (F.lit(s), F.lit(float(v)))])
    contrib = norm.where(F.col(S.SOURCE).isin(list(weights))).withColumn(
        "_c", F.coalesce(wmap[F.col(S.SOURCE)], F.lit(0.0)) * F.col(NORM)
    )
    return contrib.groupBy(S.USER_ID, S.ITEM_ID).agg(
        F.sum("_c").alias(S.SCORE),
        F.max(F.when(F.col(S.SOURCE) == FALLBACK_SOURCE, F.col(NORM))).alias("fallback"),
        F.min_by(F.struct(S.SOURCE, S.ANCHOR),
                 F.when(F.col(S.SOURCE) != NOVELTY, F.struct(-F.col("_c"), F.col(S.SOURCE)))).alias("_top"),
    ).select(
        S.USER_ID, S.ITEM_ID, S.SCORE, F.coalesce("fallback", F.lit(0.0)).alias("fallback"),
        F.col(f"_top.{S.SOURCE}").alias(S.SOURCE), F.col(f"_top.{S.ANCHOR}").alias(S.ANCHOR),
    )


def reason(source: F.Column, anchor: F.Column) -> F.Column:
    """A short, human reason from the top source and its anchor, e.g. ``similar to P000123``,
    ``popular in DE``."""
    after = F.substring_index(anchor, ":", -1)
    out = (
        F.when(anchor.startswith("segment:"), F.lit("popular with customers like you"))
        .when(anchor.startswith("country:"), F.concat(F.lit("popular in "), after))
        .otherwise(F.lit("popular now"))
    )
    out = F.when(source == FALLBACK_SOURCE, out).otherwise(F.lit(None).cast("string"))
    for s, (with_anchor, without) in _REASONS.items():
        value = F.lit(without)
        if with_anchor is not None:
            head, tail = with_anchor.split("{anchor}")
            value = F.when(anchor.isNotNull(), F.concat(F.lit(head), anchor, F.lit(tail))).otherwise(value)
        out = F.when(source == s, value).otherwise(out)
    return out


def finalise(blended: DataFrame, bought: DataFrame, catalogue: DataFrame, top_n: int,
             max_per_category: int | None) -> DataFrame:
    """Apply the business filters and rank: user_id, item_id, score, rank, source, anchor, reason.

    Args:
        bought: user_id, item_id the user already bought.
        catalogue: item_id, category of the items that can be sold.
    """
    kept = blended.join(bought.select(S.USER_ID, S.ITEM_ID), [S.USER_ID, S.ITEM_ID], "left_anti").join(
        catalogue.select(S.ITEM_ID, S.CATEGORY), S.ITEM_ID
    )
    order = [F.desc(S.SCORE), F.desc("fallback"), F.asc(S.ITEM_ID)]
    if max_per_category is not None:  # an item with no category is not capped: unknown is not one category
        in_cat = Window.partitionBy(S.USER_ID, S.CATEGORY).orderBy(*order)
        kept = kept.withColumn("_c", F.row_number().over(in_cat)).where(
            F.col(S.CATEGORY).isNull() | (F.col("_c") <= max_per_category))
    w = Window.partitionBy(S.USER_ID).orderBy(*order)
    return kept.withColumn(S.RANK, F.row_number().over(w)).where(F.col(S.RANK) <= top_n).select(
        S.USER_ID, S.ITEM_ID, S.SCORE, F.col(S.RANK).cast("int").alias(S.RANK), S.SOURCE, S.ANCHOR,
        reason(F.col(S.SOURCE), F.col(S.ANCHOR)).alias(REASON),
    )


RECOMMENDER = "recommender"


def serve(cands: DataFrame, bought: DataFrame, catalogue: DataFrame, settings: Mapping[str, Mapping[str, float]],
          top_n: int, max_per_category: int | None, method: str = "rank", info: DataFrame | None = None,
          local_max_rows: int = LOCAL_MAX_ROWS, rows: int | None = None) -> DataFrame:
    """Each named weight setting's served lists from raw candidates: :func:`normalised`, :func:`with_novelty`
    when ``info`` (:func:`item_information`) is given, :func:`blend` and :func:`finalise`.

    When the catalogue and ``info`` have at most ``local_max_rows`` rows each, they are sent to every task and
    each group of users is served in numpy (:mod:`tailor.recommend.hybrid_local`), every setting from one
    shuffle of the candidates; groups hold at most about ``local_max_rows`` candidates (``rows``: their count,
    counted when not given). Otherwise Spark's plan: four shuffles of every candidate row per setting.

    Returns:
        ``recommender`` (the setting's name) and :func:`finalise`'s columns.
    """
    if method not in ("rank", "minmax"):
        raise ValueError(f"unknown normalisation {method!r}: rank or minmax")
    names = list(settings)
    small = local_max_rows > 0
    if small:
        cat = catalogue.select(S.ITEM_ID, S.CATEGORY).limit(local_max_rows + 1).toPandas()
        inf = info.select(S.ITEM_ID, "info").limit(local_max_rows + 1).toPandas() if info is not None else None
        small = len(cat) <= local_max_rows and (inf is None or len(inf) <= local_max_rows)
    if not small:
        norm = normalised(cands, method)
        if info is not None:
            norm = with_novelty(norm, info)
        if len(names) > 1:
            norm = norm.checkpoint()  # read once per setting
        return reduce(DataFrame.unionByName, [
            finalise(blend(norm, w), bought, catalogue, top_n, max_per_category).select(
                F.lit(n).alias(RECOMMENDER), "*") for n, w in settings.items()])
    spark = cands.sparkSession
    # one row per catalogue item (the join it replaces would repeat a duplicated one), ids in byte order
    cat = cat.drop_duplicates(S.ITEM_ID).sort_values(S.ITEM_ID, ignore_index=True)
    categories = sorted(cat[S.CATEGORY].dropna().unique())
    cat_of = cat[S.CATEGORY].map({c: k for k, c in enumerate(categories)}).fillna(-1).to_numpy(np.int64)
    shared = [pa.array(cat[S.ITEM_ID].to_numpy(object), pa.string()), cat_of, None, None]
    if inf is not None:
        inf = inf.drop_duplicates(S.ITEM_ID).sort_values(S.ITEM_ID, ignore_index=True)
        shared[2:] = [pa.array(inf[S.ITEM_ID].to_numpy(object), pa.string()), inf["info"].to_numpy(np.float64)]
    box = spark.sparkContext.broadcast(shared)
    rows = cands.count() if rows is None else rows
    groups = max(group_count(spark), -(-rows // local_max_rows))
    parts = int(spark.conf.get("spark.sql.shuffle.partitions"))
    keys = partition_keys(spark, groups) if groups <= parts else list(range(groups))
    # fresh column names on both sides: candidates and purchases may share a lineage (ambiguous self-join)
    mine = cands.select(group_of(S.USER_ID, keys).alias("_g"), F.col(S.USER_ID).alias("_u"),
                        F.col(S.ITEM_ID).alias("_i"), F.col(S.SCORE).cast("double").alias("_score"),
                        F.col(S.RANK).cast("int").alias("_rank"), F.col(S.ANCHOR).alias("_a"),
                        F.col(S.SOURCE).alias("_s"))
    had = bought.select(group_of(S.USER_ID, keys).alias("_g"), F.col(S.USER_ID).alias("_bu"),
                        F.col(S.ITEM_ID).alias("_bi"))
    plain = [dict(settings[n]) for n in names]

    def one_group(a: pa.Table, b: pa.Table) -> pa.Table:
        cat_items, cat_codes, info_items, info_of = box.value
        return serve_group(a, b, plain, method, cat_items, cat_codes, info_items, info_of, top_n, max_per_category,
                           NOVELTY, FALLBACK_SOURCE)

    out = mine.groupBy("_g").cogroup(had.groupBy("_g")).applyInArrow(one_group, SERVED)
    return out.select(F.array(*[F.lit(n) for n in names])[F.col("_k")].alias(RECOMMENDER), S.USER_ID, S.ITEM_ID,
                      S.SCORE, S.RANK, S.SOURCE, S.ANCHOR, reason(F.col(S.SOURCE), F.col(S.ANCHOR)).alias(REASON))


def seeds_rule(effects: Mapping[str, float]) -> dict[str, float]:
    """``w_s = e_s / Σ e``; equal weights when no source has any effect."""
    total = sum(max(e, 0.0) for e in effects.values())
    if total <= 0:
        return {s: 1.0 / len(effects) for s in effects} if effects else {}
    return {s: max(e, 0.0) / total for s, e in effects.items()}


@dataclass(frozen=True)
class Scorer:
    """Validation candidates in the one shape that every weight setting is scored from: one row per (user,
    candidate item) with each source's ``norm`` as a column, the item's category, whether it is relevant and
    the user's number of relevant items. Built once per search (:func:`scorer`): collected as arrays
    (:attr:`local`) when small, so that a batch of settings is scored in numpy with no Spark job; otherwise
    partitioned by user and checkpointed, so that scoring a batch of settings is a broadcast cross join and
    two sorts within partitions: no shuffle but the final aggregate."""

    wide: DataFrame | None
    sources: tuple[str, ...]
    n_users: int
    k: int
    max_per_category: int | None
    local: Wide | None = None
    """The local plan: ``wide`` collected (:func:`tailor.recommend.hybrid_local.wide_arrays`)."""

    def score(self, settings: Sequence[Mapping[str, float]]) -> list[tuple[float, int]]:
        """(mean nDCG@k over the validation users, distinct items in the top k of all users) of the blend
        under each setting, all settings in one job (or in numpy on the driver, with :attr:`local`); with
        ``max_per_category``, the category cap of :func:`finalise` applies first, so that what is scored is
        what would be served."""
        if self.local is not None:
            return score_settings(self.local, settings, self.k, self.max_per_category, self.n_users,
                                  FALLBACK_SOURCE)
        sources = sorted({x for w in settings for x in w} & set(self.sources))  # others propose nothing
        spark = self.wide.sparkSession
        rows = [(i, *[float(w.get(x, 0.0)) for x in sources], *[x in w for x in sources])
                for i, w in enumerate(settings)]
        wdf = spark.createDataFrame(rows, ", ".join(
            ["_w int", *[f"`_w_{x}` double" for x in sources], *[f"`_in_{x}` boolean" for x in sources]]))
        # as in blend(): a candidate is in a setting's list when a source named in the setting proposed it,
        # and popularity breaks ties only when it is named
        named = reduce(lambda a, b: a | b, [F.col(x).isNotNull() & F.col(f"_in_{x}") for x in sources], F.lit(False))
        score = sum((F.coalesce(F.col(x), F.lit(0.0)) * F.col(f"_w_{x}") for x in sources), F.lit(0.0))
        fallback = (F.when(F.col(f"_in_{FALLBACK_SOURCE}"), F.coalesce(F.col(FALLBACK_SOURCE), F.lit(0.0)))
                    .otherwise(F.lit(0.0)) if FALLBACK_SOURCE in sources else F.lit(0.0))
        scored = self.wide.crossJoin(F.broadcast(wdf)).where(named).select(
            "_w", S.USER_ID, S.ITEM_ID, S.CATEGORY, "_rel", "_n", score.alias("_s"), fallback.alias("_f"))
        order = [F.desc("_s"), F.desc("_f"), F.asc(S.ITEM_ID)]
        if self.max_per_category is not None:
            in_cat = Window.partitionBy(S.USER_ID, "_w", S.CATEGORY).orderBy(*order)
            scored = scored.withColumn("_c", F.row_number().over(in_cat)).where(
                F.col(S.CATEGORY).isNull() | (F.col("_c") <= self.max_per_category))
        w = Window.partitionBy(S.USER_ID, "_w").orderBy(*order)
        top = scored.withColumn(S.RANK, F.row_number().over(w)).where(F.col(S.RANK) <= self.k)
        gain = F.when(F.col("_rel"), ndcg_gain(F.col(S.RANK), F.col("_n"), F.lit(self.k), self.k))
        per_setting = top.groupBy("_w").agg(F.sum(gain).alias("_g"), F.countDistinct(S.ITEM_ID).alias("_items"))
        got = {r["_w"]: (r["_g"] or 0.0, r["_items"]) for r in per_setting.collect()}  # one row per setting
        return [(float(got.get(i, (0.0, 0))[0]) / self.n_users if self.n_users else 0.0,
                 int(got.get(i, (0.0, 0))[1])) for i in range(len(settings))]


def scorer(norm: DataFrame, truth: DataFrame, k: int, categories: DataFrame | None = None,
           max_per_category: int | None = None, local_max_rows: int = LOCAL_MAX_ROWS) -> Scorer:
    """The :class:`Scorer` of ``norm`` (:func:`normalised` candidates, novelty rows included) against
    ``truth`` (user_id, item_id) at ``k``; ``categories`` (item_id, category) for the category cap.

    Up to ``local_max_rows`` (user, candidate) rows are collected once and every setting is scored in numpy
    on the driver (the search's rows are bounded by ``hybrid.search_users``); more are scored by Spark."""
    sources = tuple(sorted(r[0] for r in norm.select(S.SOURCE).distinct().collect()))  # one row per source
    rel = truth.select(S.USER_ID, S.ITEM_ID).distinct()
    n_rel = rel.groupBy(S.USER_ID).agg(F.count(F.lit(1)).alias("_n"))
    wide = norm.groupBy(S.USER_ID, S.ITEM_ID).pivot(S.SOURCE, list(sources)).agg(F.first(NORM))  # null: absent
    wide = wide.join(rel.withColumn("_rel", F.lit(True)), [S.USER_ID, S.ITEM_ID], "left").join(
        n_rel, S.USER_ID, "left")
    if categories is not None and max_per_category is not None:
        wide = wide.join(categories.select(S.ITEM_ID, S.CATEGORY), S.ITEM_ID, "left")
    else:
        wide = wide.withColumn(S.CATEGORY, F.lit(None).cast("string"))
    if local_max_rows > 0:
        got = wide.select(S.USER_ID, S.ITEM_ID, S.CATEGORY, "_rel", "_n", *sources).limit(
            local_max_rows + 1).toArrow()
        if got.num_rows <= local_max_rows:
            return Scorer(None, sources, n_rel.count(), k, max_per_category, wide_arrays(got, sources))
    spark = norm.sparkSession
    parts = int(spark.conf.get("spark.sql.shuffle.partitions"))
    wide = wide.repartition(parts, S.USER_ID).checkpoint()  # windows by user then need no shuffle
    return Scorer(wide, sources, n_rel.count(), k, max_per_category)


@dataclass(frozen=True)
class Tried:
    """One weight setting scored on validation."""

    weights: dict[str, float]
    ndcg: float
    items: int
    """Distinct items in the top k of all users (coverage@k times the catalogue size)."""
    how: str
    floor: int = 0
    """The coverage floor (items) of the search that tried it."""


def _key(t: tuple[float, int], floor: int) -> tuple[bool, float]:
    """Feasible settings (coverage at the floor) first, by nDCG; below the floor, by coverage."""
    ndcg, items = t
    return (True, ndcg) if items >= floor else (False, float(items))


def best(tried: Sequence[Tried], floor: int) -> Tried:
    """The setting :func:`search_weights` settles on: the highest nDCG among those with coverage at the
    floor (if none reach it, the highest coverage), earliest on ties."""
    return max(tried, key=lambda t: _key((t.ndcg, t.items), floor))


def search_weights(scorer_: Scorer, effects: Mapping[str, float], grid: Sequence[float], rounds: int,
                   floor: int = 0, extra: Sequence[str] = (),
                   alone: Mapping[str, tuple[float, int]] | None = None) -> list[Tried]:
    """Coordinate search over ``grid`` (plus weight 0 for each of ``extra``, e.g. the novelty term).

    It starts from the better of the seeds' rule and each source alone (``alone``: source -> (nDCG, items),
    already scored by ``scorer_``), so the winner is never worse on validation than the best single source.
    Returns every setting scored, the first being the seeds' rule; :func:`best` picks the winner."""
    zero = {x: 0.0 for x in extra}
    seeds = {**seeds_rule(effects), **zero}
    now = scorer_.score([seeds])[0]
    tried = [Tried(dict(seeds), now[0], now[1], "seeds_rule", floor)]
    for s, (ndcg, items) in sorted((alone or {}).items()):
        tried.append(Tried({**{x: 0.0 for x in effects}, **zero, s: 1.0}, ndcg, items, f"{s} alone", floor))
    start = best(tried, floor)
    current, now = dict(start.weights), (start.ndcg, start.items)
    for r in range(rounds):
        changed = False
        for s in sorted(current):
            options = [{**current, s: float(g)} for g in grid if not math.isclose(g, current[s])]
            options = [o for o in options if any(v > 0 for x, v in o.items() if x not in extra)]
            if not options:
                continue
            scores = scorer_.score(options)
            tried += [Tried(o, v[0], v[1], f"round {r + 1}: {s}", floor) for o, v in zip(options, scores, strict=True)]
            i = max(range(len(options)), key=lambda j: _key(scores[j], floor))
            if _key(scores[i], floor) > _key(now, floor) and (
                    not _key(now, floor)[0] or scores[i][0] > now[0] + 1e-12):
                current, now, changed = options[i], scores[i], True
        if not changed:
            break
    return tried
