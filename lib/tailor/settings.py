"""The settings of each capability: one small frozen model per section of the configuration.

A capability takes its own section (``CampaignSettings``, ``StreamSettings``...) or plain values, never the
whole :class:`~tailor.config.Config`; :mod:`tailor.config` composes these sections and loads them from YAML.
Every model refuses unknown keys, so a misspelt key is an error naming it.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tailor import schemas as S

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")

NUMERIC_FEATURES = frozenset({
    "tenure_days", "recency_days", "frequency", "monetary_total", "avg_order_value", "purchases_per_30d",
    "mean_days_between_purchases", "distinct_items", "distinct_categories", "top_category_share",
    "top3_category_share", "return_rate", "spend_recent", "spend_prior", "spend_trend", "sessions", "views",
    "carts", "avg_session_minutes", "view_to_purchase",
})
"""The numeric columns of ``user_features`` that segmentation may use."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class SparkSettings(Strict):
    """How a local session is built. Under spark-submit, master, memory and jars come from spark-submit."""

    master: str = "local[2]"
    app_name: str = "tailor"
    driver_memory: str = "4g"
    shuffle_partitions: int = Field(8, ge=1)
    log_level: Literal["ERROR", "WARN", "INFO", "DEBUG"] = "WARN"
    jars_dir: str = ".jars"
    """Folder of Delta jars made by ``make jars``; when it holds no jars, Spark's Ivy fetches them."""
    conf: dict[str, str] = Field(default_factory=dict)
    """Any further Spark settings, passed through as they are."""


class IngestSettings(Strict):
    source: Literal["synthetic", "online_retail", "movielens", "csv"] = "synthetic"
    max_reject_ratio: float = Field(0.05, ge=0.0, le=1.0)
    """The ingest job fails when more than this share of a source's rows is quarantined."""
    future_tolerance_hours: int = Field(24, ge=0)
    """Timestamps later than the end of run_date plus this many hours are rejected as future."""
    rating_min: float = 1.0
    rating_max: float = 5.0
    max_id_length: int = Field(256, ge=1)
    """The longest id or code (characters) a row may carry; a longer one is quarantined as ``too_long``."""
    max_text_length: int = Field(10_000, ge=1)
    """The longest title, description, category, brand or country; longer is ``too_long``."""
    max_abs_number: float = Field(1e9, gt=0)
    """The largest quantity, price or rating magnitude; NaN, infinities and larger are ``bad_number``."""
    dedupe: Literal["exact", "off"] = "exact"
    """``exact``: a row whose normalised values repeat another's under the same id is quarantined as
    ``duplicate``. ``off``: rows without an id of their own are all kept (identical rows get ids numbered by
    occurrence), for files where two identical lines are two real events (an order log without order ids).
    Rows with ids given in the file are deduplicated either way."""
    free_items: bool = False
    """Accept purchases (and carts, returns) at price 0, such as free gifts or promotions, instead of
    quarantining them as ``non_positive_price``; a negative price is refused either way."""
    fold_case: list[Literal["users", "items", "orders"]] = Field(default_factory=list)
    """Ids compared without case (and stored lower-case): users (user_id, customer_id), items (item_id,
    product_id), orders (order_id). Default: ids are case-sensitive, as most shops' are."""

    @field_validator("dedupe", mode="before")
    @classmethod
    def _yaml_off(cls, v: object) -> object:
        return "off" if v is False else v  # YAML 1.1 reads an unquoted off as false

    @model_validator(mode="after")
    def _rating_range(self) -> IngestSettings:
        if self.rating_min > self.rating_max:
            raise ValueError("rating_min must not exceed rating_max")
        return self


class SyntheticSettings(Strict):
    """The embedded synthetic shop (see :mod:`tailor.ingest.synthetic`)."""

    scale: Literal["S", "M", "L"] = "S"
    users: int | None = Field(None, ge=1)
    """Overrides the scale's user count (events scale with it)."""
    items: int | None = Field(None, ge=12)
    """Overrides the scale's catalogue size."""
    days: int = Field(365, ge=30)
    """Length of the simulated history, ending the day before run_date."""
    dirty_fraction: float = Field(0.002, ge=0.0, le=0.5)
    """Share of extra malformed rows planted in the landed events, to exercise quarantine."""


SEGMENT_FEATURES = [
    "recency_days", "frequency", "monetary_total", "avg_order_value", "purchases_per_30d",
    "distinct_categories", "return_rate", "tenure_days",
]


class FeaturesSettings(Strict):
    """``tailor features``: user profiles as of run_date, and RFM."""

    trend_days: int = Field(30, ge=1)
    """The trend compares spend in the last this-many days with the this-many days before."""
    quantile_relative_error: float = Field(0.001, ge=0.0, le=0.5)
    """approxQuantile's relative error for the RFM thresholds (0 is exact and costlier)."""


