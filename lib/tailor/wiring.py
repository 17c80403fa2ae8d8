"""The one wiring of each recommender: config in, a fit-and-score call out. The jobs (``similarity``, ``cf``,
``als``, ``content``, ``popularity``, ``rules``) and ``tailor evaluate`` all call these functions, so
evaluation scores exactly what the jobs serve, refitted on a training window.

Each source takes a :class:`TrainData` and returns candidate rows (user_id, item_id, score, rank, anchor),
seen items excluded, ``top_n`` per user. ``users`` is who should get recommendations (for evaluation, the
users of the test window, including ones with no history, who only popularity can serve).

This module is part of the application layer: it reads :class:`~tailor.config.Config` and hands the
capability packages plain values.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import reduce

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from tailor import schemas as S
from tailor.asof import before_cutoff, cutoff
from tailor.config import Config
from tailor.errors import InsufficientDataError
from tailor.evaluation.harness import Fold, pairs, sample_users, score_all
from tailor.ingest import synthetic
from tailor.ingest.sources import SourceInputs
from tailor.recommend import als as A
from tailor.recommend import content as C
from tailor.recommend import hybrid as H
from tailor.recommend import popularity as P
from tailor.recommend.idmap import new_ids
from tailor.recommend.neighbourhood import item_cf, user_cf
from tailor.rules import cross_sell as X
from tailor.rules import mining as R
from tailor.similarity.interactions import WEIGHT, Cap, cap_per, choose_cap, interactions
from tailor.similarity.lsh import LSH_METHOD, minhash_jaccard
from tailor.similarity.pairs import RATING_METHODS, SHARED_METHODS, similarities, similarity

log = logging.getLogger(__name__)
HYBRID, SEEDS_RULE = "hybrid", "hybrid_seeds_rule"
"""The recommenders ``tailor evaluate`` adds to the sources: the learned blend (what ``tailor recommend``
serves under the same name) and the blend of the seeds' rule the weight search starts from."""



def shop_spec(cfg: Config, run_date: date) -> synthetic.ShopSpec:
    """The synthetic shop ``synthetic.*`` describes, as of ``run_date`` (its campaign uses the campaigns' salt
    and holdout, so that the planted experiment follows Tailor's own assignment)."""
    sy = cfg.synthetic
    return synthetic.shop_spec(sy.scale, cfg.seed, run_date, sy.days, sy.dirty_fraction, sy.users, sy.items,
                               cfg.campaigns.salt, cfg.campaigns.holdout_fraction)


def source_inputs(cfg: Config, run_date: date) -> SourceInputs:
    """What ingest's adapter for ``ingest.source`` reads."""
    shop = shop_spec(cfg, run_date) if cfg.ingest.source == "synthetic" else None
    return SourceInputs(cfg.sources, cfg.ingest.source, shop)


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
    id_map: DataFrame | None = None
    """The ``id_map`` the ``als`` job keeps (kind, external_id, idx): ALS numbers ids as the job does."""
    kept: dict[object, tuple[DataFrame, int]] = field(default_factory=dict, repr=False)
    """Frames persisted while the sources' output is lazy (the interactions by half-life, with their row
    counts; others by :meth:`keep`), unpersisted by :meth:`release`."""
    caps: dict[str, Cap] = field(default_factory=dict, repr=False)

    def interactions(self, half_life: float | None) -> tuple[DataFrame, int]:
        """The interactions as of ``as_of`` with affinity decayed by ``half_life``, persisted (item-CF,
        user-CF, ALS and popularity each read them several times), and their number of rows."""
        if half_life not in self.kept:
            inter = interactions(self.events, self.cfg.interactions.weights, self.as_of, half_life).persist(
                StorageLevel.MEMORY_AND_DISK)
            self.kept[half_life] = (inter, inter.count())
        return self.kept[half_life]

    def cap(self, kind: str) -> Cap:
        """The cap on each basket's rows for ``kind`` ("item": each user's items, "user": each item's users)
        similarity, scaled to the data from ``interactions.max_items_per_user`` (``max_users_per_item``)
        by :func:`choose_cap`; computed once."""
        if kind not in self.caps:
            ic = self.cfg.interactions
            floor = ic.max_items_per_user if kind == "item" else ic.max_users_per_item
            self.caps[kind] = choose_cap(self.interactions(None)[0], SIDES[kind][0], floor, ic.cap_keep_share,
                                         ic.cap_max_pairs)
        return self.caps[kind]

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


