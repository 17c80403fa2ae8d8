"""check-source (tailor.ingest.check): the first rows through the mapping, a profile and warnings that name the
jobs affected, nothing written; mapping mistakes are one-line exit-2 errors."""

from tailor.cli import main

# one day of data, order ids that are dates (shared by every customer of the day), one product, and a repeat
ORDERS = ("cust,day,amount\n"
          "c1,20260101,10.0\n"
          "c2,20260101,12.5\n"
          "c2,20260101,12.5\n"
          ",20260101,3.0\n")


def _options(tmp_path, price="amount"):
    f = tmp_path / "orders.csv"
    f.write_text(ORDERS)
    return ["--set", f"warehouse={tmp_path / 'wh'}", "--run-date", "2026-01-02", "--set", "ingest.source=csv",
            "--set", f"sources.csv.events={{path: {f}, timestamp_format: yyyyMMdd, mapping: {{user_id: cust, "
                     f"ts: day, order_id: day, price: {price}}}, constants: {{item_id: gift, event_type: purchase, "
                     "quantity: '1'}}"]


def test_the_profile_and_every_warning_and_nothing_written(tmp_path, capsys):
    assert main(["check-source", *_options(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "events: 4 read, 2 accepted, 2 would be quarantined" in out
    assert "rejected duplicate" in out and "rejected missing_user_id" in out
    assert "user_id            'c1', 'c2'" in out
    assert "distinct_users                2" in out and "distinct_days                 1" in out
    assert "share_null_user          0.2500" in out
    warnings = [line for line in out.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 4, warnings
    assert "all events fall on one day" in warnings[0] and "train-propensity" in warnings[0]
    assert "one product" in warnings[1]
    assert "1 order id(s) are shared across users (order 20260101 has 2 users)" in warnings[2]
    assert "ingest.dedupe=off" in warnings[3]
    assert not list((tmp_path / "wh").glob("*/*/_delta_log"))  # no table


def test_a_mapping_mistake_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["check-source", *_options(tmp_path, price="amout")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "sources.csv.events.mapping.price: 'amout' is not a column of" in err[0]
    assert "(columns: cust, day, amount)" in err[0]


def test_a_missing_file_is_exit_2_before_spark_and_a_mistyped_command_suggests(tmp_path, capsys):
    opts = _options(tmp_path)
    (tmp_path / "orders.csv").unlink()
    assert main(["check-source", *opts]) == 2
    assert "csv.events source not found" in capsys.readouterr().err
    try:
        main(["check-sorce"])
    except SystemExit as e:
        assert e.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did you mean 'check-source'?" in err[0]