class SegmentsSettings(Strict):
    """``tailor segments``: K-means on log-scaled, standardised features of customers who bought."""

    features: list[str] = Field(default_factory=lambda: list(SEGMENT_FEATURES))
    k_min: int = Field(2, ge=2)
    k_max: int = Field(8, ge=2)
    max_iter: int = Field(40, ge=1)
    selection_sample_rows: int = Field(200_000, ge=100)
    """k is chosen by silhouette on a seeded sample of at most this many customers; the final fit uses all."""

    @model_validator(mode="after")
    def _k_range(self) -> SegmentsSettings:
        if self.k_min > self.k_max:
            raise ValueError("k_min must not exceed k_max")
        unknown = sorted(set(self.features) - set(NUMERIC_FEATURES))
        if unknown:
            raise ValueError(f"unknown features {unknown}; choose from {sorted(NUMERIC_FEATURES)}")
        if not self.features:
            raise ValueError("at least one feature is needed")
        return self


class ClvSettings(Strict):
    """``tailor clv``: BG/NBD purchase timing and Gamma-Gamma order value per customer, and their lifetime value."""

    time_unit: Literal["days", "weeks"] = "weeks"
    """The unit of frequency's companions recency and T, and of the fitted alpha and v (weeks, as the
    literature and ``lifetimes``' CDNOW examples use; days gives the same predictions with alpha 7x larger)."""
    horizons_days: list[int] = Field(default_factory=lambda: [30, 90, 365])
    """Expected purchases are given for each of these horizons (``expected_purchases[30]`` in a rule)."""
    months: int = Field(12, ge=1)
    """Lifetime value covers this many months ahead."""
    month_days: float = Field(30.4375, gt=0)
    """The length of a month for lifetime value (a calendar year's average)."""
    monthly_discount: float = Field(0.01, ge=0.0, lt=1.0)
    """Each month's value is discounted by (1 + this) per month."""
    holdout_days: int = Field(90, ge=0)
    """The backtest: refit on the data before the last this-many days and compare predicted with actual
    repeat purchases in them (model_metrics ``holdout_*``); 0 skips it, as does a history no longer than
    this."""
    trend_days: int = Field(30, ge=1)
    """``p_alive_change`` compares today's P(alive) with the one this many days earlier."""
    max_groups: int = Field(5_000_000, ge=1)
    """The fit reads one row per distinct (x, t_x, T) in whole days, which the calendar bounds; more than
    this many stops the job with a message rather than straining the driver."""

    @field_validator("horizons_days")
    @classmethod
    def _horizons(cls, v: list[int]) -> list[int]:
        if not v or any(h < 1 for h in v):
            raise ValueError("give at least one horizon, each at least 1 day")
        return sorted(set(v))


class UpliftSettings(Strict):
    """``tailor uplift``: T- and X-learners from a finished experiment, and every customer's uplift."""

    campaign: str | None = None
    """The experiment to learn from; null: the one with the most customers whose window has ended."""
    learner: Literal["t", "x"] = "t"
    """The learner that scores ``uplift_scores`` (both are judged in ``model_metrics``)."""
    min_customers: int = Field(200, ge=10)
    """An experiment qualifies when each arm has this many customers with a finished window."""
    test_share: float = Field(0.3, gt=0.0, lt=1.0)
    """Customers held out (by a seeded hash) to judge the learners by their Qini curves."""
    max_iter: int = Field(30, ge=1)
    """Trees of each GBT."""
    max_depth: int = Field(3, ge=1, le=10)
    qini_points: int = Field(20, ge=2, le=100)
    """Cuts of the Qini curve."""
    fit_partitions: int = Field(1, ge=1)
    """Partitions of the training rows, sorted by user (as ``propensity.fit_partitions``): 1 gives the same
    models on every run and cluster; more spreads each GBT's split-finding over more cores."""


SimilarityMethod = Literal["cosine", "jaccard", "pearson", "adjusted_cosine", "minhash_jaccard"]


class InteractionsSettings(Strict):
    """How events become user-item interactions (similarity, CF, and later ALS)."""

    weights: dict[str, float] = Field(
        default_factory=lambda: {"view": 1.0, "cart": 3.0, "purchase": 5.0, "rating": 1.0}
    )
    """Weight per event type; a rating event weighs weights.rating x its rating. Others weigh nothing."""
    max_items_per_user: int = Field(200, ge=1)
    """Item-item similarity keeps each user's most recent N items (bounds a heavy user's pairs)."""
    max_users_per_item: int = Field(100, ge=1)
    """User-user similarity keeps each item's most recent N users (bounds a blockbuster's pairs)."""
    cap_keep_share: float = Field(0.75, ge=0.0, le=1.0)
    """The two caps above are floors: each is doubled until the capped rows keep this share of the
    interactions (0: the caps as given). A cap that drops most rows costs CF its quality."""
    cap_max_pairs: int = Field(50_000_000, ge=1)
    """...but a cap is never raised so far that its baskets make more pairs than this (the self-join's rows)."""

    @field_validator("weights")
    @classmethod
    def _known_types(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - {"view", "cart", "purchase", "return", "rating"})
        if unknown:
            raise ValueError(f"unknown event types {unknown}")
        if any(w < 0 for w in v.values()):
            raise ValueError("weights must not be negative")
        return v


