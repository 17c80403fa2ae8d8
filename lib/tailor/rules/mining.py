"""Frequent itemsets and association rules with Spark ML's FPGrowth, behind a guard against explosion.

**Baskets** (:func:`baskets`): the distinct items of each order (FPGrowth rejects a basket with a repeated
item), purchase lines only (returns and cancellations never enter), excluded codes removed. A basket left
empty is dropped; one with more than ``max_basket_size`` items (wholesale and bulk orders, whose subsets
explode the lattice) is left out of mining. Items in fewer than ``min_item_baskets`` baskets can be pruned
first. Both counts are reported.

**Guard** (:func:`guard`). Before mining at support ``s`` (``c = ⌈s·N⌉`` baskets of ``N``) it computes,
exactly and distributed: the frequent items ``f``, each basket's number of frequent items ``m_b`` (as a
histogram), and the frequent pairs ``P`` (a self-join inside baskets, whose work ``Σ C(m_b, 2)`` is itself
checked first against ``max_pair_work``). These give an upper bound on the number of frequent itemsets:

- a frequent k-itemset lies in at least ``c`` baskets, and basket b holds ``C(m_b, k)`` k-subsets, so there
  are at most ``Σ_b C(m_b, k) / c`` of them;
- every pair inside a frequent itemset is a frequent pair, so a frequent k-itemset is a k-clique of the
  graph of frequent pairs; with ``P = C(x, 2)`` edges there are at most ``C(x, k)`` k-cliques
  (Kruskal–Katona, in Lovász's form);
- none is longer than the largest k for which ``c`` baskets hold k frequent items.

When the bound is under ``max_itemsets`` mining is safe. When it is not (the bound can be loose), the guard
counts the itemsets FPGrowth finds at safe higher supports ``2^j·s`` and ``2^(j+1)·s`` (one mining at the
lower of the two: the other's itemsets are those whose count reaches its min count), extrapolates their
growth per halving down to ``s``, and stops with a message naming the setting to raise if the estimate is
over the limit. After mining, the real count is checked too.

**Rules** come from FPGrowthModel.associationRules (distributed; single-item consequents), filtered by
``min_confidence`` and ``min_lift``, with leverage ``supp(AC) - supp(A)·supp(C)`` and conviction
``(1 - supp(C)) / (1 - conf)`` (infinite when conf = 1) added: ``supp(C) = conf / lift`` and
``supp(A) = supp(AC) / conf`` follow from what Spark reports.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from pyspark import StorageLevel
from pyspark.ml.fpm import FPGrowth
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.errors import TailorError

log = logging.getLogger(__name__)

ITEMS, BASKET = "items", "basket_id"
ANTECEDENT, CONSEQUENT = "antecedent", "consequent"


class ItemsetExplosionError(TailorError):
    """Mining at the configured support would produce more itemsets than ``rules.max_itemsets`` allows."""


@dataclass
class BasketStats:
    baskets: int = 0
    oversize: int = 0
    """Baskets left out of mining for having more than max_basket_size items."""
    empty: int = 0
    """Orders with no item left once excluded codes and returns are removed."""
    pruned_items: int = 0
    items: int = 0
    """Items in the mined baskets (the sum of their sizes): what FPGrowth's trees are built from."""


