"""The synthetic shop: Tailor's embedded default source.

Everything is generated with Spark from ``spark.range`` and hash-based random numbers (``xxhash64`` of the
seed, a salt and row ids), so the data is the same for a seed whatever the partitioning, and the L shop
(a million users) never touches pandas or the driver.

The generative story
--------------------
*Catalogue.* Twelve categories, each with its own vocabulary of product nouns and descriptive words, four
brands and a base price. Item ``i`` belongs to category ``i % 12``; its rank inside the category
(``i // 12``) sets its popularity, since shoppers pick ranks with a power-law skew. Each item has a price
tier (budget, standard, premium) that scales its price, and a title and description drawn from its
category's vocabulary, so that text similarity follows category.

*Customers.* Each customer has latent tastes: a primary and a secondary category (popular categories are
more likely), a preferred price tier, and an activity level (exponential, mean 1). They sign up on a random
day of the history, in a country drawn from a fixed mix, and about 10% opt out of marketing. About 30%
churn: their sessions thin out over time (drawn with a density that falls towards a churn day) and stop
at that day; the others shop evenly until the end.

*Sessions.* Each session is a run of views, then carts, then purchases. A view picks the primary category
65% of the time, the secondary 25%, any category otherwise; then an item by popularity, nudged towards
the customer's price tier. A viewed item is carted with probability 0.35 when its tier matches the
customer's and 0.15 otherwise; a carted item is bought with probability 0.55. All of a session's purchases
form one order.

*Bundles.* A few anchor items each have one or two partner items. Buying an anchor also buys each partner,
in the same order, with probability 0.5: these are the "frequently bought together" pairs to recover.

*After the sale.* About 4% of purchased lines are returned 3 to 20 days later, and about 10% are rated
(1 to 5, higher when the tier matched).

*Past campaigns.* Thirty days before the end, a campaign (``synthetic-reactivation``) was sent to every
opted-in customer who had signed up by then, leaving out Tailor's global holdout. Its arms come
from Tailor's own assignment hash (:mod:`tailor.assign`, with ``campaigns.salt``), half and half. Its
effect depends on the customer, as a real offer's does:

- *lapsed* customers (churners whose last day came before the send) come back for one extra session in the
  ten days after it, in which they buy the first item they view, with probability 0.5 when their activity is
  middling (0.5 to 2 on its Exp(1) scale), 0.25
  otherwise: the offer wins back lapsing mid-value customers;
- *active* customers are mostly unmoved (probability 0.05), loyal ones (activity 1.5 or more) not at all,
  and 30 % of the loyal ones are *annoyed*: they skip their sessions of the 14 days after the send.

The same day, two more campaigns went to the same customers, with no effect at all: ``synthetic-aa``, an
A/A test split 50/50, and ``synthetic-broken-split``, assigned 50/50 but with 15 % of its treated sends lost
before the export (a provider that drops bounced addresses from one arm only), so its sample ratio is
broken. :func:`campaign_sends` is the provider's export of the three, which ``tailor record-sends`` loads,
so that ``tailor analyze-experiment`` has a real lift to find, an A/A to stay quiet on and a mismatch to
catch.

*Dirt.* A configured fraction of extra malformed rows is planted in the landed events (missing user ids,
unparseable timestamps, unknown event types, exact duplicates, negative prices, future timestamps), so
that ingest's quarantine is exercised. Clean rows are never altered.

The landed events carry strings, as a JSON landing zone would. Scales: S about 2k customers and 40k
events; M about 100k and 2M; L about 1M and 20M.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from tailor import assign
from tailor import schemas as S

CATEGORIES: list[tuple[str, list[str], list[str], list[str], float]] = [
    # name, nouns, words, brands, base price
    ("kitchen", ["mug", "teapot", "kettle", "skillet", "whisk", "colander"],
     ["ceramic", "enamel", "cast", "iron", "stoneware", "glazed", "pour", "brew", "handle", "dishwasher"],
     ["Hearthly", "Copperleaf", "Brewster", "Panworks"], 18.0),
    ("garden", ["planter", "trowel", "hose", "birdhouse", "lantern", "seedtray"],
     ["outdoor", "weatherproof", "terracotta", "galvanised", "seeds", "bloom", "soil", "patio", "herb", "watering"],
     ["Greenthumb", "Bramble", "Fernhill", "Rootstock"], 22.0),
    ("toys", ["puzzle", "robot", "kite", "teddy", "blocks", "marbles"],
     ["wooden", "plush", "colourful", "educational", "building", "playful", "stacking", "ages", "spinning", "toddler"],
     ["Tinker", "Playnest", "Wobbly", "Jigsawry"], 15.0),
    ("stationery", ["notebook", "pen", "planner", "envelope", "stamp", "journal"],
     ["lined", "dotted", "ink", "paper", "leather", "bound", "refill", "fountain", "calligraphy", "sketch"],
     ["Quillson", "Papermill", "Inkwell", "Folio"], 8.0),
    ("lighting", ["lamp", "candle", "fairylights", "lampshade", "nightlight", "sconce"],
     ["warm", "glow", "led", "dimmable", "scented", "wax", "bulb", "ambient", "brass", "flicker"],
     ["Lumen", "Wickhouse", "Glowbright", "Candlewick"], 25.0),
    ("textiles", ["cushion", "throw", "blanket", "towel", "apron", "tablecloth"],
     ["cotton", "linen", "woven", "knitted", "soft", "embroidered", "wool", "striped", "fringe", "machine"],
     ["Loomcraft", "Softspun", "Weft", "Threadbare"], 20.0),
    ("bath", ["soap", "bathbomb", "sponge", "loofah", "diffuser", "lotion"],
     ["lavender", "organic", "moisturising", "spa", "fragrance", "essential", "oil", "natural", "foaming", "gentle"],
     ["Pure", "Tidepool", "Bloomspa", "Saltwell"], 12.0),
    ("wall", ["poster", "frame", "clock", "mirror", "shelf", "hook"],
     ["vintage", "print", "gallery", "mounted", "oak", "gilded", "retro", "minimalist", "hanging", "wall"],
     ["Framewright", "Oakline", "Gallerie", "Tickwood"], 30.0),
    ("party", ["balloon", "bunting", "napkin", "partyhat", "cakestand", "confetti"],
     ["birthday", "celebration", "festive", "paper", "glitter", "pastel", "garland", "wedding", "banner", "cupcake"],
     ["Festoon", "Partyhaus", "Jubilee", "Streamer"], 6.0),
    ("storage", ["basket", "tin", "jar", "box", "crate", "hamper"],
     ["wicker", "stackable", "lidded", "airtight", "metal", "seagrass", "label", "organiser", "pantry", "woven"],
     ["Stowe", "Tidyhome", "Boxwell", "Larder"], 16.0),
    ("jewellery", ["necklace", "bracelet", "earrings", "ring", "brooch", "charm"],
     ["silver", "gold", "plated", "pendant", "gemstone", "sterling", "beaded", "dainty", "chain", "giftbox"],
     ["Aurelia", "Silverthorn", "Gemma", "Lustre"], 35.0),
    ("christmas", ["bauble", "wreath", "stocking", "advent", "ornament", "tree"],
     ["christmas", "snowflake", "reindeer", "festive", "tinsel", "santa", "star", "glass", "red", "holiday"],
     ["Yuletide", "Northpole", "Frostfair", "Hollyberry"], 10.0),
]
N_CAT = len(CATEGORIES)
TIERS = ["budget", "standard", "premium"]
TIER_PRICE = [0.55, 1.0, 2.1]
COUNTRIES = [("United Kingdom", 0.50), ("Germany", 0.12), ("France", 0.10), ("Netherlands", 0.08),
             ("Spain", 0.08), ("Ireland", 0.06), ("United States", 0.06)]
GENERIC_WORDS = ["gift", "home", "classic", "new", "handmade", "design", "quality", "set"]

SCALES: dict[str, tuple[int, int]] = {"S": (2_000, 300), "M": (100_000, 5_000), "L": (1_000_000, 20_000)}
"""scale -> (customers, items)."""

CHURN_SHARE = 0.30
OPT_OUT_SHARE = 0.10
MEAN_SESSIONS = 4.0

PLANTED_CAMPAIGN = "synthetic-reactivation"
PLANTED_DAYS_BEFORE_END = 30
PLANTED_REACH = 1.0
PLANTED_TREATMENT_SHARE = 0.5
UPLIFT_LAPSED_MID, UPLIFT_LAPSED, UPLIFT_ACTIVE = 0.5, 0.25, 0.05
"""Chance that a treated customer comes back for one extra session in the 10 days after the send: lapsed
with middling activity, other lapsed, active but not loyal (loyal: activity >= :data:`LOYAL_ACTIVITY`)."""
LOYAL_ACTIVITY = 1.5
ANNOYED_SHARE, ANNOYED_DAYS = 0.3, 14
"""Share of treated loyal customers the offer annoys, and the days after the send whose sessions they skip."""
PLANTED_AA = "synthetic-aa"
PLANTED_BROKEN = "synthetic-broken-split"
BROKEN_LOSS = 0.15
"""Share of ``synthetic-broken-split``'s treated sends missing from the export."""
PLANTED_CAMPAIGNS = (PLANTED_CAMPAIGN, PLANTED_AA, PLANTED_BROKEN)
CAMPAIGN_SESSION = 9999
"""The session index of that extra session."""