class SimilaritySettings(Strict):
    """``tailor similarity``: which measures to write, and how pairs are filtered."""

    item_methods: list[SimilarityMethod] = Field(default_factory=lambda: ["cosine", "jaccard"])
    """pearson and adjusted_cosine use ratings, and are skipped when the source has none; minhash_jaccard
    is the approximate (MinHash LSH) Jaccard for very large user bases."""
    user_methods: list[SimilarityMethod] = Field(default_factory=lambda: ["cosine"])
    min_co_count: int = Field(2, ge=1)
    """Pairs sharing fewer users (or items) are dropped."""
    shrinkage: float = Field(10.0, ge=0.0)
    """Scores are multiplied by co / (co + shrinkage)."""
    top_k: int = Field(50, ge=1)
    """Neighbours kept per item or user."""
    lsh_min_jaccard: float = Field(0.1, gt=0.0, le=1.0)
    """minhash_jaccard: pairs below this Jaccard index are not searched for."""
    lsh_hash_tables: int = Field(10, ge=1)
    """minhash_jaccard: more tables find more pairs, at more cost."""


class CfSettings(Strict):
    """``tailor cf``: item-based (SAR-like) and user-based collaborative filtering."""

    item_method: SimilarityMethod = "cosine"
    user_method: SimilarityMethod | None = "cosine"
    """null: no user-CF (and no user_similarity needed)."""
    half_life_days: float | None = Field(30.0, gt=0)
    """Item-CF affinity decays by half every this many days (null: no decay)."""
    top_n: int = Field(20, ge=1)
    """Recommendations written per user."""


class AlsGrid(Strict):
    rank: list[int] = Field(default_factory=lambda: [16, 32, 64])
    reg_param: list[float] = Field(default_factory=lambda: [0.01, 0.1])
    alpha: list[float] = Field(default_factory=lambda: [1.0, 5.0])


class AlsSettings(Strict):
    """``tailor als``: implicit (or explicit) ALS on user-item interactions, with stable int ids."""

    implicit: bool = True
    """false: explicit ALS on ratings (needs a source with ratings; ranks badly for top-N)."""
    value: Literal["affinity", "weight", "binary"] = "affinity"
    """Implicit preference r: affinity = type weights with recency decay, weight = without decay,
    binary = 1 for every interaction. Confidence is 1 + alpha * r."""
    half_life_days: float | None = Field(90.0, gt=0)
    """Recency decay of the affinity value."""
    rank: int = Field(32, ge=1)
    reg_param: float = Field(0.1, ge=0.0)
    alpha: float = Field(1.0, ge=0.0)
    max_iter: int = Field(15, ge=1)
    checkpoint_interval: int = Field(5, ge=1)
    block_size: int = Field(4096, ge=1)
    """recommendForAllUsers block size."""
    num_blocks: int | None = Field(None, ge=1)
    """User and item blocks of the fit; null: Spark's default parallelism (the cores)."""
    top_n: int = Field(20, ge=1)
    max_fetch: int = Field(500, ge=1)
    """At most this many candidates per user are fetched before seen items are filtered out."""
    tune: bool = False
    """Search grid on a validation split carved from the interactions; the best setting is used and recorded."""
    grid: AlsGrid = Field(default_factory=AlsGrid)
    validation_ratio: float = Field(0.25, gt=0.0, lt=1.0)


class ContentSettings(Strict):
    """TF-IDF content similarity and content recommendations."""

    min_df: int = Field(2, ge=1)
    """A term must appear in at least this many products."""
    vocab_size: int = Field(1 << 18, ge=16)
    max_items_per_term: int = Field(1000, ge=2)
    """Terms in more products than this are left out of the similarity join (the lowest IDF; Σ df² pairs)."""
    top_k: int = Field(50, ge=1)
    """Content neighbours kept per item (written to ``item_similarity``, method ``tfidf``)."""
    half_life_days: float | None = Field(30.0, gt=0)
    """Recency decay of the user's interest in the items they touched."""
    top_n: int = Field(20, ge=1)