def baskets(lines: DataFrame, max_basket_size: int, exclude_items: Sequence[str] = (),
            min_item_baskets: int = 0) -> tuple[DataFrame, BasketStats]:
    """``lines`` (order_id, item_id) of purchases -> (basket_id, items: sorted distinct array), persisted,
    and the counts of what was left out.

    An order whose lines all were excluded counts as empty (``lines`` may carry null item ids for them)."""
    clean = lines.select(F.col(S.ORDER_ID).alias(BASKET), S.ITEM_ID).where(F.col(BASKET).isNotNull())
    kept_item = F.col(S.ITEM_ID).isNotNull()
    if exclude_items:
        kept_item = kept_item & ~F.col(S.ITEM_ID).isin(list(exclude_items))
    per_order = clean.groupBy(BASKET).agg(
        F.array_sort(F.collect_set(F.when(kept_item, F.col(S.ITEM_ID)))).alias(ITEMS))
    stats = BasketStats()
    if min_item_baskets > 1:
        exploded = per_order.select(BASKET, F.explode(ITEMS).alias(S.ITEM_ID))
        rare = exploded.groupBy(S.ITEM_ID).agg(F.count(F.lit(1)).alias("_n")).where(
            F.col("_n") < min_item_baskets).select(S.ITEM_ID)
        stats.pruned_items = rare.count()
        kept = exploded.join(rare, S.ITEM_ID, "left_anti").groupBy(BASKET).agg(
            F.array_sort(F.collect_list(S.ITEM_ID)).alias(ITEMS))
        per_order = per_order.select(BASKET).join(kept, BASKET, "left").select(
            BASKET, F.coalesce(ITEMS, F.array().cast("array<string>")).alias(ITEMS))
    sized = per_order.withColumn("_size", F.size(ITEMS)).persist(StorageLevel.MEMORY_AND_DISK)
    counts = sized.agg(
        F.count(F.lit(1)).alias("all"),
        F.sum((F.col("_size") == 0).cast("long")).alias("empty"),
        F.sum((F.col("_size") > max_basket_size).cast("long")).alias("oversize"),
        F.sum(F.when(F.col("_size") <= max_basket_size, F.col("_size")).otherwise(0)).alias("items"),
    ).first()
    stats.empty, stats.oversize = int(counts["empty"] or 0), int(counts["oversize"] or 0)
    stats.items = int(counts["items"] or 0)
    stats.baskets = int(counts["all"]) - stats.empty - stats.oversize
    out = sized.where((F.col("_size") > 0) & (F.col("_size") <= max_basket_size)).select(BASKET, ITEMS).persist(
        StorageLevel.MEMORY_AND_DISK)
    out.count()
    sized.unpersist()
    return out, stats


@dataclass
class Estimate:
    min_count: int
    frequent_items: int = 0
    frequent_pairs: int | None = 0
    """None when the pairs were not counted: the bound cleared the limit without them, or (:func:`estimates`)
    the lowest support's pairs were over ``max_pair_work``."""
    pair_work: int = 0
    max_length: int = 0
    bound: float = 0.0
    """Upper bound on the number of frequent itemsets."""
    histogram: dict[int, int] = field(default_factory=dict)
    """m -> number of baskets with m frequent items."""
    counted: dict[float, int] = field(default_factory=dict)
    """When the bound was over the limit: support -> frequent itemsets mined there, at the two supports the
    guard extrapolated from."""
    guess: float | None = None
    """The extrapolated number of frequent itemsets at the support asked for."""


def _comb_real(x: float, k: int) -> float:
    """C(x, k) for real x >= 0, taken as 0 below k - 1 and 1 between k - 1 and k (an upper bound there)."""
    if x < k:
        return 0.0 if x < k - 1 else 1.0
    try:
        return math.exp(math.lgamma(x + 1) - math.lgamma(k + 1) - math.lgamma(x - k + 1))
    except OverflowError:
        return math.inf


def itemset_bound(min_count: int, frequent_items: int, frequent_pairs: int, histogram: dict[int, int]) -> tuple[
        float, int]:
    """(upper bound on the frequent itemsets, longest possible itemset) from the quantities in the module
    docstring."""
    if frequent_items == 0:
        return 0.0, 0
    at_least = 0
    longest = 0
    for m in sorted(histogram, reverse=True):
        at_least += histogram[m]
        if at_least >= min_count:
            longest = m
            break
    x = (1.0 + math.sqrt(1.0 + 8.0 * frequent_pairs)) / 2.0
    bound = float(frequent_items + frequent_pairs)
    for k in range(3, longest + 1):
        incidence = sum(n * math.comb(m, k) for m, n in histogram.items() if m >= k) / min_count
        bound += min(_comb_real(x, k), incidence)
        if math.isinf(bound):
            break
    return bound, longest


