"""The campaign rule language (tailor.sandbox): what it refuses, naming the construct, and what it
passes."""

from __future__ import annotations

import pytest

from tailor.errors import ConfigError

# --- assignment and statistics -------------------------------------------------------------------------


# --- audiences on generated data -----------------------------------------------------------------------


# --- the jobs over consecutive days --------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "named"), [
    ("reflect('java.lang.System', 'getenv', 'TAILOR_PSEUDONYM_KEY') = 'x'", "reflect()"),
    ("java_method('java.lang.System', 'exit', 3) = 0", "java_method()"),
    ("raise_error('boom') IS NULL", "raise_error()"),
    ("assert_true(frequency > 0) IS NULL", "assert_true()"),
    ("(SELECT max(value) FROM text.`/etc/hostname`) = 'x'", "a subquery"),
    ("EXISTS (SELECT 1 FROM delta.`/tmp/other-warehouse/silver/quarantine`)", "a subquery"),
    ("frequency IN (SELECT 1)", "a subquery"),
    ("my_udf(frequency) > 1", "my_udf()"),
    ("system.builtin.abs(frequency) > 1", "system.builtin.abs()"),
    ("rand() > 0.5", "rand()"),
    ("current_date() > '2026-01-01'", "current_date()"),
    ("exists(array(1), x -> x > 0)", "exists()"),
    ("t.frequency > 1", "the qualified name t.frequency"),
    ("frequency RLIKE '(a+)+$'", "RLIKE"),
])
def test_a_rule_outside_the_language_is_refused_naming_the_construct(spark, rule, named):
    from tailor import sandbox

    with pytest.raises(ConfigError) as e:
        sandbox.check(spark, rule, "probe")
    assert named in str(e.value) and "campaign 'probe'" in str(e.value)


@pytest.mark.parametrize("rule", [
    "churn_decile >= 8 AND monetary_total > monetary_median",
    "recency_days BETWEEN 30 AND 90 OR frequency IN (1, 2)",
    "CASE WHEN segment LIKE 'loyal%' THEN true ELSE coalesce(purchase_score, 0) > 0.5 END",
    "NOT (country IS NULL) AND abs(spend_trend) * 2 <= least(monetary_total, 100) AND cast(r_score AS int) % 2 = 0",
    "-recency_days < -3 AND lower(top_category) = 'toys'",
])
def test_rules_in_the_language_pass(spark, rule):
    from tailor import sandbox

    sandbox.check(spark, rule, "fine")  # no error


def test_a_refused_rule_exits_2_before_the_job_reads_anything(tmp_path, capsys):
    from tailor.cli import main

    rule = "reflect('java.lang.System', 'getenv', 'TAILOR_PSEUDONYM_KEY') = 'x'"
    code = main(["campaign", "--set", f"warehouse={tmp_path / 'empty'}", "--set", "spark.shuffle_partitions=2",
                 "--set", f'campaigns.definitions=[{{"name": "leak", "rule": "{rule}"}}]'])
    err = capsys.readouterr().err
    assert code == 2 and "reflect()" in err
    assert len([line for line in err.splitlines() if line.startswith("tailor:")]) == 1