class PopularitySettings(Strict):
    """Popular and trending items, overall, per segment and per country."""

    window_days: int = Field(90, ge=1)
    """Only interactions of the last ``window_days`` count."""
    half_life_days: float | None = Field(30.0, gt=0)
    min_group_users: int = Field(30, ge=1)
    """A segment or country with fewer active users than this falls back to the next group."""
    trending_days: int = Field(14, ge=1)
    """Trending compares the users of the last ``trending_days`` with those of the ``trending_days`` before."""
    trending_min_users: int = Field(5, ge=1)
    top_k: int = Field(100, ge=1)
    """Items kept per group in ``popular_items``."""
    top_n: int = Field(20, ge=1)


class PropensitySettings(Strict):
    """Churn and purchase-propensity models (``tailor train-propensity`` / ``score-propensity``)."""

    targets: list[Literal["purchase", "churn"]] = Field(default_factory=lambda: ["purchase", "churn"])
    algorithms: list[Literal["lr", "gbt"]] = Field(default_factory=lambda: ["lr", "gbt"])
    horizon_days: int = Field(28, ge=1)
    """Labels: a purchase in the ``horizon_days`` after the cutoff."""
    lookback_days: int = Field(90, ge=1)
    """Churn: only customers with a purchase in the ``lookback_days`` up to the cutoff, churned when they
    make none in the horizon."""
    numeric_features: list[str] = Field(default_factory=lambda: [
        "tenure_days", "recency_days", "frequency", "monetary_total", "avg_order_value", "purchases_per_30d",
        "mean_days_between_purchases", "distinct_items", "distinct_categories", "top_category_share",
        "return_rate", "spend_recent", "spend_prior", "spend_trend", "sessions", "views", "carts",
        "avg_session_minutes", "view_to_purchase"])
    """Profile columns (:mod:`tailor.features.profile`), and optionally the purchase-timing columns of
    :mod:`tailor.propensity.timing` (``p_alive``, ``expected_purchases_horizon``, ``days_overdue``,
    ``gap_trend``, ``bought_same_window_last_year``; a BG/NBD fit per cutoff in ``clv.time_unit``). Those are
    off by default: out of time, on Online Retail and on CDNOW, they lowered AUC and worsened calibration."""
    categorical_features: list[str] = Field(default_factory=lambda: ["country", "top_category"])
    lr_grid: dict[str, list[float]] = Field(default_factory=lambda: {
        "regParam": [0.001, 0.01, 0.1], "elasticNetParam": [0.0, 0.5]})
    gbt_grid: dict[str, list[float]] = Field(default_factory=lambda: {"maxDepth": [3, 5], "stepSize": [0.1]})
    max_iter: int = Field(50, ge=1)
    """LR iterations; GBT trees."""
    calibration_share: float = Field(0.2, ge=0.0, lt=1.0)
    """This share of the training cutoff's customers (a seeded hash) is held out of the fit, and Platt scaling
    learnt on their scores turns every score into a probability; 0: raw, class-weighted scores."""
    parallelism: int = Field(2, ge=1)
    """Settings fitted at once by TrainValidationSplit."""
    fit_partitions: int = Field(1, ge=1)
    """Partitions of the training rows (by user id, sorted). 1 makes a re-run's model bit-for-bit equal,
    and ``parallelism`` still keeps the cores busy; more fit faster on a cluster, reproducible to rounding."""
    version: date | None = None
    """Score with this model version (its training run date, YYYY-MM-DD); null: the latest at or before the
    run date."""


class RulesSettings(Strict):
    """FPGrowth association rules over order baskets (``tailor rules``)."""

    window_days: int = Field(365, ge=1)
    """Baskets are the orders of the last ``window_days`` up to the run date."""
    min_support: float = Field(0.001, gt=0.0, le=1.0)
    min_confidence: float = Field(0.1, ge=0.0, le=1.0)
    min_lift: float = Field(1.0, ge=0.0)
    max_basket_size: int = Field(100, ge=2)
    """Baskets with more distinct items are left out of mining (and counted): their subsets explode."""
    min_item_baskets: int = Field(0, ge=0)
    """Items in fewer baskets are pruned before mining (0 or 1: none; min_support prunes anyway)."""
    exclude_items: list[str] = Field(default_factory=list)
    """Item ids that are not products (fees, postage...) and never enter a basket."""
    max_itemsets: int = Field(2_000_000, ge=1)
    """The guard stops the job when mining would produce more frequent itemsets than this."""
    max_pair_work: int = Field(500_000_000, ge=1)
    """The guard stops the job when counting frequent pairs would touch more pairs than this."""
    num_partitions: int | None = Field(None, ge=1)
    """FPGrowth's partitions; null: one per 8 million items in the mined baskets, at most the cores (Spark's
    default parallelism). Each partition builds a tree from nearly every basket, so more partitions cost more
    work (:func:`tailor.rules.mining.partitions`); set it only when one tree would not fit an executor."""
    fbt_top_n: int = Field(10, ge=1)
    """Consequents kept per item in ``frequently_bought_together``."""
    recent_orders: int = Field(3, ge=1)
    """Rule-based recommendations fire on the items of each user's last ``recent_orders`` orders."""
    max_rules_per_item: int = Field(50, ge=1)
    """Cross-sell only uses rules that are among the best this many of every item in their antecedent."""
    top_n: int = Field(20, ge=1)