def estimate(bask: DataFrame, n_baskets: int, min_support: float, max_pair_work: int,
             max_itemsets: int = 0) -> Estimate:
    """The exact quantities of the guard and the bound, at ``min_support``, all computed distributed. The
    frequent pairs are counted only when the bound without them (every pair of frequent items taken as
    frequent) is over ``max_itemsets``; otherwise ``frequent_pairs`` is None."""
    return estimates(bask, n_baskets, [min_support], max_pair_work, max_itemsets)[0]


def estimates(bask: DataFrame, n_baskets: int, supports: Sequence[float], max_pair_work: int,
              max_itemsets: int = 0) -> list[Estimate]:
    """:func:`estimate` at each of ``supports`` (ascending), from the Spark jobs of the lowest: an item frequent
    at a higher support is frequent at the lowest, so one join of the baskets with the lowest's frequent items
    and their counts gives every support's histogram, and one pair pass every support's frequent pairs."""
    cs = [max(1, math.ceil(s * n_baskets - 1e-9)) for s in supports]
    out = [Estimate(min_count=c) for c in cs]
    exploded = bask.select(BASKET, F.explode(ITEMS).alias(S.ITEM_ID))
    # one row per frequent item, read twice (the join below, the item counts): kept, not aggregated again
    frequent = exploded.groupBy(S.ITEM_ID).agg(F.count(F.lit(1)).alias("_n")).where(
        F.col("_n") >= cs[0]).persist(StorageLevel.MEMORY_AND_DISK)
    kept = exploded.join(F.broadcast(frequent), S.ITEM_ID).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        per_basket = kept.groupBy(BASKET).agg(*[F.sum((F.col("_n") >= c).cast("long")).alias(f"_m{j}")
                                                for j, c in enumerate(cs)])
        levels = per_basket.select(F.explode(F.array(*[F.struct(F.lit(j).alias("j"), F.col(f"_m{j}").alias("m"))
                                                       for j in range(len(cs))])).alias("_l")).select("_l.*")
        # at most len(supports) · max_basket_size rows
        for r in levels.where(F.col("m") > 0).groupBy("j", "m").agg(F.count(F.lit(1)).alias("n")).collect():
            out[int(r["j"])].histogram[int(r["m"])] = int(r["n"])
        items = frequent.agg(*[F.sum((F.col("_n") >= c).cast("long")).alias(f"_f{j}")
                               for j, c in enumerate(cs)]).first()
        need = []
        for j, e in enumerate(out):
            e.frequent_items = int(items[f"_f{j}"] or 0)
            e.pair_work = sum(n * math.comb(m, 2) for m, n in e.histogram.items())
            if e.pair_work > max_pair_work:
                e.bound, e.max_length = math.inf, max(e.histogram, default=0)
                continue
            # every pair of frequent items counted as frequent: a looser bound, from the histogram alone; when
            # it already clears max_itemsets, the pair pass (a self-join inside baskets) is not needed
            e.bound, e.max_length = itemset_bound(e.min_count, e.frequent_items, math.comb(e.frequent_items, 2),
                                                  e.histogram)
            if e.bound <= max_itemsets:
                e.frequent_pairs = None
            else:
                need.append(j)
        if need and out[0].pair_work > max_pair_work:
            # the bound only falls as the support rises, so a higher support needs its pairs only when the
            # lowest's are too many to count; those pairs are the ones that would serve, and the guard stops at
            # the lowest anyway: the others keep their bound from the histogram alone
            for j in need:
                out[j].frequent_pairs = None
            need = []
        if need:
            # a pair reaching a support's min count has both items frequent there: the pairs among the items
            # of the lowest support that needs them serve every higher one
            pk = kept.where(F.col("_n") >= cs[need[0]])
            a, b = pk.alias("a"), pk.alias("b")
            pairs = a.join(b, (F.col(f"a.{BASKET}") == F.col(f"b.{BASKET}")) & (
                F.col(f"a.{S.ITEM_ID}") < F.col(f"b.{S.ITEM_ID}"))).groupBy(
                F.col(f"a.{S.ITEM_ID}").alias("_x"), F.col(f"b.{S.ITEM_ID}").alias("_y")).count()
            counted = pairs.agg(*[F.sum((F.col("count") >= cs[j]).cast("long")).alias(f"_p{j}")
                                  for j in need]).first()
            for j in need:
                e = out[j]
                e.frequent_pairs = int(counted[f"_p{j}"] or 0)
                e.bound, e.max_length = itemset_bound(e.min_count, e.frequent_items, e.frequent_pairs, e.histogram)
    finally:
        kept.unpersist()
        frequent.unpersist()
    return out


