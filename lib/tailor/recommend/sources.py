"""Every recommender as one function of the data as of a date, so that ``tailor evaluate`` scores exactly
what the jobs compute, refitted on a training window.

Each source takes a :class:`TrainData` and returns candidate rows (user_id, item_id, score, rank, anchor),
seen items excluded, ``top_n`` per user. ``users`` is who should get recommendations (for evaluation, the
users of the test window, including ones with no history, who only popularity can serve).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.asof import before_cutoff, cutoff
from tailor.config import Config
from tailor.errors import InsufficientDataError
from tailor.recommend import als as A
from tailor.recommend import content as C
from tailor.recommend import popularity as P
from tailor.recommend.idmap import new_ids
from tailor.recommend.neighbourhood import item_cf, user_cf
from tailor.rules import cross_sell as X
from tailor.rules import mining as R
from tailor.similarity.interactions import WEIGHT, cap_per, capped_rows, interactions
from tailor.similarity.pairs import similarity


@dataclass
class TrainData:
    """The inputs every source needs, as of ``as_of`` (events after it must already be excluded)."""

    cfg: Config
    as_of: date
    events: DataFrame
    products: DataFrame | None = None
    groups: DataFrame | None = None
    """user_id, scope (segment or country), group_key: the popularity groups."""
    users: DataFrame | None = None
    """user_id: who gets recommendations (popularity needs it; the others serve every user with history
    when it is None). Models are still fitted on everyone's events: only the scoring is restricted."""
    kept: dict[object, tuple[DataFrame, int]] = field(default_factory=dict, repr=False)
    """Frames persisted while the sources' output is lazy (the interactions by half-life, with their row
    counts; others by :meth:`keep`), unpersisted by :meth:`release`."""

    def interactions(self, half_life: float | None) -> tuple[DataFrame, int]:
        """The interactions as of ``as_of`` with affinity decayed by ``half_life``, persisted (item-CF,
        user-CF, ALS and popularity each read them several times), and their number of rows."""
        if half_life not in self.kept:
            inter = interactions(self.events, self.cfg.interactions.weights, self.as_of, half_life).persist(
                StorageLevel.MEMORY_AND_DISK)
            self.kept[half_life] = (inter, inter.count())
        return self.kept[half_life]

    def keep(self, name: str, df: DataFrame) -> DataFrame:
        """``df`` persisted until :meth:`release`: for a frame that a lazy output reads more than once."""
        self.kept[name] = (df.persist(StorageLevel.MEMORY_AND_DISK), -1)
        return self.kept[name][0]

    def release(self) -> None:
        """Unpersist what :meth:`interactions` kept: call it once the sources' output is written."""
        for df, _ in self.kept.values():
            df.unpersist()
        self.kept.clear()


def _targets(d: TrainData, df: DataFrame, col: str = S.USER_ID) -> DataFrame:
    """``df`` restricted to the rows whose ``col`` is one of ``d.users`` (all rows without them)."""
    if d.users is None:
        return df
    return df.join(d.users.select(F.col(S.USER_ID).alias(col)).distinct(), col, "left_semi")


def _inter(d: TrainData, half_life: float | None) -> DataFrame:
    return d.interactions(half_life)[0]


def item_cf_source(d: TrainData) -> DataFrame:
    cfg = d.cfg
    inter, n = d.interactions(cfg.cf.half_life_days)
    # the similarity reads the capped rows twice (the baskets each group needs, and their rows)
    capped = d.keep("item_cf.capped",
                    inter.transform(cap_per(S.USER_ID, S.ITEM_ID, cfg.interactions.max_items_per_user)))
    sim = similarity(capped, S.USER_ID, S.ITEM_ID, WEIGHT, cfg.cf.item_method, cfg.similarity.min_co_count,
                     cfg.similarity.shrinkage, cfg.similarity.top_k,
                     local_max_rows=cfg.similarity.local_scoring_max_rows, rows=n)
    mine = _targets(d, inter)
    return item_cf(mine, sim, cfg.cf.top_n, local_max_rows=cfg.similarity.local_scoring_max_rows)