HybridSource = Literal["als", "item_cf", "user_cf", "content", "rules", "popular", "trending"]


class HybridSettings(Strict):
    """The blend of every recommender's candidates into ``recommendations``."""

    sources: list[HybridSource] = Field(
        default_factory=lambda: ["als", "item_cf", "user_cf", "content", "rules", "popular", "trending"]
    )
    """Sources blended, when their candidates exist for the run."""
    normalise: Literal["rank", "minmax"] = "rank"
    """Per user and source: rank -> (n - rank + 1) / n over the source's list; minmax -> (s - min) / (max - min)."""
    weights: dict[str, float] = Field(default_factory=dict)
    """Fixed blend weights per source. Empty: the weights ``tailor evaluate`` learned most recently
    (``tuning_results``, model ``hybrid``), else equal weights."""
    weight_grid: list[float] = Field(default_factory=lambda: [0.0, 0.25, 0.5, 1.0, 2.0, 4.0])
    """Values tried per source by the coordinate search in ``tailor evaluate``."""
    search_rounds: int = Field(2, ge=0)
    search_users: int | None = Field(5000, ge=1)
    """The search scores settings on at most this many validation users, a seeded hash sample (null: all).
    The nDCG of 5,000 users has a standard error of about 0.003; the search's cost grows with the users."""
    novelty: bool = True
    """Let the search weigh a novelty term (each candidate's self-information, min-max per user)."""
    keep_coverage: bool = True
    """The search only accepts settings whose validation coverage@k is at least that of the single source
    with the best validation nDCG."""
    top_n: int = Field(10, ge=1)
    max_per_category: int | None = Field(3, ge=1)
    """At most this many recommendations per category per user; null: no limit."""


class EvaluationSettings(Strict):
    """``tailor evaluate``: the time-based split and the metrics' cut-offs."""

    horizon_days: int = Field(28, ge=1)
    """Test on purchases in the ``horizon_days`` up to the run date; train on everything before. The blend
    weights are learned the same way one horizon earlier (validation), never on the test window."""
    k: list[int] = Field(default_factory=lambda: [5, 10, 20])
    """The cut-offs every metric is computed at (the report draws precision and recall against them)."""
    search_k: int = Field(10, ge=1)
    """The cut-off whose nDCG the blend-weight search maximises; must be one of ``k``."""
    sources: list[HybridSource] = Field(
        default_factory=lambda: ["als", "item_cf", "user_cf", "content", "rules", "popular", "trending"]
    )

    @model_validator(mode="after")
    def _search_k_is_computed(self) -> EvaluationSettings:
        if self.search_k not in self.k:
            raise ValueError(f"search_k {self.search_k} must be one of k {self.k}")
        return self


_CAMPAIGN_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


class CampaignDefinition(Strict):
    """One campaign: who qualifies (a Spark SQL condition over each customer's attributes), its priority
    and how many offers each customer gets. See :mod:`tailor.campaigns.audience` for the attributes."""

    name: str
    rule: str = "true"
    """A Spark SQL boolean expression, e.g. ``churn_decile >= 8 AND monetary_total > monetary_median``."""
    priority: int = Field(100, ge=0)
    """When a customer qualifies for several campaigns, the lowest number wins (ties: the name)."""
    offers: int = Field(3, ge=0)
    """Next-best offers per customer, from the run date's ``recommendations``; 0 for a campaign without
    offers (a win-back list), which needs no recommendations."""
    per_segment: bool = False
    """Expand into one campaign per K-means segment, named ``<name>-<segment>``."""
    treatment_share: float | None = Field(None, gt=0.0, le=1.0)
    """Share of the audience in treatment; null: ``campaigns.treatment_share``."""
    arms: dict[str, float] | None = None
    """A/B/n: treatment arms and their shares, e.g. ``{offer-a: 0.4, offer-b: 0.4}``; the control arm gets
    the rest. Each arm is compared with the control, Holm-corrected. Null: one ``treatment`` arm of
    ``treatment_share``."""
    channel: str | None = None
    """Recorded in ``contact_history``; null: ``campaigns.channel``."""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _CAMPAIGN_NAME.match(v):
            raise ValueError("must be lower-case letters, digits, '-' and '_'")
        return v

    @model_validator(mode="after")
    def _arms(self) -> CampaignDefinition:
        if self.arms is None:
            return self
        if self.treatment_share is not None:
            raise ValueError(f"campaign '{self.name}': give either arms or treatment_share, not both")
        bad = sorted(a for a in self.arms if not _CAMPAIGN_NAME.match(a) or a == S.CONTROL)
        if bad or not self.arms:
            raise ValueError(f"campaign '{self.name}': arm names must be lower-case letters, digits, '-' and '_', "
                             f"and not '{S.CONTROL}' (the arm that gets the rest): {bad}")
        if any(not 0 < v < 1 for v in self.arms.values()) or sum(self.arms.values()) >= 1 - 1e-9:
            raise ValueError(f"campaign '{self.name}': each arm's share must be in (0, 1) and together under 1, "
                             "so that a control remains")
        return self

    def arm_shares(self, default_share: float) -> tuple[tuple[str, float], ...]:
        """(arm, share) of each treatment arm, sorted by name; the control arm has the rest."""
        if self.arms:
            return tuple(sorted(self.arms.items()))
        return ((S.TREATMENT, self.treatment_share if self.treatment_share is not None else default_share),)