ITEMS_PER_PARTITION = 8_000_000
"""FPGrowth's partitions when ``rules.num_partitions`` is not set: one per this many basket items. A tree holds
at most a node per item (about 150 bytes), so a partition's tree stays under about 1.2 GB."""


def partitions(items: int, parallelism: int) -> int:
    """FPGrowth's partitions for baskets holding ``items`` items in all: one per ``ITEMS_PER_PARTITION``,
    at least 1 and at most ``parallelism`` (Spark's default parallelism: the cores).

    Spark's parallel FP-growth sends each basket to every partition that owns one of its items, as the prefix
    up to that partition's last item, and builds one conditional FP-tree per partition: nearly every basket
    reaches nearly every tree, so the work grows with the partition count, and more cores do not win it back.
    Measured in local[2] at minSupport 0.01, the same itemsets each time (Online Retail, and the crossover
    benchmark's resampled baskets):

    ======================  ==========  ==========  ==========  ===========
    baskets (items)         1 partition 2           4           20
    ======================  ==========  ==========  ==========  ===========
    18,402 (387,833)        5.6-6.6 s   6.3-6.7 s   12.1-12.5 s 26.5-27.7 s
    73,608 (1,535,739)      27.2 s      38.7 s      74.9 s
    294,432 (6,158,470)     84.6 s      135.4 s     265.7 s
    ======================  ==========  ==========  ==========  ===========

    So partitions are added only for the trees' memory."""
    return max(1, min(parallelism, math.ceil(items / ITEMS_PER_PARTITION)))


def chosen_partitions(bask: DataFrame, items: int, configured: int | None) -> int:
    """``rules.num_partitions`` when set, else :func:`partitions` for the cores of ``bask``'s session."""
    return configured or partitions(items, bask.sparkSession.sparkContext.defaultParallelism)


def fpgrowth(bask: DataFrame, min_support: float, min_confidence: float, num_partitions: int | None):
    fp = FPGrowth(itemsCol=ITEMS, minSupport=min_support, minConfidence=min_confidence)
    if num_partitions:
        fp = fp.setNumPartitions(num_partitions)
    return fp.fit(bask)


def _too_many(what: str, min_support: float, n: float, max_itemsets: int, safe: float | None) -> str:
    hint = f"; rules.min_support={safe:g} is known to be safe" if safe else ""
    return (f"rules.min_support={min_support:g} {what} {n:.3g} frequent itemsets, over rules.max_itemsets="
            f"{max_itemsets}: raise rules.min_support, lower rules.max_basket_size, or raise "
            f"rules.max_itemsets if the memory allows{hint}")


