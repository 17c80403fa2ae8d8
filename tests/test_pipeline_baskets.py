"""The whole daily pipeline (tailor.pipeline) on baskets without time or customers, product names from lookup
files: see test_pipeline_shapes.py."""

from test_pipeline_shapes import check_shape


def test_the_pipeline_runs_on_baskets_without_time_or_customers(spark, tmp_path, capsys):
    check_shape(spark, tmp_path, capsys, "baskets")