@dataclass(frozen=True)
class ShopSpec:
    seed: int
    users: int
    items: int
    start: date
    days: int
    dirty_fraction: float
    salt: str = "tailor-experiments-1"
    """``campaigns.salt``: the planted campaign's arms follow Tailor's assignment."""
    holdout: float = 0.05
    """``campaigns.holdout_fraction``: the planted campaign leaves the global holdout out."""

    @property
    def send_day(self) -> int:
        """The planted campaign's send day (days since ``start``)."""
        return self.days - PLANTED_DAYS_BEFORE_END

    @property
    def per_cat(self) -> int:
        return self.items // N_CAT


def shop_spec(
    scale: str, seed: int, end: date, days: int, dirty_fraction: float,
    users: int | None = None, items: int | None = None, salt: str = "tailor-experiments-1",
    holdout: float = 0.05,
) -> ShopSpec:
    """The generator's parameters. History covers the ``days`` days before ``end`` (exclusive)."""
    n_users, n_items = SCALES[scale]
    return ShopSpec(seed, users or n_users, items or n_items, end - timedelta(days=days), days, dirty_fraction,
                    salt, holdout)


def _u(seed: int, salt: str, *cols: Column | str) -> Column:
    """A uniform double in [0, 1), a pure function of (seed, salt, cols)."""
    h = F.xxhash64(F.lit(seed), F.lit(salt), *[F.col(c) if isinstance(c, str) else c for c in cols])
    return F.pmod(h, F.lit(1 << 53)).cast("double") / float(1 << 53)