SIDES = {"item": (S.USER_ID, S.ITEM_ID), "user": (S.ITEM_ID, S.USER_ID)}
"""Similarity kind -> (the column that groups, the column compared): items are similar through shared users."""


def similarity_of(d: TrainData, kind: str, methods: list[str], targets: DataFrame | None = None,
                  has_ratings: bool = True) -> DataFrame:
    """``kind`` ("item" or "user") similarity by each of ``methods``, as the ``similarity`` job writes it:
    the interactions as of ``d.as_of`` (no decay), each user's (each item's) most recent rows up to the cap
    :meth:`TrainData.cap` scales from ``interactions.max_items_per_user`` (``max_users_per_item``),
    ``similarity.*`` thresholds. Cosine and jaccard share
    one pass; ``minhash`` is LSH; rating methods read ratings and are left out when ``has_ratings`` is false.
    With ``targets`` (a column named like the compared entity) only their neighbours are computed.

    Returns:
        entity, neighbour, score, co_count, method.
    """
    sc = d.cfg.similarity
    by, entity = SIDES[kind]
    inter, _ = d.interactions(None)
    cap = d.cap(kind)
    # read twice by the grouped plan (the baskets each group needs, and their rows)
    capped = d.keep(f"{kind}_similarity.capped", inter.transform(cap_per(by, entity, cap.cap)))
    local, n = d.cfg.plans.max_rows("similarity"), cap.kept  # the capped rows, from the cap's own aggregation
    out = []
    shared = [m for m in methods if m in SHARED_METHODS]
    if shared:
        out.append(similarities(capped, by, entity, WEIGHT, shared, sc.min_co_count, sc.shrinkage, sc.top_k,
                                targets=targets, local_max_rows=local, rows=n))
    for method in methods:
        if method == LSH_METHOD:
            out.append(minhash_jaccard(capped, by=by, entity=entity, min_jaccard=sc.lsh_min_jaccard,
                                       hash_tables=sc.lsh_hash_tables, seed=d.cfg.seed, min_co=sc.min_co_count,
                                       top_k=sc.top_k))
        elif method in RATING_METHODS and has_ratings:
            out.append(similarity(capped.where(F.col(S.RATING).isNotNull()), by=by, entity=entity, value=S.RATING,
                                  method=method, min_co=sc.min_co_count, shrinkage=sc.shrinkage, top_k=sc.top_k,
                                  targets=targets))
    if not out:
        return capped.sparkSession.createDataFrame(
            [], StructType([f for f in S.SIMILARITY.fields if f.name != S.RUN_DATE]))
    return reduce(DataFrame.unionByName, out)


def item_cf_source(d: TrainData, sim: DataFrame | None = None) -> DataFrame:
    """Item-CF: each unseen item scored by the user's time-decayed affinity (``cf.half_life_days``) times its
    ``cf.item_method`` similarity to what they interacted with. ``sim``: that similarity as the
    ``similarity`` job wrote it (computed by :func:`similarity_of` when not given)."""
    c, local = d.cfg.cf, d.cfg.plans.max_rows("item_cf")
    sim = sim if sim is not None else similarity_of(d, "item", [c.item_method])
    inter = _inter(d, c.half_life_days)
    return item_cf(_targets(d, inter), sim, c.top_n, local_max_rows=local)


def user_cf_source(d: TrainData, sim: DataFrame | None = None) -> DataFrame:
    """User-CF: the similarity-weighted average of the ``cf.user_method`` neighbours' time-decayed
    interactions. ``sim`` as for :func:`item_cf_source` (computed for ``d.users`` only when not given)."""
    c, local = d.cfg.cf, d.cfg.plans.max_rows("user_cf")
    # only the target users' neighbours are needed: the join then pairs them with everyone, not all with all
    sim = sim if sim is not None else similarity_of(d, "user", [c.user_method or "cosine"], targets=d.users)
    inter = _inter(d, c.half_life_days)
    return user_cf(inter, sim, _targets(d, inter), c.top_n, local_max_rows=local)


