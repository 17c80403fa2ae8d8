"""The one CSV reader: every CSV file Tailor reads (sources, provider exports, suppression lists, id files)
goes through :func:`read`.

Spark's CSV defaults are not RFC 4180: the escape character is a backslash, so a doubled quote
(``"A ""B"", C"``) splits the field, and records are lines, so a quoted newline cuts a record in two. This
reader sets what the RFC says: ``"`` quotes, ``"`` escapes a quote, a quoted field may hold the separator, a
newline, a CR or a CRLF (``multiLine``), records end with CRLF or LF, and a UTF-8 byte-order mark is skipped.

A record whose number of fields differs from the header's is kept, with its raw text in :data:`CORRUPT`
(null on a well-formed row), so the caller quarantines it as ``wrong_column_count`` instead of losing or
guessing fields. Separators of more than one character (``::``) work; ``quote=""`` turns quoting off for
files that are not CSV at all (MovieLens' ``|``/tab files, where a title may start with a quote).
"""

from __future__ import annotations

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StringType, StructField, StructType

from tailor.errors import SourceError, first_line

CORRUPT = "_wrong_column_count"
"""The raw text of a record whose field count differs from the header's; null when it matches."""


def _reader(spark: SparkSession, sep: str, header: bool, encoding: str, quote: str):
    r = (spark.read.option("header", header).option("sep", sep).option("encoding", encoding)
         .option("inferSchema", False).option("multiLine", True).option("mode", "PERMISSIVE")
         .option("ignoreLeadingWhiteSpace", False).option("ignoreTrailingWhiteSpace", False))
    if quote:
        return r.option("quote", quote).option("escape", quote)
    return r.option("quote", "")


def read(spark: SparkSession, path: str, *, what: str, sep: str = ",", header: bool = True,
         encoding: str = "UTF-8", quote: str = '"') -> DataFrame:
    """Every field of every record of the CSV file(s) at ``path`` as strings, plus :data:`CORRUPT`.

    Args:
        path: a file, a folder of part files or a glob, as Spark reads them.
        what: what the file is, for error messages ("sends file", "csv.events").
        sep: the field separator (one or more characters).
        header: the first record names the columns; otherwise they are ``_c0``, ``_c1``...
        encoding: the file's character set (e.g. ``ISO-8859-1``).
        quote: the quote character, which also escapes itself; ``""`` for no quoting at all.

    Returns:
        One string column per header field, in file order, then :data:`CORRUPT`.

    Raises:
        SourceError: the path does not exist, cannot be read, or holds no header.
    """
    try:
        columns = _reader(spark, sep, header, encoding, quote).csv(path).columns
    except AnalysisException as e:
        raise SourceError(f"{what} {path}: {first_line(e, 300)}") from None
    if not columns:
        raise SourceError(f"{what} {path} is empty: expected a {'header and ' if header else ''}rows")
    if CORRUPT in columns:
        raise SourceError(f"{what} {path}: a column may not be named {CORRUPT}")
    schema = StructType([StructField(c, StringType()) for c in columns] + [StructField(CORRUPT, StringType())])
    return (_reader(spark, sep, header, encoding, quote).schema(schema)
            .option("columnNameOfCorruptRecord", CORRUPT).option("enforceSchema", True).csv(path))


def write(df: DataFrame, path: str) -> None:
    """Write ``df`` as RFC 4180 CSV part files with a header (a quote inside a field is doubled)."""
    df.write.mode("overwrite").option("header", True).option("quote", '"').option("escape", '"').csv(path)