def guard(bask: DataFrame, n_baskets: int, min_support: float, max_itemsets: int, max_pair_work: int,
          num_partitions: int | None = None) -> Estimate:
    """Raise :class:`ItemsetExplosionError` when mining at ``min_support`` would produce more than
    ``max_itemsets`` itemsets; otherwise return the estimate (its bound may exceed the limit when the
    stepped extrapolation cleared it)."""
    # the support asked for, then the safe higher supports 2^j·s the extrapolation may start from, in one pass
    supports = [min_support] + [min_support * 2 ** j for j in range(1, 7) if min_support * 2 ** j * 2 <= 1.0]
    ests = estimates(bask, n_baskets, supports, max_pair_work, max_itemsets)
    e = ests[0]
    log.info("itemset guard at support %g: %d frequent items, %s pairs, longest %d, bound %.3g", min_support,
             e.frequent_items, "uncounted" if e.frequent_pairs is None else e.frequent_pairs, e.max_length, e.bound)
    if e.pair_work > max_pair_work:
        raise ItemsetExplosionError(
            f"rules.min_support={min_support:g} leaves baskets with {e.pair_work} pairs of frequent items to "
            f"count, over rules.max_pair_work={max_pair_work}: raise rules.min_support or lower "
            f"rules.max_basket_size")
    if e.bound <= max_itemsets:
        return e
    # The bound can be loose: extrapolate from counts at safe higher supports.
    for j in range(1, len(supports)):
        high = supports[j]
        if ests[j].bound > max_itemsets:
            continue
        # one mining gives both counts: the itemsets at 2·high are those mined at high whose count reaches
        # FPGrowth's min count at 2·high, ceil(minSupport · baskets)
        n_high, n_higher = counts_at(fpgrowth(bask, high, 1.0, num_partitions), n_baskets, high * 2)
        e.counted = {high: n_high, high * 2: n_higher}
        growth = max(1.0, n_high / max(1, n_higher))
        guess = e.guess = n_high * growth ** j
        log.info("itemset guard: %d itemsets at %g, %d at %g: about %.3g at %g", n_high, high, n_higher,
                 high * 2, guess, min_support)
        if guess > max_itemsets:
            raise ItemsetExplosionError(_too_many("would give about", min_support, guess, max_itemsets, high))
        return e
    raise ItemsetExplosionError(_too_many("may give up to", min_support, e.bound, max_itemsets, None))


def counts_at(model, n_baskets: int, higher_support: float) -> tuple[int, int]:
    """(the model's frequent itemsets, those of them FPGrowth would find at ``higher_support``) in one pass:
    Spark's FPGrowth keeps an itemset when its count reaches ``ceil(minSupport · baskets)``."""
    higher = math.ceil(higher_support * n_baskets)
    row = model.freqItemsets.agg(F.count(F.lit(1)).alias("n"),
                                 F.sum((F.col("freq") >= higher).cast("long")).alias("higher")).first()
    return int(row["n"]), int(row["higher"] or 0)


def itemsets(model, n_baskets: int) -> DataFrame:
    """items (sorted), size, freq, support."""
    return model.freqItemsets.select(
        F.array_sort(ITEMS).alias(ITEMS), F.size(ITEMS).alias("size"), F.col("freq").cast("long").alias("freq"),
        (F.col("freq") / F.lit(float(n_baskets))).alias("support"))


def rules(model, min_lift: float) -> DataFrame:
    """antecedent (sorted), consequent, support, confidence, lift, leverage, conviction, antecedent_support,
    consequent_support; rules under ``min_lift`` dropped (``min_confidence`` was applied by the model)."""
    r = model.associationRules.where(F.col("lift") >= F.lit(min_lift))
    supp_c = F.col("confidence") / F.col("lift")
    supp_a = F.col("support") / F.col("confidence")
    conviction = F.when(F.col("confidence") >= 1.0, F.lit(math.inf)).otherwise(
        (1.0 - supp_c) / (1.0 - F.col("confidence")))
    return r.select(
        F.array_sort(ANTECEDENT).alias(ANTECEDENT), F.element_at(CONSEQUENT, 1).alias(CONSEQUENT),
        F.col("support"), F.col("confidence"), F.col("lift"),
        (F.col("support") - supp_a * supp_c).alias("leverage"), conviction.alias("conviction"),
        supp_a.alias("antecedent_support"), supp_c.alias("consequent_support"),
    )