IdsFn = Callable[[str, DataFrame], DataFrame]
"""(kind, frame of ``external_id``) -> that kind's id map (external_id, idx) covering every id of the frame."""


def known_ids(d: TrainData) -> IdsFn:
    """Ids as the ``als`` job would number them, without writing: the kept ``id_map``'s, then new ids after its
    maximum in id order (:func:`tailor.recommend.idmap.new_ids`)."""

    def ids(kind: str, external: DataFrame) -> DataFrame:
        existing = d.id_map.where(F.col(S.KIND) == kind) if d.id_map is not None else None
        fresh = new_ids(external, existing, kind, d.as_of).select(S.EXTERNAL_ID, S.IDX)
        return fresh if existing is None else existing.select(S.EXTERNAL_ID, S.IDX).unionByName(fresh)

    return ids


@dataclass
class AlsFit:
    """A fitted ALS model and what it was fitted on."""

    model: object
    data: DataFrame
    """user_idx, item_idx, preference (persisted by the :class:`TrainData`)."""
    users: DataFrame
    items: DataFrame
    params: A.AlsParams
    tried: list[tuple[A.AlsParams, dict[str, float]]] | None = None
    """With ``als.tune``: every setting of ``als.grid`` with its validation metrics."""


def als_fit(d: TrainData, ids: IdsFn | None = None) -> AlsFit:
    """ALS on the interactions (``als.half_life_days``) as preferences (``als.value``), users and items numbered
    by ``ids`` (default :func:`known_ids`); with ``als.tune``, the params are the best of ``als.grid`` by
    validation nDCG@10 on a split carved from the interactions.

    Raises:
        InsufficientDataError: no interaction to fit on.
    """
    a = d.cfg.als
    ids = ids or known_ids(d)
    inter = _inter(d, a.half_life_days)
    users = d.keep("als.users", ids("user", inter.select(F.col(S.USER_ID).alias(S.EXTERNAL_ID))))
    items = d.keep("als.items", ids("item", inter.select(F.col(S.ITEM_ID).alias(S.EXTERNAL_ID))))
    data = d.keep("als.indexed", A.indexed(inter, users, items, A.preference(a.value, a.implicit)))
    if data.limit(1).count() == 0:
        raise InsufficientDataError(
            "no interactions to train ALS on" + ("" if a.implicit else " (explicit ALS needs ratings)"))
    params, tried = A.AlsParams(a.rank, a.reg_param, a.alpha), None
    if a.tune:
        tried = A.tune(data, A.grid(a.grid.rank, a.grid.reg_param, a.grid.alpha), a.implicit, a.max_iter,
                       d.cfg.seed, a.validation_ratio, checkpoint_interval=a.checkpoint_interval,
                       max_fetch=a.max_fetch, num_blocks=a.num_blocks)
        params = max(tried, key=lambda pm: (pm[1]["ndcg"], -pm[0].rank))[0]
    model = A.fit(data, params, a.implicit, a.max_iter, d.cfg.seed, a.checkpoint_interval, a.num_blocks)
    return AlsFit(model, data, users, items, params, tried)


def als_recommendations(d: TrainData, fit: AlsFit) -> DataFrame:
    """The fitted model's ``als.top_n`` unseen items for each user (of ``d.users`` when set)."""
    a = d.cfg.als
    subset = None
    if d.users is not None:
        subset = _targets(d, fit.users.select(F.col(S.EXTERNAL_ID).alias(S.USER_ID), F.col(S.IDX).alias(A.USER_IDX)))
        subset = subset.select(A.USER_IDX)
    seen = fit.data.select(A.USER_IDX, A.ITEM_IDX)
    fetch = min(A.fetch_size(seen, a.top_n, a.max_fetch), max(int(fit.items.count()), 1))
    recs = A.recommend_idx(fit.model, seen, a.top_n, fetch, a.block_size, subset,
                           local_max_rows=d.cfg.plans.max_rows("als_top_n"))
    return A.to_external(recs, fit.users, fit.items, a.top_n)


def als_source(d: TrainData) -> DataFrame:
    return als_recommendations(d, als_fit(d))


def content_similarity_of(cfg: Config, products: DataFrame) -> DataFrame:
    c = cfg.content
    vectors = C.item_vectors(products, c.min_df, c.vocab_size)
    return C.content_similarity(vectors, c.top_k, c.max_items_per_term, cfg.plans.max_rows("similarity"))


