"""Grouped kernels (tailor.similarity.local): partition keys send each group to its own partition."""



from tailor.similarity.local import partition_keys


def test_partition_keys_send_each_group_to_its_own_partition(spark):
    from pyspark.sql import functions as F

    n = int(spark.conf.get("spark.sql.shuffle.partitions"))
    keys = partition_keys(spark, n)
    assert len(set(keys)) == n
    df = spark.createDataFrame([(k,) for k in keys], "k long").repartition(n, "k")
    assert df.select(F.spark_partition_id().alias("p")).distinct().count() == n


