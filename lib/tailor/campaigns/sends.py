"""What was sent, as ``contact_history`` rows: from the run date's audiences, or from an export file.

An export (from the e-mail or push provider) is a CSV with a header: ``campaign``, ``user_id`` (or
``customer_id``), ``sent_at`` (a date or a timestamp), and optionally ``arm`` (treatment or control;
default treatment) and ``channel``, read as RFC 4180 CSV. Rows that break a rule are quarantined with the
first rule broken: ``wrong_column_count`` (a ragged record), ``missing_campaign``, ``missing_user_id``,
``bad_sent_at`` (not a date), ``future_sent_at`` (after the run date), ``before_first_event`` (before the
shop's first event: a placeholder date such as 0001-01-01), ``unknown_arm``, ``unknown_campaign`` (neither a
configured campaign, nor one of ``campaign_audiences``, nor in ``campaigns.external``),
``unknown_customer`` (not in silver ``customers``); then, per campaign, customer and day,
``arm_conflict`` (rows in both arms: every one of them is quarantined, since neither can be trusted for the
frequency cap or the experiment), ``duplicate`` (the same campaign, customer, day, arm and channel again,
whatever the time of day: one is kept) and ``duplicate_id`` (one arm on other channels: the smallest
channel name is kept).
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from tailor import csvfile
from tailor import schemas as S
from tailor.errors import SourceError
from tailor.privacy.pseudonym import pseudonym_col
from tailor.quarantine import (
    RECORD,
    WRONG_COLUMN_COUNT,
    clean_str,
    content_hash,
    flag,
    flag_duplicates,
    record_json,
)

MISSING_CAMPAIGN = "missing_campaign"
MISSING_USER = "missing_user_id"
BAD_SENT_AT = "bad_sent_at"
FUTURE_SENT_AT = "future_sent_at"
UNKNOWN_ARM = "unknown_arm"
BEFORE_FIRST_EVENT = "before_first_event"
UNKNOWN_CAMPAIGN = "unknown_campaign"
UNKNOWN_CUSTOMER = "unknown_customer"
ARM_CONFLICT = "arm_conflict"
KEY = [S.CAMPAIGN, S.USER_ID, S.SENT_DATE]


def from_audiences(audiences: DataFrame, channels: dict[str, str], default_channel: str,
                   run_date: date) -> DataFrame:
    """Every arm of the run date's audiences: treatment rows (every arm but control) are the contacts, control
    rows who was held back. ``channels`` maps campaign -> channel where a campaign sets its own."""
    channel = F.lit(default_channel)
    for name, ch in channels.items():
        channel = F.when(F.col(S.CAMPAIGN) == name, F.lit(ch)).otherwise(channel)
    return audiences.select(S.CAMPAIGN, S.USER_ID, F.lit(run_date).alias(S.SENT_DATE), S.ARM,
                            channel.alias(S.CHANNEL), F.lit(run_date).alias("recorded_on"))


CLEAR = frozenset({S.CAMPAIGN, S.USER_ID, S.CUSTOMER_ID, "sent_at", S.ARM, S.CHANNEL})
"""The export's columns a quarantined row keeps readable; every other value is pseudonymised."""