def user_cf_source(d: TrainData) -> DataFrame:
    cfg = d.cfg
    inter, n = d.interactions(None)
    cap = cfg.interactions.max_users_per_item
    capped = d.keep("user_cf.capped", inter.transform(cap_per(S.ITEM_ID, S.USER_ID, cap)))
    if n > cfg.similarity.local_scoring_max_rows:  # a big shop: its catalogue may still bound the capped rows
        n = capped_rows(n, inter.select(S.ITEM_ID).distinct().count(), cap)
    # only the target users' neighbours are needed: the join then pairs them with everyone, not all with all
    sim = similarity(capped, S.ITEM_ID, S.USER_ID, WEIGHT, cfg.cf.user_method or "cosine",
                     cfg.similarity.min_co_count, cfg.similarity.shrinkage, cfg.similarity.top_k, targets=d.users,
                     local_max_rows=cfg.similarity.local_scoring_max_rows, rows=n)
    return user_cf(inter, sim, _targets(d, inter), cfg.cf.top_n,
                   local_max_rows=cfg.similarity.local_scoring_max_rows)


def als_source(d: TrainData) -> DataFrame:
    a = d.cfg.als
    inter = _inter(d, a.half_life_days)
    users = new_ids(inter.select(F.col(S.USER_ID).alias(S.EXTERNAL_ID)), None, "user", d.as_of)
    items = new_ids(inter.select(F.col(S.ITEM_ID).alias(S.EXTERNAL_ID)), None, "item", d.as_of)
    data = d.keep("als.indexed", A.indexed(inter, users, items, A.preference(a.value, a.implicit)))
    model = A.fit(data, A.AlsParams(a.rank, a.reg_param, a.alpha), a.implicit, a.max_iter, d.cfg.seed,
                  a.checkpoint_interval, a.num_blocks)
    subset = None
    if d.users is not None:
        subset = _targets(d, users.select(F.col(S.EXTERNAL_ID).alias(S.USER_ID), F.col(S.IDX).alias(A.USER_IDX)))
        subset = subset.select(A.USER_IDX)
    seen = data.select(A.USER_IDX, A.ITEM_IDX)
    fetch = min(A.fetch_size(seen, a.top_n, a.max_fetch), max(int(items.count()), 1))
    recs = A.recommend_idx(model, seen, a.top_n, fetch, a.block_size, subset,
                           local_max_rows=d.cfg.similarity.local_scoring_max_rows)
    return A.to_external(recs, users, items, a.top_n)


def content_similarity_of(cfg: Config, products: DataFrame) -> DataFrame:
    c = cfg.content
    vectors = C.item_vectors(products, c.min_df, c.vocab_size)
    return C.content_similarity(vectors, c.top_k, c.max_items_per_term, cfg.similarity.local_scoring_max_rows)


def content_source(d: TrainData, sim: DataFrame | None = None) -> DataFrame:
    c = d.cfg.content
    sim = sim if sim is not None else content_similarity_of(d.cfg, d.products)
    inter = _targets(d, _inter(d, c.half_life_days))
    return item_cf(inter, sim, c.top_n, local_max_rows=d.cfg.similarity.local_scoring_max_rows)


def popular_lists(d: TrainData) -> DataFrame:
    p = d.cfg.popularity
    inter = _inter(d, p.half_life_days)
    cap = float(d.cfg.interactions.weights.get(S.PURCHASE, 1.0))
    return P.popular(inter, d.groups, d.as_of, p.window_days, cap, p.min_group_users, p.top_k).unionByName(
        P.trending(inter, d.as_of, p.trending_days, p.trending_min_users, p.top_k)
    )


def popular_source(d: TrainData, lists: DataFrame | None = None) -> DataFrame:
    lists = lists if lists is not None else popular_lists(d)
    seen = _inter(d, None)
    return P.for_users(d.users, d.groups, lists.where(F.col(P.SCOPE) != P.TRENDING), seen, d.cfg.popularity.top_n,
                       d.cfg.similarity.local_scoring_max_rows)