WIN_BACK_RULE = "p_alive_change < -0.05 AND clv_decile <= 3"
"""The default win-back: customers slipping away (P(alive) down more than 5 points in ``clv.trend_days``) who
are among the most valuable 30 % by lifetime value (``clv_decile`` 1 is the top tenth)."""


def _default_campaigns() -> list[CampaignDefinition]:
    return [
        CampaignDefinition(name="win-back", rule=WIN_BACK_RULE, priority=10),
        CampaignDefinition(name="cross-sell", rule="purchase_decile >= 9", priority=20),
        CampaignDefinition(name="segment", rule="true", priority=90, per_segment=True),
    ]


class CampaignSettings(Strict):
    """``tailor campaign``, ``record-sends`` and ``analyze-experiment``."""

    definitions: list[CampaignDefinition] = Field(default_factory=_default_campaigns)
    salt: str = Field("tailor-experiments-1", min_length=1)
    """Assignment salt. A customer's arm is a hash of (salt, campaign, customer): change it to re-randomise."""
    holdout_fraction: float = Field(0.05, ge=0.0, lt=1.0)
    """Global holdout: this share of customers (by hash) is never in any campaign."""
    treatment_share: float = Field(0.8, gt=0.0, le=1.0)
    max_contacts: int = Field(2, ge=1)
    cap_days: int = Field(7, ge=1)
    """Frequency cap: no customer is contacted more than ``max_contacts`` times in any ``cap_days`` days."""
    suppression_files: list[str] = Field(default_factory=list)
    """CSV files (with a header) of customer ids never to contact: a ``user_id`` or ``customer_id`` column."""
    propensity_algorithm: Literal["lr", "gbt"] = "gbt"
    """Whose scores the rules see as ``purchase_score``/``purchase_decile`` and ``churn_*``."""
    channel: str = "email"
    external: list[str] = Field(default_factory=list)
    """Campaigns sent outside Tailor's audiences whose sends ``record-sends --file`` may record (sends of a
    campaign that is neither configured, built by ``tailor campaign``, nor listed here are quarantined as
    ``unknown_campaign``)."""
    window_days: int = Field(14, ge=1)
    """``analyze-experiment``: conversions and revenue in the days after each customer's first send."""
    alpha: float = Field(0.05, gt=0.0, lt=1.0)
    """Significance level, and 1 - the confidence of the intervals."""
    power: float = Field(0.8, gt=0.0, lt=1.0)
    """``plan-experiment``: the chance of detecting the minimum detectable effect."""
    srm_alpha: float = Field(0.001, gt=0.0, lt=1.0)
    """A readout whose arm counts fit the assigned share with a chi-square p-value below this is
    ``srm_failed``: its lift is not reported as significant."""
    expected_shares: dict[str, float] = Field(default_factory=dict)
    """campaign -> the treatment share it was assigned with, for campaigns sent outside Tailor (the sample-ratio
    check of Tailor's own campaigns uses their definition's share)."""
    pre_period_days: int = Field(28, ge=1)
    """CUPED's covariate: each customer's conversion and net revenue in this many days before their first send."""
    contact_cost: float = Field(0.0, ge=0.0)
    """The cost of one contact, in the orders' currency: ``expected_gain`` = uplift x value - this."""
    positive_gain_only: bool = True
    """When ``uplift_scores`` exist for the run date, customers whose ``expected_gain`` is not positive are left
    out of every campaign (both arms, before assignment). Without uplift scores nothing is left out."""
    sequential_tau: float = Field(0.02, gt=0.0)
    """The always-valid readout mixes the conversion lift over N(0, tau²): the size of effect it is most
    sensitive to (2 points by default). Any value keeps it valid."""

    @field_validator("expected_shares")
    @classmethod
    def _shares(cls, v: dict[str, float]) -> dict[str, float]:
        bad = sorted(k for k, s in v.items() if not 0 < s <= 1)
        if bad:
            raise ValueError(f"treatment shares must be in (0, 1]: {bad}")
        return v

    @model_validator(mode="after")
    def _unique_names(self) -> CampaignSettings:
        names = [d.name for d in self.definitions]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"campaign names must be unique: {dup}")
        return self