def _pick(options: list[str], u: Column) -> Column:
    arr = F.array(*[F.lit(o) for o in options])
    return F.element_at(arr, (u * len(options)).cast("int") + 1)


def _nested(values: list[list[str]], outer: Column, u: Column) -> Column:
    """values[outer][floor(u * len)] for equal-length inner lists."""
    width = len(values[0])
    flat = F.array(*[F.lit(v) for row in values for v in row])
    return F.element_at(flat, outer * width + (u * width).cast("int") + 1)


def _tier(seed: int, item: Column) -> Column:
    return F.pmod(F.xxhash64(F.lit(seed), F.lit("tier"), item), F.lit(3)).cast("int")


def _category(item: Column) -> Column:
    return (item % N_CAT).cast("int")


def _price(seed: int, item: Column) -> Column:
    """An item's price: its category's base price x its tier's multiplier x noise in [0.8, 1.2)."""
    base = F.element_at(F.array(*[F.lit(c[4]) for c in CATEGORIES]), _category(item) + 1)
    tier_mult = F.element_at(F.array(*[F.lit(m) for m in TIER_PRICE]), _tier(seed, item) + 1)
    return F.round(base * tier_mult * (F.lit(0.8) + 0.4 * _u(seed, "price", item)), 2)


def _partners(spec: ShopSpec, item: Column) -> Column:
    """The bundle partners of an item: one or two items for about one popular item in eight, else empty.

    A pure function of the item, so bundles need no join."""
    s, per_cat = spec.seed, spec.per_cat
    anchor = ((item / N_CAT).cast("int") < max(2, per_cat // 5)) & (_u(s, "anchor", item) < 0.125)
    size = F.lit(1) + (_u(s, "bsize", item) < 0.5).cast("int")

    def partner(k: int) -> Column:
        same = _u(s, f"bsame{k}", item) < 0.6
        cat = F.when(same, _category(item)).otherwise((_u(s, f"bcat{k}", item) * N_CAT).cast("int"))
        rank = (_u(s, f"brank{k}", item) * max(2, per_cat // 3)).cast("int")
        cand = rank * N_CAT + cat
        return F.when(cand == item, F.pmod(rank + 1, F.lit(per_cat)) * N_CAT + cat).otherwise(cand)

    both = F.array(partner(1), partner(2))
    return F.when(anchor, F.array_distinct(F.slice(both, 1, size))).otherwise(F.array().cast("array<int>"))


def products(spark: SparkSession, spec: ShopSpec) -> DataFrame:
    """The catalogue, as landed: product_id, title, description, category, brand, price (strings)."""
    s = spec.seed
    item = F.col("id")
    cat = _category(item)
    nouns = [c[1] for c in CATEGORIES]
    words = [c[2] for c in CATEGORIES]
    brands = [c[3] for c in CATEGORIES]
    desc_words = [_nested(words, cat, _u(s, f"dw{k}", item)) for k in range(7)]
    return spark.range(spec.items).select(
        F.format_string("P%06d", item).alias("product_id"),
        F.concat_ws(" ", _nested(brands, cat, _u(s, "brand", item)), _nested(words, cat, _u(s, "adj", item)),
                    _nested(nouns, cat, _u(s, "noun", item))).alias("title"),
        F.concat_ws(" ", *desc_words, _pick(GENERIC_WORDS, _u(s, "gw", item)),
                    F.element_at(F.array(*[F.lit(t) for t in TIERS]), _tier(s, item) + 1)).alias("description"),
        F.element_at(F.array(*[F.lit(c[0]) for c in CATEGORIES]), cat + 1).alias("category"),
        _nested(brands, cat, _u(s, "brand", item)).alias("brand"),
        _price(s, item).cast("string").alias("price"),
    )


def _customers_base(spark: SparkSession, spec: ShopSpec) -> DataFrame:
    s = spec.seed
    cum, acc = [], 0.0
    for _, w in COUNTRIES:
        acc += w
        cum.append(acc)
    uc = _u(s, "country", "id")
    country = F.lit(COUNTRIES[-1][0])
    for (name, _), edge in reversed(list(zip(COUNTRIES, cum, strict=True))):
        country = F.when(uc < edge, F.lit(name)).otherwise(country)
    primary = (F.pow(_u(s, "primary", "id"), 1.6) * N_CAT).cast("int")
    signup = (_u(s, "signup", "id") * (spec.days - 14)).cast("int")
    churner = _u(s, "churn", "id") < CHURN_SHARE
    span = F.lit(spec.days) - signup
    churn_day = signup + (span * (0.15 + 0.6 * _u(s, "churn_day", "id"))).cast("int")
    opt_in = _u(s, "optout", "id") >= OPT_OUT_SHARE
    user_id = F.format_string("U%07d", F.col("id"))
    sent = (opt_in & (signup < spec.send_day) & (_u(s, "reach", "id") < PLANTED_REACH)
            & ~assign.in_holdout(spec.salt, spec.holdout, user_id))
    arm = F.when(sent, assign.arm(spec.salt, PLANTED_CAMPAIGN, PLANTED_TREATMENT_SHARE, user_id))
    treated = F.coalesce(arm == S.TREATMENT, F.lit(False))
    activity = -F.log(F.lit(1.0) - _u(s, "activity", "id") * 0.999)
    end_day = F.when(churner, churn_day).otherwise(F.lit(spec.days))
    lapsed = end_day <= F.lit(spec.send_day)
    loyal = ~lapsed & (activity >= LOYAL_ACTIVITY)
    chance = (F.when(lapsed & (activity >= 0.5) & (activity < 2.0), F.lit(UPLIFT_LAPSED_MID))
              .when(lapsed, F.lit(UPLIFT_LAPSED)).when(loyal, F.lit(0.0)).otherwise(F.lit(UPLIFT_ACTIVE)))
    return spark.range(spec.users).select(
        F.col("id").alias("uidx"),
        F.format_string("U%07d", F.col("id")).alias("user_id"),
        primary.alias("primary"),
        F.pmod(primary + 1 + (_u(s, "secondary", "id") * (N_CAT - 1)).cast("int"), F.lit(N_CAT))
        .alias("secondary"),
        F.pmod(F.xxhash64(F.lit(s), F.lit("band"), F.col("id")), F.lit(3)).cast("int").alias("band"),
        activity.alias("activity"),
        signup.alias("signup_day"),
        churner.alias("churner"),
        end_day.alias("end_day"),
        country.alias("country"),
        opt_in.alias("opt_in"),
        arm.alias("planted_arm"),
        (treated & (_u(s, "uplift", "id") < chance)).alias("comes_back"),
        (treated & loyal & (_u(s, "annoyed", "id") < ANNOYED_SHARE)).alias("annoyed"),
        F.when(sent, assign.arm(spec.salt, PLANTED_AA, 0.5, user_id)).alias("aa_arm"),
        F.when(sent, assign.arm(spec.salt, PLANTED_BROKEN, 0.5, user_id)).alias("broken_arm"),
        (_u(s, "bounced", "id") < BROKEN_LOSS).alias("bounced"),
    )


def customers(spark: SparkSession, spec: ShopSpec) -> DataFrame:
    """Customers, as landed: customer_id, signup_date, country, marketing_opt_in, email (strings)."""
    base = _customers_base(spark, spec)
    return base.select(
        F.col("user_id").alias("customer_id"),
        F.date_format(F.date_add(F.lit(spec.start), F.col("signup_day")), "yyyy-MM-dd").alias("signup_date"),
        "country",
        F.when(F.col("opt_in"), "yes").otherwise("no").alias("marketing_opt_in"),
        F.format_string("customer%07d@example.com", F.col("uidx")).alias("email"),
    )


def campaign_sends(spark: SparkSession, spec: ShopSpec) -> DataFrame:
    """The provider's export of the planted campaigns (strings): campaign, user_id, sent_at, arm, channel."""
    sent_at = F.date_format(F.date_add(F.lit(spec.start), spec.send_day), "yyyy-MM-dd")
    base = _customers_base(spark, spec).where(F.col("planted_arm").isNotNull())
    lost = (F.col("broken_arm") == S.TREATMENT) & F.col("bounced")
    plans = ((PLANTED_CAMPAIGN, "planted_arm", F.lit(True)), (PLANTED_AA, "aa_arm", F.lit(True)),
             (PLANTED_BROKEN, "broken_arm", ~lost))
    parts = [base.where(keep).select(F.lit(name).alias(S.CAMPAIGN), "user_id", sent_at.alias("sent_at"),
                                     F.col(arm).alias(S.ARM), F.lit("email").alias(S.CHANNEL))
             for name, arm, keep in plans]
    return parts[0].unionByName(parts[1]).unionByName(parts[2])


def _sessions(base: DataFrame, spec: ShopSpec) -> DataFrame:
    s = spec.seed
    n = (F.lit(1) + (F.col("activity") * (MEAN_SESSIONS - 1)).cast("int"))
    extra = F.when(F.col("comes_back"), F.array(F.lit(CAMPAIGN_SESSION))).otherwise(F.array().cast("array<int>"))
    sess = base.select("*", F.explode(F.concat(F.sequence(F.lit(0), n - 1), extra)).alias("sidx"))
    u_day = _u(s, "sday", "uidx", "sidx")
    span = F.col("end_day") - F.col("signup_day")
    # churners' sessions thin out towards their churn day; others are uniform
    frac = F.when(F.col("churner"), F.lit(1.0) - F.sqrt(F.lit(1.0) - u_day)).otherwise(u_day)
    back = F.lit(spec.send_day + 1) + (u_day * 10).cast("int")  # the planted campaign's effect
    day = F.when(F.col("sidx") == CAMPAIGN_SESSION, back).otherwise(F.col("signup_day") + (frac * span).cast("int"))
    start_s = (F.lit(spec.start).cast("timestamp").cast("long") + day * 86400
               + (F.lit(28800) + _u(s, "stime", "uidx", "sidx") * 50400).cast("long"))
    skipped = F.col("annoyed") & (day > F.lit(spec.send_day)) & (day <= F.lit(spec.send_day + ANNOYED_DAYS))
    return sess.where(~skipped).select(
        "uidx", "user_id", "primary", "secondary", "band", "sidx",
        F.concat_ws("-", F.lit("S"), F.col("uidx").cast("string"), F.col("sidx").cast("string"))
        .alias("session_id"),
        start_s.alias("start_s"),
        (F.lit(1) + (_u(s, "nviews", "uidx", "sidx") * 6).cast("int")).alias("n_views"),
    )


def _views(sessions: DataFrame, spec: ShopSpec) -> DataFrame:
    s = spec.seed
    v = sessions.select("*", F.explode(F.sequence(F.lit(0), F.col("n_views") - 1)).alias("vidx"))
    key = ("uidx", "sidx", "vidx")
    uc = _u(s, "vcat", *key)
    cat = (F.when(uc < 0.65, F.col("primary")).when(uc < 0.90, F.col("secondary"))
           .otherwise((_u(s, "vcat2", *key) * N_CAT).cast("int")))
    rank = (F.pow(_u(s, "vrank", *key), 2.5) * spec.per_cat).cast("int")
    item1 = rank * N_CAT + cat
    item2 = F.pmod(rank + 1, F.lit(spec.per_cat)) * N_CAT + cat
    switch = (_tier(s, item1) != F.col("band")) & (_u(s, "vswitch", *key) < 0.6)
    return v.select(
        "uidx", "user_id", "band", "sidx", "session_id", "vidx",
        F.when(switch, item2).otherwise(item1).alias("idx"),
        (F.col("start_s") + F.col("vidx") * 90 + (_u(s, "vsec", *key) * 60).cast("long")).alias("t"),
    )


_ID_PREFIX = {"view": "v", "cart": "c", "purchase": "p", "return": "x", "rating": "r", "bundle": "b"}
_EVENT_FIELDS = "etype string, tag string, item int, t long, qty int, price double, is_order boolean, rating int"


def _ev(etype: str, item: Column, t: Column, qty: Column | None = None, price: Column | None = None,
        order: bool = False, rating: Column | None = None, tag: Column | None = None) -> Column:
    none = F.lit(None)
    return F.struct(
        F.lit(etype).alias("etype"), (tag if tag is not None else F.lit(_ID_PREFIX[etype])).alias("tag"),
        item.cast("int").alias("item"), t.cast("long").alias("t"),
        (qty if qty is not None else none).cast("int").alias("qty"),
        (price if price is not None else none).cast("double").alias("price"),
        F.lit(order).alias("is_order"), (rating if rating is not None else none).cast("int").alias("rating"),
    )


def events(spark: SparkSession, spec: ShopSpec) -> DataFrame:
    """Landed events (strings): event_id, user_id, product_id, event_type, event_time, session_id, order_id,
    quantity, unit_price, rating.

    Built in one lineage: each view expands into the array of events it leads to (its cart, purchase, bundle
    purchases, return and rating), which is exploded; no joins, no unions."""
    s = spec.seed
    views = _views(_sessions(_customers_base(spark, spec), spec), spec)
    key = ("uidx", "sidx", "vidx")
    idx, t = F.col("idx"), F.col("t")
    end_s = F.lit(spec.start).cast("timestamp").cast("long") + spec.days * 86400 - 1
    price = _price(s, idx)
    won_back = (F.col("sidx") == CAMPAIGN_SESSION) & (F.col("vidx") == 0)  # the offer's visit ends in a purchase
    carted = won_back | (_u(s, "cart", *key) < F.when(_tier(s, idx) == F.col("band"), 0.35).otherwise(0.15))
    bought = won_back | (carted & (_u(s, "buy", *key) < 0.55))
    qty = F.lit(1) + (F.pow(_u(s, "qty", *key), 3) * 3).cast("int")
    ret_t = t + 600 + (F.lit(3) + (_u(s, "rday", *key) * 17).cast("long")) * 86400
    returned = bought & (_u(s, "return", *key) < 0.04) & (ret_t <= end_s)
    rate_t = t + 600 + (F.lit(2) + (_u(s, "rtday", *key) * 10).cast("long")) * 86400
    rated = bought & (_u(s, "rate", *key) < 0.10) & (rate_t <= end_s)
    stars = F.least(F.lit(5), F.greatest(F.lit(1), (
        F.lit(2.0) + 2.0 * (_tier(s, idx) == F.col("band")).cast("int") + _u(s, "stars", *key) * 2).cast("int")))
    singles = F.array(
        _ev("view", idx, t),
        F.when(carted, _ev("cart", idx, t + 30, F.lit(1), price)),
        F.when(bought, _ev("purchase", idx, t + 600, qty, price, order=True)),
        F.when(returned, _ev("return", idx, ret_t, -qty, price, order=True)),
        F.when(rated, _ev("rating", idx, rate_t, rating=stars)),
    )
    bundle = F.transform(
        F.filter(_partners(spec, idx), lambda p: bought & (_u(s, "bundle", *key, p) < 0.5)),
        lambda p: _ev("purchase", p, t + 620, F.lit(1), _price(s, p), order=True,
                      tag=F.concat(F.lit("b"), p.cast("string"))),
    )
    evs = F.filter(F.concat(singles, bundle), lambda e: e.isNotNull())
    exploded = views.select("uidx", "user_id", "sidx", "session_id", "vidx", F.explode(evs).alias("e"))
    e = F.col("e")
    clean = exploded.select(
        F.concat_ws("-", F.lit("E"), e["tag"], F.col("uidx").cast("string"), F.col("sidx").cast("string"),
                    F.col("vidx").cast("string")).alias("event_id"),
        "user_id",
        F.format_string("P%06d", e["item"]).alias("product_id"),
        e["etype"].alias("event_type"),
        F.date_format(F.timestamp_seconds(e["t"]), "yyyy-MM-dd HH:mm:ss").alias("event_time"),
        "session_id",
        F.when(e["is_order"], F.concat_ws("-", F.lit("O"), F.col("uidx").cast("string"),
                                          F.col("sidx").cast("string"))).alias("order_id"),
        e["qty"].cast("string").alias("quantity"),
        e["price"].cast("string").alias("unit_price"),
        e["rating"].cast("string").alias("rating"),
    )
    return _with_dirt(clean, spec) if spec.dirty_fraction > 0 else clean


DIRT_KINDS = 6


def _with_dirt(clean: DataFrame, spec: ShopSpec) -> DataFrame:
    """Add a malformed copy of a sample of rows, one defect each (a new event id except for exact
    duplicates). Clean rows are kept as they are; done with an explode, so the lineage stays single."""
    s = spec.seed
    dirty = _u(s, "dirt", "event_id") < spec.dirty_fraction
    copies = clean.select("*", F.explode(
        F.when(dirty, F.array(F.lit(False), F.lit(True))).otherwise(F.array(F.lit(False)))).alias("_copy"))
    k = F.pmod(F.xxhash64(F.lit(s), F.lit("dirtkind"), F.col("event_id")), F.lit(DIRT_KINDS))
    c = F.col("_copy")

    def bad(kind: int, value: Column, col: str) -> Column:
        return F.when(c & (k == kind), value).otherwise(F.col(col))

    return copies.select(
        F.when(c & (k != 3), F.concat(F.col("event_id"), F.lit("-x"))).otherwise(F.col("event_id"))
        .alias("event_id"),
        bad(0, F.lit(None), "user_id").alias("user_id"),
        "product_id",
        F.when(c & (k == 2), F.lit("click")).when(c & (k == 4), F.lit("purchase")).otherwise(F.col("event_type"))
        .alias("event_type"),
        F.when(c & (k == 1), F.lit("not-a-date")).when(c & (k == 5), F.lit("2999-01-01 00:00:00"))
        .otherwise(F.col("event_time")).alias("event_time"),
        "session_id", "order_id",
        bad(4, F.lit("1"), "quantity").alias("quantity"),
        bad(4, F.lit("-1.0"), "unit_price").alias("unit_price"),
        "rating",
    )
