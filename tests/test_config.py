from pathlib import Path

import pytest
import yaml

from tailor.cli import EXIT_USAGE, main
from tailor.config import Config, load_config
from tailor.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_base_yaml_states_exactly_the_defaults():
    written = yaml.safe_load((ROOT / "conf" / "base.yaml").read_text())
    assert Config.model_validate(written) == Config()
    assert Config.model_validate(written).model_dump() == Config().model_dump()


@pytest.mark.parametrize("overlay", ["local.yaml", "cluster.yaml", "demo.yaml"])
def test_shipped_overlays_validate(overlay):
    load_config([str(ROOT / "conf" / overlay)])


def test_the_demo_overlay_keeps_local_settings_and_shrinks_only_the_model_searches():
    local = load_config([str(ROOT / "conf" / "local.yaml")])
    demo = load_config([str(ROOT / "conf" / "local.yaml"), str(ROOT / "conf" / "demo.yaml")])
    assert demo.spark.master == local.spark.master and demo.warehouse == local.warehouse
    assert demo.spark.conf["spark.sql.codegen.wholeStage"] == "false"
    changed = {k for k, v in demo.model_dump().items() if v != local.model_dump()[k]}
    assert changed == {"spark", "propensity", "uplift", "segments"}
    assert demo.propensity.targets == local.propensity.targets
    assert demo.propensity.algorithms == local.propensity.algorithms
    assert demo.uplift.model_copy(update={"max_iter": local.uplift.max_iter}) == local.uplift  # only the trees
    assert demo.uplift.max_iter == 10
    assert demo.segments.model_copy(update={"k_max": local.segments.k_max}) == local.segments  # only k's range
    assert demo.segments.k_max == 5


def test_overlays_and_overrides_apply_in_order(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_text("seed: 7\nspark:\n  shuffle_partitions: 3\n")
    cfg = load_config([str(f)], ["spark.shuffle_partitions=5", "ingest.max_reject_ratio=0.5"])
    assert cfg.seed == 7
    assert cfg.spark.shuffle_partitions == 5
    assert cfg.spark.master == "local[2]"  # untouched default survives the overlay
    assert cfg.ingest.max_reject_ratio == 0.5


def test_unknown_key_is_named():
    with pytest.raises(ConfigError, match=r"unknown config key 'spark.shuffle_partition'"):
        load_config([], ["spark.shuffle_partition=4"])


def test_wrong_type_is_named():
    with pytest.raises(ConfigError, match=r"config key 'spark.shuffle_partitions'"):
        load_config([], ["spark.shuffle_partitions=many"])


def test_out_of_range_is_named():
    with pytest.raises(ConfigError, match=r"'ingest.max_reject_ratio'"):
        load_config([], ["ingest.max_reject_ratio=1.5"])


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="config file not found: .*nope.yaml"):
        load_config([str(tmp_path / "nope.yaml")])


def test_malformed_set():
    with pytest.raises(ConfigError, match="--set expects key=value"):
        load_config([], ["seed"])


def test_cli_config_error_exits_2_with_one_line(capsys):
    assert main(["ingest", "--set", "spark.nope=1"]) == EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["tailor: config error: unknown config key 'spark.nope'"]


def test_cli_bad_run_date_exits_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["ingest", "--run-date", "23/11/2026"])
    assert e.value.code == EXIT_USAGE
    assert "--run-date must be YYYY-MM-DD" in capsys.readouterr().err


def test_cf_must_read_a_similarity_method_that_is_written():
    with pytest.raises(ConfigError, match="cf.item_method 'pearson' must be one of similarity.item_methods"):
        load_config([], ["cf.item_method=pearson"])
    cfg = load_config([], ["similarity.user_methods=[]", "cf.user_method=null"])
    assert cfg.cf.user_method is None
    with pytest.raises(ConfigError, match="cf.user_method"):
        load_config([], ["similarity.user_methods=[]"])


def test_segment_features_must_be_numeric_feature_columns():
    with pytest.raises(ConfigError, match=r"unknown features \['country'\]"):
        load_config([], ["segments.features=[frequency, country]"])
    with pytest.raises(ConfigError, match="k_min must not exceed k_max"):
        load_config([], ["segments.k_min=5", "segments.k_max=3"])


def test_error_text_is_one_line_and_scrubbed_of_secrets(monkeypatch):
    from tailor.errors import REDACTED, first_line, register_secret

    monkeypatch.setenv("SHOP_API_TOKEN", "tok-1234")
    register_secret("the-pseudonym-key-value")
    text = ("java.lang.NumberFormatException: For input string: 'the-pseudonym-key-value' via tok-1234\n"
            "\tat java.base/java.lang.Integer.parseInt(Integer.java:652)\n" * 40)
    line = first_line(text)
    assert "\n" not in line and "the-pseudonym-key-value" not in line and "tok-1234" not in line
    assert line.count(REDACTED) == 2 and line.startswith("java.lang.NumberFormatException")


def test_each_capability_names_its_plan():
    cfg = load_config([], ["plans.grouped_max_rows=500", "plans.user_cf=spark", "plans.hybrid=grouped"])
    assert cfg.plans.max_rows("item_cf") == 500          # auto: grouped up to the bound
    assert cfg.plans.max_rows("user_cf") == 0            # Spark's join, whatever the size
    assert cfg.plans.max_rows("hybrid") >= 2**62         # grouped, whatever the size
    with pytest.raises(ConfigError, match="plans.als_top_n"):
        load_config([], ["plans.als_top_n=numpy"])