def flagged_export(raw: DataFrame, default_channel: str, run_date: date, *, campaigns: list[str],
                   prefixes: list[str] = (), arms: list[str] = (), customers: DataFrame | None = None,
                   first_day: date | None = None, secret: bytes = b"") -> DataFrame:
    """The export's rows typed (contract columns less ``recorded_on``), with ``_record`` and ``reason``.

    Args:
        raw: the export as read by :func:`tailor.csvfile.read` (strings, and its ragged-record column).
        campaigns: the campaign names that may be recorded.
        prefixes: name prefixes that may be recorded too (``<name>-`` of a per-segment campaign).
        arms: the arm names of A/B/n campaigns, valid besides treatment and control.
        customers: silver customers (``customer_id``, ``email_pseudonym``); None: not checked.
        first_day: the day of the shop's first event; None: not checked.
        secret: the pseudonymisation key, for an export that names customers by ``email``: each address is
            pseudonymised at load and matched to a customer's ``email_pseudonym``; it is never kept.

    Raises:
        SourceError: a required column is missing.
    """
    cols = set(raw.columns) - {csvfile.CORRUPT}
    user_col = next((c for c in (S.USER_ID, S.CUSTOMER_ID, S.EMAIL) if c in cols), None)
    missing = [c for c in (S.CAMPAIGN, "sent_at") if c not in cols] + ([] if user_col else ["user_id"])
    if missing:
        raise SourceError(f"the sends export needs columns {missing} (user_id, customer_id or email); "
                          f"it has {sorted(cols)}")
    named = clean_str(F.col(user_col)).isNotNull()  # the row names a customer, known or not
    if user_col == S.EMAIL:
        if customers is None:
            raise SourceError("the sends export names customers by email, and silver customers does not exist "
                              "to match them: run `tailor ingest` first")
        hashed = pseudonym_col(secret, F.lower(clean_str(F.col(S.EMAIL)))).alias("_email_pseudonym")
        lookup = (customers.where(F.col(S.EMAIL_PSEUDONYM).isNotNull())
                  .select(F.col(S.EMAIL_PSEUDONYM).alias("_email_pseudonym"), F.col(S.CUSTOMER_ID).alias("_by_email")))
        raw = raw.select("*", hashed).join(lookup, "_email_pseudonym", "left").drop("_email_pseudonym")
        user_col = "_by_email"
    sent_raw = clean_str(F.col("sent_at"))
    sent = F.coalesce(F.to_date(F.try_to_timestamp(sent_raw)), F.try_to_date(sent_raw))
    arm = F.lower(clean_str(F.col(S.ARM))) if S.ARM in cols else F.lit(None).cast("string")
    channel = clean_str(F.col(S.CHANNEL)) if S.CHANNEL in cols else F.lit(None).cast("string")
    typed = raw.select(
        clean_str(F.col(S.CAMPAIGN)).alias(S.CAMPAIGN),
        clean_str(F.col(user_col)).alias(S.USER_ID),
        sent.alias(S.SENT_DATE),
        F.coalesce(arm, F.lit(S.TREATMENT)).alias(S.ARM),
        F.coalesce(channel, F.lit(default_channel)).alias(S.CHANNEL),
        sent_raw.alias("_sent_raw"),
        record_json(raw.drop(csvfile.CORRUPT, "_by_email")).alias(RECORD),
        named.alias("_named"),
        (F.col(csvfile.CORRUPT).isNotNull() if csvfile.CORRUPT in raw.columns else F.lit(False)).alias("_ragged"),
    )
    known = F.col(S.CAMPAIGN).isin(*campaigns) if campaigns else F.lit(False)
    for p in prefixes:
        known = known | F.col(S.CAMPAIGN).startswith(p)
    if customers is not None:
        ids = customers.select(F.col(S.CUSTOMER_ID).alias("_known_user")).distinct()
        typed = typed.join(ids, F.col(S.USER_ID) == F.col("_known_user"), "left")
        unknown_user = F.col("_known_user").isNull()
    else:
        unknown_user = F.lit(False)
    rules = [
        (WRONG_COLUMN_COUNT, F.col("_ragged")),
        (MISSING_CAMPAIGN, F.col(S.CAMPAIGN).isNull()),
        (MISSING_USER, ~F.col("_named")),
        (BAD_SENT_AT, F.col(S.SENT_DATE).isNull()),
        (FUTURE_SENT_AT, F.col(S.SENT_DATE) > F.lit(run_date)),
        (BEFORE_FIRST_EVENT, F.col(S.SENT_DATE) < F.lit(first_day) if first_day else F.lit(False)),
        (UNKNOWN_ARM, ~F.col(S.ARM).isin(S.TREATMENT, S.CONTROL, *arms)),
        (UNKNOWN_CAMPAIGN, ~known),
        (UNKNOWN_CUSTOMER, unknown_user),
    ]
    out = flag(typed, rules).drop("_sent_raw", "_ragged", "_known_user", "_named")
    key = F.concat_ws("\u0001", *[F.col(k).cast("string") for k in KEY])
    live = F.col("reason").isNull()
    arms = F.size(F.collect_set(F.when(live, F.col(S.ARM))).over(Window.partitionBy("_key")))
    out = (out.withColumn("_key", key)
           .withColumn("reason", F.when(live & (arms > 1), F.lit(ARM_CONFLICT)).otherwise(F.col("reason")))
           .withColumn("_content", content_hash([F.col(c) for c in (*KEY, S.ARM, S.CHANNEL)])))
    return flag_duplicates("_key", "_content")(out).drop("_key", "_content")
