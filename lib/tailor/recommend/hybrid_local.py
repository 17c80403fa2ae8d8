"""The grouped plan of the hybrid: normalise, blend, filter and rank one group of users in numpy; and the
weight search's scoring of validation candidates on the driver.

:func:`tailor.recommend.hybrid.serve` hashes users into groups and cogroups each group's candidates with the
items its users bought; the catalogue (item -> category) and, for the novelty term, each item's
self-information are small and sent to every task. :func:`serve_group` then does for its users what
:func:`~tailor.recommend.hybrid.normalised`, :func:`~tailor.recommend.hybrid.with_novelty`,
:func:`~tailor.recommend.hybrid.blend` and :func:`~tailor.recommend.hybrid.finalise` do with four shuffles
of every candidate row, for any number of weight settings at once (evaluation serves nine).

:class:`Wide` and :func:`score_settings` are :class:`tailor.recommend.hybrid.Scorer`'s local plan: the
validation candidates of the search (at most ``hybrid.search_users`` users' lists) are collected once, and
each batch of weight settings is scored in numpy instead of by a Spark job of several stages (the search
scores up to two batches per source and round).

Every formula is the Spark plan's. One thing is firmer: an item's blended score adds its sources'
contributions in the order of the sources' names, where Spark's sum takes the rows in the order the
shuffle delivered them, so two runs can differ in the last bit and a near-tie can swap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tailor.evaluation.ranking import ideal_dcg_values
from tailor.similarity.local import sorted_codes

SERVED = "_k int, user_id string, item_id string, score double, rank int, source string, anchor string"
_SERVED = pa.schema([("_k", pa.int32()), ("user_id", pa.string()), ("item_id", pa.string()),
                     ("score", pa.float64()), ("rank", pa.int32()), ("source", pa.string()),
                     ("anchor", pa.string())])


def _lookup(values: pa.Array, keys: pa.Array) -> np.ndarray:
    """Each value's index in ``keys``, -1 where it is absent."""
    got = pc.index_in(values, value_set=keys)
    return pc.fill_null(got, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _rank_within(key: np.ndarray) -> np.ndarray:
    """0-based position of each element among the elements with its ``key``, in array order."""
    order = np.argsort(key, kind="stable")
    k = key[order]
    pos = np.empty(len(key), np.int64)
    pos[order] = np.arange(len(key)) - np.searchsorted(k, k, side="left")
    return pos


def serve_group(cands: pa.Table, bought: pa.Table, settings: Sequence[Mapping[str, float]], method: str,
                cat_items: pa.Array, cat_of: np.ndarray, info_items: pa.Array | None, info_of: np.ndarray | None,
                top_n: int, max_per_category: int | None, novelty: str, fallback: str) -> pa.Table:
    """One group of users: each setting's ``top_n`` per user.

    Args:
        cands: ``_u``, ``_i``, ``_score``, ``_rank``, ``_a`` (anchor), ``_s`` (source): candidate rows.
        bought: ``_bu``, ``_bi``: the (user, item) pairs to leave out.
        settings: source -> weight; a candidate is in a setting's blend when a source it names proposed it.
        cat_items, cat_of: the catalogue's item ids (sorted) and each one's category code (-1: none).
        info_items, info_of: the items' self-information (sorted ids), or None without the novelty term.
        novelty, fallback: the names of the novelty pseudo-source and of the tie-breaking source.

    Returns:
        ``_k`` (the setting's index), user_id, item_id, score, rank, source, anchor.
    """
    if cands.num_rows == 0:
        return _SERVED.empty_table()
    u, users = sorted_codes(cands.column("_u"))
    i, items = sorted_codes(cands.column("_i"))
    s_name = cands.column("_s").combine_chunks()
    names = sorted(set(pc.unique(s_name).to_pylist()) | ({novelty} if info_items is not None else set()))
    s = _lookup(s_name, pa.array(names, pa.string()))
    nu, ni, ns = len(users), len(items), len(names)

    # normalise within (user, source), as normalised()
    key = u * ns + s
    if method == "rank":
        n = np.bincount(key, minlength=nu * ns)[key]
        norm = (n - cands.column("_rank").to_numpy().astype(np.int64) + 1) / n
    else:
        score = cands.column("_score").to_numpy().astype(np.float64)
        lo, hi = np.full(nu * ns, np.inf), np.full(nu * ns, -np.inf)
        np.minimum.at(lo, key, score)
        np.maximum.at(hi, key, score)
        lo, hi = lo[key], hi[key]
        with np.errstate(invalid="ignore", divide="ignore"):
            norm = np.where(hi > lo, (score - lo) / np.where(hi > lo, hi - lo, 1.0), 1.0)

    pair_key, p = np.unique(u * ni + i, return_inverse=True)  # (user, item) pairs, by user then item
    pu, pi = pair_key // ni, pair_key % ni
    row = np.arange(cands.num_rows)
    if info_items is not None:  # one novelty row per pair, as with_novelty()
        v = np.full(ni, np.nan)
        known = _lookup(items, info_items)
        v[known >= 0] = info_of[known[known >= 0]]
        v = v[pi]
        lo, hi = np.full(nu, np.inf), np.full(nu, -np.inf)
        finite = ~np.isnan(v)
        np.minimum.at(lo, pu[finite], v[finite])
        np.maximum.at(hi, pu[finite], v[finite])
        lo, hi = lo[pu], hi[pu]
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(~finite | ~(hi > lo), 1.0, (v - lo) / np.where(hi > lo, hi - lo, 1.0))
        p = np.concatenate([p, np.arange(len(pair_key))])
        s = np.concatenate([s, np.full(len(pair_key), names.index(novelty))])
        norm = np.concatenate([norm, value])
        row = np.concatenate([row, np.full(len(pair_key), -1)])
    order = np.lexsort((s, p))  # each pair's rows in the order of their sources' names: the sums' order
    p, s, norm, row = p[order], s[order], norm[order], row[order]

    # what every setting filters the same way: bought pairs, items outside the catalogue
    bu, bi = _lookup(bought.column("_bu").combine_chunks(), users), _lookup(bought.column("_bi").combine_chunks(),
                                                                          items)
    mine = (bu >= 0) & (bi >= 0)
    on_sale = np.zeros(ni, bool)
    cat = np.full(ni, -1, np.int64)
    where = _lookup(items, cat_items)
    on_sale[where >= 0] = True
    cat[where >= 0] = cat_of[where[where >= 0]]
    allowed = on_sale[pi] & ~np.isin(pair_key, bu[mine] * ni + bi[mine])
    anchors = cands.column("_a").combine_chunks()

    out = []
    for k, weights in enumerate(settings):
        w = np.array([float(weights[x]) if x in weights else np.nan for x in names])
        named = ~np.isnan(w[s])
        c = np.where(named, np.nan_to_num(w)[s] * norm, 0.0)
        listed = np.bincount(p[named], minlength=len(pair_key)) > 0
        blended = np.bincount(p[named], weights=c[named], minlength=len(pair_key))
        fb = np.zeros(len(pair_key))
        if fallback in weights and fallback in names:
            at = s == names.index(fallback)
            np.maximum.at(fb, p[at], norm[at])
        # the source of the largest contribution, the first by name on a tie; novelty never names one
        who = np.flatnonzero(named & (row >= 0))
        who = who[np.lexsort((s[who], -c[who], p[who]))]
        first = who[np.r_[True, p[who][1:] != p[who][:-1]]] if len(who) else who
        top = np.full(len(pair_key), -1)
        top[p[first]] = first

        keep = np.flatnonzero(listed & allowed)
        keep = keep[np.lexsort((pi[keep], -fb[keep], -blended[keep], pu[keep]))]  # served order, per user
        if max_per_category is not None:
            c_of = cat[pi[keep]]
            in_cat = _rank_within(np.where(c_of >= 0, pu[keep] * (int(cat_of.max(initial=0)) + 1) + c_of, -1))
            keep = keep[(c_of < 0) | (in_cat < max_per_category)]
        rank = _rank_within(pu[keep])
        keep, rank = keep[rank < top_n], rank[rank < top_n]
        src = top[keep]
        has = src >= 0
        source = pa.array(np.where(has, np.array(names, dtype=object)[s[np.where(has, src, 0)]], None), pa.string())
        anchor = pc.if_else(pa.array(has), pc.take(anchors, pa.array(np.where(has, row[np.where(has, src, 0)], 0))),
                            pa.scalar(None, pa.string())) if len(keep) else pa.array([], pa.string())
        out.append(pa.Table.from_arrays([
            pa.array(np.full(len(keep), k, np.int32)), pc.take(users, pa.array(pu[keep])),
            pc.take(items, pa.array(pi[keep])), pa.array(blended[keep], pa.float64()),
            pa.array((rank + 1).astype(np.int32)), source, anchor], schema=_SERVED))
    return pa.concat_tables(out)


@dataclass(frozen=True)
class Wide:
    """The weight search's validation candidates as arrays, one element per (user, candidate item)."""

    user: np.ndarray
    """A code per user (grouping only)."""
    item: np.ndarray
    """A code per item, in the ids' byte order (Spark's string order: the ties' order)."""
    category: np.ndarray
    """A code per category, -1 for none."""
    relevant: np.ndarray
    """True when the pair is in the truth."""
    n_relevant: np.ndarray
    """The user's number of relevant items."""
    norms: dict[str, np.ndarray]
    """Source -> its normalised score of the pair, NaN where the source did not propose it."""


def wide_arrays(table: pa.Table, sources: Sequence[str]) -> Wide:
    """:class:`Wide` of the Scorer's frame (user_id, item_id, category, ``_rel``, ``_n``, a column per
    source)."""
    cats = table.column("category").combine_chunks()
    return Wide(
        user=sorted_codes(table.column("user_id"))[0],
        item=sorted_codes(table.column("item_id"))[0],
        category=_lookup(cats, pc.unique(pc.drop_null(cats))),
        relevant=_filled(table, "_rel", False).astype(bool),
        n_relevant=_filled(table, "_n", 0).astype(np.int64),
        norms={x: _filled(table, x, math.nan).astype(np.float64) for x in sources},
    )


def _filled(table: pa.Table, name: str, value: object) -> np.ndarray:
    return pc.fill_null(table.column(name).combine_chunks(), value).to_numpy(zero_copy_only=False)


def score_settings(wide: Wide, settings: Sequence[Mapping[str, float]], k: int, max_per_category: int | None,
                   n_users: int, fallback: str) -> list[tuple[float, int]]:
    """(mean nDCG@k over ``n_users``, distinct items in all users' top k) of each setting, as
    :meth:`tailor.recommend.hybrid.Scorer.score` computes them in Spark: a candidate is in a setting's list
    when a source the setting names proposed it; its score adds each source's weighted norm in the order of
    the sources' names; ties go to ``fallback``'s norm (when named), then to the item id; the category cap
    applies before the cut at k. The nDCG sums its gains in another order than Spark's, so the two can differ
    in the last bit."""
    sources = sorted({x for w in settings for x in w} & set(wide.norms))
    discount = np.array([0.0] + [1.0 / (math.log(r + 1.0) / math.log(2.0)) for r in range(1, k + 1)])
    ideal = np.array([1.0, *ideal_dcg_values(k)])  # [0] unused: a relevant pair's user has n >= 1
    cap_key = wide.user * (int(wide.category.max(initial=0)) + 2) + wide.category + 1
    out = []
    for weights in settings:
        named = np.zeros(len(wide.user), bool)
        score = np.zeros(len(wide.user))
        for x in sources:
            v = wide.norms[x]
            present = ~np.isnan(v)
            if x in weights:
                named |= present
            score = score + np.where(present, v, 0.0) * float(weights.get(x, 0.0))
        tie = np.zeros(len(wide.user))
        if fallback in sources and fallback in weights:
            tie = np.nan_to_num(wide.norms[fallback], nan=0.0)
        rows = np.flatnonzero(named)
        rows = rows[np.lexsort((wide.item[rows], -tie[rows], -score[rows], wide.user[rows]))]
        if max_per_category is not None:
            in_cat = _rank_within(cap_key[rows])
            rows = rows[(wide.category[rows] < 0) | (in_cat < max_per_category)]
        rank = _rank_within(wide.user[rows]) + 1
        rows, rank = rows[rank <= k], rank[rank <= k]
        hit = wide.relevant[rows]
        gains = discount[rank[hit]] / ideal[np.minimum(wide.n_relevant[rows[hit]], k)]
        ndcg = float(gains.sum()) / n_users if n_users else 0.0
        out.append((ndcg, len(np.unique(wide.item[rows]))))
    return out