def trending_source(d: TrainData, lists: DataFrame | None = None) -> DataFrame:
    lists = lists if lists is not None else popular_lists(d)
    seen = _inter(d, None)
    return P.trending_for_users(d.users, lists.where(F.col(P.SCOPE) == P.TRENDING), seen,
                                d.cfg.popularity.top_n, d.cfg.similarity.local_scoring_max_rows)


@dataclass
class Mined:
    """FPGrowth's output on the baskets of a window (itemsets and rules persisted; the caller unpersists)."""

    stats: R.BasketStats
    estimate: R.Estimate
    itemsets: DataFrame
    rules: DataFrame

    def unpersist(self) -> None:
        self.itemsets.unpersist()
        self.rules.unpersist()


def purchase_lines(events: DataFrame, as_of: date, window_days: int | None = None) -> DataFrame:
    """user_id, order_id, item_id, ts of the purchases up to ``as_of`` (the last ``window_days`` only when
    given). Returns are their own event type, so they never enter a basket."""
    keep = (F.col(S.EVENT_TYPE) == S.PURCHASE) & F.col(S.ORDER_ID).isNotNull() & before_cutoff(as_of)
    if window_days is not None:
        keep = keep & (F.col(S.TS) >= F.lit(cutoff(as_of - timedelta(days=window_days))))
    return events.where(keep).select(S.USER_ID, S.ORDER_ID, S.ITEM_ID, S.TS)


def mine(cfg: Config, lines: DataFrame) -> Mined:
    """Baskets of ``lines`` (order_id, item_id), the guard, FPGrowth, itemsets and rules.

    Raises:
        InsufficientDataError: no basket to mine.
        ItemsetExplosionError: the guard's verdict, before or after mining.
    """
    r = cfg.rules
    bask, stats = R.baskets(lines, r.max_basket_size, r.exclude_items, r.min_item_baskets)
    try:
        if stats.baskets == 0:
            raise InsufficientDataError(f"no baskets to mine in the last {r.window_days} days "
                                        f"({stats.empty} empty, {stats.oversize} over rules.max_basket_size)")
        est = R.guard(bask, stats.baskets, r.min_support, r.max_itemsets, r.max_pair_work, r.num_partitions)
        model = R.fpgrowth(bask, r.min_support, r.min_confidence, r.num_partitions)
        model.freqItemsets.persist(StorageLevel.MEMORY_AND_DISK)  # the rules reuse it; else it is mined again
        n = model.freqItemsets.count()
        if n > r.max_itemsets:
            model.freqItemsets.unpersist()
            raise R.ItemsetExplosionError(
                f"rules.min_support={r.min_support:g} gave {n} frequent itemsets, over rules.max_itemsets="
                f"{r.max_itemsets}: raise rules.min_support or rules.max_itemsets")
        rules = R.rules(model, r.min_lift).persist(StorageLevel.MEMORY_AND_DISK)
        rules.count()
        itemsets = R.itemsets(model, stats.baskets).persist(StorageLevel.MEMORY_AND_DISK)
        itemsets.count()
        model.freqItemsets.unpersist()
    finally:
        bask.unpersist()
    return Mined(stats, est, itemsets, rules)


def rules_source(d: TrainData, mined: Mined | None = None) -> DataFrame:
    """Rule-based cross-sell: the rules fire on the items of each user's last ``rules.recent_orders``."""
    r = d.cfg.rules
    own = mined is None
    mined = mined if mined is not None else mine(d.cfg, purchase_lines(d.events, d.as_of, r.window_days))
    recent = X.recent_items(_targets(d, purchase_lines(d.events, d.as_of)), r.recent_orders)
    out = X.recommend(X.usable(mined.rules, r.max_rules_per_item), recent, _targets(d, _inter(d, None)), r.top_n)
    if own:
        out = out.persist(StorageLevel.MEMORY_AND_DISK)
        out.count()
        mined.unpersist()
    return out


SOURCES: dict[str, Callable[[TrainData], DataFrame]] = {
    "als": als_source,
    "item_cf": item_cf_source,
    "user_cf": user_cf_source,
    "content": content_source,
    "popular": popular_source,
    "trending": trending_source,
    "rules": rules_source,
}
"""Source name -> fit-and-recommend function."""