class PrivacySettings(Strict):
    """Pseudonymisation at ingest and ``tailor forget``."""

    key_env: str = Field("TAILOR_PSEUDONYM_KEY", min_length=1)
    """The environment variable holding the HMAC key. Jobs that need it stop when it is unset."""
    bronze_retention_days: int = Field(30, ge=1)
    """Bronze (the only layer with raw personal data) keeps this many days of landings; ingest deletes
    older partitions (VACUUM, or ``tailor forget --purge``, removes their files)."""


class DeltaSettings(Strict):
    """How table writes meet other writers."""

    conflict_retries: int = Field(5, ge=0)
    """A write that loses a commit race (``delta.exceptions.Concurrent*``, ``MetadataChanged``,
    ``ProtocolChanged``) is retried up to this many times; every Tailor write is idempotent, so a retry cannot
    duplicate rows."""
    retry_backoff_seconds: float = Field(1.0, ge=0.0)
    """The first retry waits this long (with jitter); each later one twice as long, at most 60 s."""


class ReportSettings(Strict):
    """``tailor report``."""

    dir: str | None = None
    """Where ``tailor-report-<run date>.html`` is written (any Hadoop URI); default ``<warehouse>/reports``."""


class StreamSettings(Strict):
    """``tailor stream``: recommendations from recent events (Structured Streaming)."""

    source: Literal["events", "landing"] = "events"
    """events: new rows of the silver ``events`` table; landing: JSON files (the events contract, one
    object per line) arriving in ``landing_path``."""
    landing_path: str | None = None
    checkpoint: str | None = None
    """The query's checkpoint; null: ``<checkpoint_dir>/stream_<source>``. Keep it: it is the stream's
    progress, and deleting it re-reads the source from the start."""
    trigger: Literal["available_now", "processing_time"] = "available_now"
    """available_now: process what is there in micro-batches, then stop; processing_time: run until stopped."""
    interval_seconds: float = Field(10.0, gt=0)
    max_seconds: float | None = Field(None, gt=0)
    """processing_time only: stop after this long (null: run until the process is stopped)."""
    max_files_per_trigger: int | None = Field(None, ge=1)
    recent_items: int = Field(10, ge=1)
    """Items kept per user (the latest event per item)."""
    top_n: int = Field(10, ge=1)
    similarity_method: str = "cosine"
    """The ``item_similarity`` method the neighbours come from (its newest partition)."""


class OnlineRetailSource(Strict):
    path: str | None = None
    """A .csv, .csv.gz, .xlsx or .parquet file (or folder of Parquet files) of UCI's Online Retail (2010-2011:
    InvoiceNo, UnitPrice, CustomerID) or Online Retail II (2009-2011: Invoice, Price, Customer ID; the .xlsx
    has one sheet per year)."""
    encoding: str = "UTF-8"
    """CSV encoding; the original UCI export is ISO-8859-1."""
    non_product_codes: list[str] = Field(
        default_factory=lambda: [
            "POST", "D", "M", "DOT", "C2", "CRUK", "PADS", "BANK CHARGES", "AMAZONFEE", "S", "B",
            "ADJUST", "ADJUST2", "TEST001", "TEST002", "GIFT",
        ]
    )


class MovieLensSource(Strict):
    path: str | None = None
    """A folder holding u.data/u.item/u.user (100k) or ratings.dat/movies.dat/users.dat (1M)."""


class FileSettings(Strict):
    """Where one input is and how its rows are split into fields."""

    path: str
    """A file, a folder of files or a glob (``landing/2026-*/orders.csv``), local or any URI Spark reads."""
    format: Literal["csv", "parquet", "json", "excel"] = "csv"
    """``csv`` (delimited text), ``parquet``, ``json`` (JSON Lines: one object per line) or ``excel`` (one
    local .xlsx workbook; every sheet, each with the same header row; a local master only)."""
    delimiter: str = ","
    """csv: the field separator (one or more characters, such as ``,`` ``;`` ``\\t`` ``|`` ``::``);
    ``whitespace`` for fields separated by runs of spaces or tabs (leading and trailing blanks ignored);
    ``regex:<pattern>`` to split each line with a Java regular expression. The last two read no quoting."""
    header: bool = True
    """csv: the first line names the columns; otherwise they are ``_c0``, ``_c1``..."""
    encoding: str = "UTF-8"
    quote: str = '"'
    """csv: the quote character (doubled inside a field); empty for files that quote nothing."""

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, v: str) -> str:
        if not v:
            raise ValueError("the delimiter may not be empty (use 'whitespace' or 'regex:<pattern>')")
        if v.startswith("regex:"):
            try:
                re.compile(v.removeprefix("regex:"))
            except re.error as e:
                raise ValueError(f"{v!r} is not a regular expression: {e}") from None
        return v


