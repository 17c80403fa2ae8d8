"""What was sent, as ``contact_history`` rows: from the run date's audiences, or from an export file.

An export (from the e-mail or push provider) is a CSV with a header: ``campaign``, ``user_id`` (or
``customer_id``), ``sent_at`` (a date or a timestamp), and optionally ``arm`` (treatment or control;
default treatment) and ``channel``. Rows that break a rule are quarantined with the first rule broken:
``missing_campaign``, ``missing_user_id``, ``bad_sent_at`` (not a date), ``future_sent_at`` (after the run
date), ``unknown_arm``; then ``duplicate`` (the same row twice) and ``duplicate_id`` (two different rows
for one campaign, customer and day: the first, in the rows' JSON order, is kept).
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.errors import SourceError
from tailor.ingest.validate import RECORD, clean_str, flag, flag_duplicates, record_json

MISSING_CAMPAIGN = "missing_campaign"
MISSING_USER = "missing_user_id"
BAD_SENT_AT = "bad_sent_at"
FUTURE_SENT_AT = "future_sent_at"
UNKNOWN_ARM = "unknown_arm"
KEY = [S.CAMPAIGN, S.USER_ID, S.SENT_DATE]


def from_audiences(audiences: DataFrame, channels: dict[str, str], default_channel: str,
                   run_date: date) -> DataFrame:
    """Both arms of the run date's audiences: treatment rows are the contacts, control rows who was held
    back. ``channels`` maps campaign -> channel where a campaign sets its own."""
    channel = F.lit(default_channel)
    for name, ch in channels.items():
        channel = F.when(F.col(S.CAMPAIGN) == name, F.lit(ch)).otherwise(channel)
    return audiences.select(S.CAMPAIGN, S.USER_ID, F.lit(run_date).alias(S.SENT_DATE), S.ARM,
                            channel.alias(S.CHANNEL), F.lit(run_date).alias("recorded_on"))


def flagged_export(raw: DataFrame, default_channel: str, run_date: date) -> DataFrame:
    """The export's rows typed (contract columns less ``recorded_on``), with ``_record`` and ``reason``.

    Raises:
        SourceError: a required column is missing.
    """
    cols = set(raw.columns)
    user_col = next((c for c in (S.USER_ID, S.CUSTOMER_ID) if c in cols), None)
    missing = [c for c in (S.CAMPAIGN, "sent_at") if c not in cols] + ([] if user_col else ["user_id"])
    if missing:
        raise SourceError(f"the sends export needs columns {missing}; it has {sorted(cols)}")
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
        record_json(raw).alias(RECORD),
    )
    rules = [
        (MISSING_CAMPAIGN, F.col(S.CAMPAIGN).isNull()),
        (MISSING_USER, F.col(S.USER_ID).isNull()),
        (BAD_SENT_AT, F.col(S.SENT_DATE).isNull()),
        (FUTURE_SENT_AT, F.col(S.SENT_DATE) > F.lit(run_date)),
        (UNKNOWN_ARM, ~F.col(S.ARM).isin(S.TREATMENT, S.CONTROL)),
    ]
    out = flag(typed, rules).drop("_sent_raw")
    key = F.concat_ws("\u0001", *[F.col(k).cast("string") for k in KEY])
    return flag_duplicates("_key")(out.withColumn("_key", key)).drop("_key")