def content_source(d: TrainData, sim: DataFrame | None = None) -> DataFrame:
    c = d.cfg.content
    sim = sim if sim is not None else content_similarity_of(d.cfg, d.products)
    inter = _targets(d, _inter(d, c.half_life_days))
    return item_cf(inter, sim, c.top_n, local_max_rows=d.cfg.plans.max_rows("item_cf"))


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
                       d.cfg.plans.max_rows("popularity"))


def trending_source(d: TrainData, lists: DataFrame | None = None) -> DataFrame:
    lists = lists if lists is not None else popular_lists(d)
    seen = _inter(d, None)
    return P.trending_for_users(d.users, lists.where(F.col(P.SCOPE) == P.TRENDING), seen,
                                d.cfg.popularity.top_n, d.cfg.plans.max_rows("popularity"))


@dataclass
class Mined:
    """FPGrowth's output on the baskets of a window (itemsets and rules persisted; the caller unpersists)."""

    stats: R.BasketStats
    estimate: R.Estimate
    itemsets: DataFrame
    rules: DataFrame
    partitions: int
    """FPGrowth's partitions (:func:`tailor.rules.mining.chosen_partitions`)."""

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
        parts = R.chosen_partitions(bask, stats.items, r.num_partitions)
        est = R.guard(bask, stats.baskets, r.min_support, r.max_itemsets, r.max_pair_work, parts)
        model = R.fpgrowth(bask, r.min_support, r.min_confidence, parts)
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
    return Mined(stats, est, itemsets, rules, parts)


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


# --- evaluation: every source fitted on a fold, scored as served -----------------------------------------

def groups_of(customers: DataFrame) -> DataFrame:
    """Popularity groups for evaluation: country only (segments are computed on all the data, so they would
    leak the test window)."""
    return customers.where(F.col(S.COUNTRY).isNotNull()).select(
        F.col(S.CUSTOMER_ID).alias(S.USER_ID), F.lit(P.COUNTRY).alias(P.SCOPE), F.col(S.COUNTRY).alias(P.GROUP)
    )


def candidates(cfg: Config, fold: Fold, products: DataFrame, groups: DataFrame, sources: list[str],
               content_sim: DataFrame | None, id_map: DataFrame | None = None) -> DataFrame:
    """Every requested source, fitted on ``fold.train``, for the users of ``fold.truth``; one frame with
    ``source``, checkpointed."""
    data = TrainData(cfg, fold.as_of, fold.train, products, groups, id_map=id_map)
    data.users = data.keep("users", fold.truth.select(S.USER_ID).distinct())  # every source reads them
    lists = popular_lists(data).persist(StorageLevel.MEMORY_AND_DISK) if {"popular", "trending"} & set(
        sources) else None
    out = None
    for s in sources:
        if s not in SOURCES:
            log.warning("source %s is not available yet; skipped", s)
            continue
        if s == "content":
            df = content_source(data, content_sim)
        elif s in ("popular", "trending"):
            df = SOURCES[s](data, lists)
        else:
            df = SOURCES[s](data)
        df = df.withColumn(S.SOURCE, F.lit(s))  # every source scores only data.users
        out = df if out is None else out.unionByName(df)
    try:
        return out.checkpoint()  # eager; the lineage (every source's fit) would make each later plan huge
    finally:
        if lists is not None:
            lists.unpersist()
        data.release()