class Lookup(FileSettings):
    """A reference file joined to an entity's rows by key, so a mapping can use its columns (department and
    aisle names for products that carry only their ids). Its columns keep their names; one that clashes with
    a column of the entity's file is prefixed with ``<name>_``."""

    name: str
    column: str
    """The entity file's column to join on. (Not ``on``: YAML reads an unquoted ``on`` as true.)"""
    key: str | None = None
    """The lookup's column matching ``column`` (default: the same name). Keys must be unique in the lookup."""


class CsvEntity(FileSettings):
    """One entity (events, products or customers) of the ``csv`` source, whatever the file's format."""

    timestamp_format: str | None = None
    """The pattern (Spark datetime pattern, such as ``yyyyMMdd`` or ``dd/MM/yyyy HH:mm``) of this entity's
    timestamps (events' ``ts``); null tries ISO forms."""
    date_format: str | None = None
    """The pattern of this entity's dates (customers' ``signup_date``); null tries ISO forms."""
    mapping: dict[str, str] = Field(default_factory=dict)
    """contract column -> a column of the file (or of a lookup), or a SQL expression over them
    (``dollars / cds``, ``to_timestamp(date, 'yyyyMMdd')``), in the language of :mod:`tailor.sandbox`.
    events may also map ``title``, ``category``, ``brand``, ``description`` and ``country``: products and
    customers derived from the events (when no such entity is given) take them."""
    constants: dict[str, str] = Field(default_factory=dict)
    """contract column -> fixed value, for columns the file does not have (e.g. event_type: purchase)."""
    lookups: list[Lookup] = Field(default_factory=list)
    returns: str | None = None
    """events: a SQL expression over the file's columns, true on a return (``startswith(Invoice, 'C')``,
    ``Quantity < 0``). Such a row becomes a ``return`` event with a positive quantity."""
    non_product_codes: list[str] = Field(default_factory=list)
    """events: item codes that are not products (postage, fees, adjustments); ``GIFT_*`` matches a prefix.
    Compared without case; such rows are quarantined as ``non_product_code``."""


class CsvSource(Strict):
    events: CsvEntity | None = None
    products: CsvEntity | None = None
    customers: CsvEntity | None = None


class SourcesSettings(Strict):
    online_retail: OnlineRetailSource = Field(default_factory=OnlineRetailSource)
    movielens: MovieLensSource = Field(default_factory=MovieLensSource)
    csv: CsvSource = Field(default_factory=CsvSource)


Plan = Literal["auto", "grouped", "spark"]
PLANNED = ("similarity", "item_cf", "user_cf", "als_top_n", "popularity", "hybrid")
"""The capabilities with two plans: a grouped one (numpy/scipy per group of entities, on the executors) and
Spark's join plan. ``tests`` check each pair for agreement; ``benchmarks.run plans`` times them."""


class PlanSettings(Strict):
    """Which plan each capability runs. ``auto`` takes the grouped plan when its input is at most
    ``grouped_max_rows`` rows, Spark's otherwise; ``grouped`` and ``spark`` force one."""

    grouped_max_rows: int = Field(2_000_000, ge=0)
    """The bound of ``auto``: cosine and jaccard similarities of at most this many input rows (the capped
    inputs, as counted by the cap's aggregation); item-CF and content with an item similarity of at most
    this many rows (sent to every task, held once on the driver); user-CF when the neighbours' interactions
    have at most this many rows; ALS top-N, popularity and hybrid serving with a catalogue (or lists) of at
    most this many items (rows)."""
    similarity: Plan = "auto"
    item_cf: Plan = "auto"
    """Item-CF and content scoring."""
    user_cf: Plan = "auto"
    als_top_n: Plan = "auto"
    popularity: Plan = "auto"
    hybrid: Plan = "auto"

    def max_rows(self, capability: str) -> int:
        """The ``local_max_rows`` the capability's functions take: 0 forces Spark's plan."""
        plan = getattr(self, capability)
        return {"auto": self.grouped_max_rows, "grouped": 2**62, "spark": 0}[plan]


class PipelineSettings(Strict):
    """How ``tailor pipeline`` and ``tailor demo`` run their jobs in one driver."""

    parallelism: int = Field(2, ge=1)
    """Jobs run at once. A job starts as soon as every job that writes a table it reads has finished (among
    those ready, the one with the longest chain of jobs waiting on it first), each in a Spark session of its
    own (same SparkContext and tables, its own SQL settings). 1 runs them one after another. A job plans,
    commits and waits on the driver while its tasks leave cores idle; a second job uses them: on 2 cores the
    S shop's pipeline took 169 s instead of 211 s, and the demo 187 s instead of 226 s, with equal tables.
    Memory: the driver holds what both jobs cache."""