def evaluate(cfg: Config, validation: Fold, test: Fold, products: DataFrame, groups: DataFrame,
             ks: list[int], id_map: DataFrame | None = None
             ) -> tuple[list[tuple[str, int, str, float]], list[H.Tried], H.Tried]:
    """Score the sources and the hybrid: :func:`candidates` on a validation fold, carved before (or from) the
    training data, where each source is scored and the blend weights are searched; then on the test fold,
    where every source and the hybrid are scored once. Every recommender is scored as it would be served:
    through the business filters (bought, catalogue, ``hybrid.max_per_category``), so that a source and the
    hybrid compete on equal terms. ``id_map``: the ``als`` job's, so that ALS numbers ids as the job does.

    Returns:
        (rows of (recommender, k, metric, value) on the test fold, the weight settings tried on validation
        with their nDCG, coverage and how they were made, the chosen one).
    """
    k_search = cfg.evaluation.search_k if cfg.evaluation.search_k in ks else ks[0]
    h = cfg.hybrid
    catalogue = products.select(F.col(S.PRODUCT_ID).alias(S.ITEM_ID), S.CATEGORY)
    t0 = time.perf_counter()
    content_sim = None
    if "content" in cfg.evaluation.sources:
        content_sim = content_similarity_of(cfg, products).persist(StorageLevel.MEMORY_AND_DISK)
    if h.search_users is not None:
        validation = Fold(validation.as_of, validation.train,
                          sample_users(validation.truth, h.search_users, cfg.seed))
    # a fold's truth is a join of the window's purchases with every interaction before it: read by every
    # source (its users) and by the scoring, so computed once (M: 9 s for the sampled validation users)
    validation = Fold(validation.as_of, validation.train, validation.truth.persist(StorageLevel.MEMORY_AND_DISK))
    test = Fold(test.as_of, test.train, test.truth.persist(StorageLevel.MEMORY_AND_DISK))
    val = candidates(cfg, validation, products, groups, cfg.evaluation.sources, content_sim, id_map)
    sources = sorted(r[0] for r in val.select(S.SOURCE).distinct().collect())  # one row per source
    val_norm = H.normalised(val, h.normalise)
    extra = []
    if h.novelty:
        val_norm = H.with_novelty(val_norm, H.item_information(pairs(validation.train)))
        extra = [H.NOVELTY]
    # Every recommender is judged as it would be served: through the same filters as the hybrid (bought,
    # catalogue, category cap). Each source alone: its nDCG is the seeds' rule's effect, the best one's
    # coverage is the floor, and the search starts from the best of them and the seeds' rule.
    scorer = H.scorer(val_norm, validation.truth, k_search, catalogue, h.max_per_category,
                      cfg.plans.max_rows("hybrid"))
    served = dict(zip(sources, scorer.score([{s: 1.0} for s in sources]), strict=True))
    effects = {s: v[0] for s, v in served.items()}
    top_source = max(sources, key=lambda s: effects[s])
    floor = served[top_source][1] if h.keep_coverage else 0
    log.info("validation nDCG@%d per source (%d users): %s; coverage floor %d items (%s); %.0f s", k_search,
             scorer.n_users, effects, floor, top_source, time.perf_counter() - t0)
    tried = H.search_weights(scorer, effects, h.weight_grid, h.search_rounds, floor, extra, served)
    winner = H.best(tried, floor)
    chosen, seeds = winner.weights, tried[0].weights
    log.info("weight search: %d settings, chose %s; %.0f s", len(tried), chosen, time.perf_counter() - t0)

    test_c = candidates(cfg, test, products, groups, cfg.evaluation.sources, content_sim, id_map)
    bought = test.train.where(F.col(S.EVENT_TYPE) == S.PURCHASE).select(S.USER_ID, S.ITEM_ID)  # membership only
    info = H.item_information(pairs(test.train)) if h.novelty else None
    top_n = max(max(ks), h.top_n)
    settings = {**{s: {s: 1.0} for s in sources}, HYBRID: chosen, SEEDS_RULE: seeds}
    served = H.serve(test_c, bought, catalogue, settings, top_n, h.max_per_category, h.normalise, info,
                     cfg.plans.max_rows("hybrid")).checkpoint()  # every list from one pass
    recs = {name: served.where(F.col(H.RECOMMENDER) == name).drop(H.RECOMMENDER) for name in settings}
    log.info("test candidates of %d sources; %.0f s", len(sources), time.perf_counter() - t0)
    # read once for every recommender and k, not once per metric
    truth = test.truth
    train_pairs = pairs(test.train).persist(StorageLevel.MEMORY_AND_DISK)
    n_users = truth.select(S.USER_ID).distinct().count()
    rows = score_all(recs, truth, train_pairs, ks, catalogue)
    rows += [(name, ks[0], "users", float(n_users)) for name in recs]
    log.info("test metrics of %d recommenders at k %s; %.0f s", len(recs), ks, time.perf_counter() - t0)
    truth.unpersist()
    validation.truth.unpersist()
    train_pairs.unpersist()
    if content_sim is not None:
        content_sim.unpersist()
    return rows, tried, winner
