"""Reading a source's files: CSV (any delimiter, whitespace or a regex), Parquet, JSON Lines and Excel, from a
file, a folder or a glob, with column names Delta accepts.

Spark has no Excel reader, so an Excel workbook (``.xlsx``) is streamed row by row (openpyxl's read-only
mode: memory stays flat however long the sheet) into a CSV beside the system's temp files, named by the
workbook's content hash so a re-ingest reuses it, and read from there. The CSV is on the driver's disk, so
Excel needs a local master; on a cluster, save the sheet as CSV.

Every reader returns the file's fields as they are (strings from text formats; Parquet and JSON keep their
types until bronze casts them to strings) plus :data:`tailor.csvfile.CORRUPT`, the raw text of a record
that could not be split into the header's fields (null otherwise), so no record is lost or guessed.

Column names are sanitised by :func:`sanitize`: Delta refuses ``' ,;{}()\\n\\t='`` in names, and a shop's
header says ``Customer ID``. A mapping may name a column as the file does (``Customer ID``) or as bronze
stores it (``Customer_ID``); :func:`column_of` accepts both.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import os
import re
import tempfile
from datetime import datetime, time
from pathlib import Path

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from tailor import csvfile
from tailor.errors import SourceError, first_line
from tailor.settings import FileSettings

_INVALID = re.compile(r"[ ,;{}()\n\t=]+")
_LINE = "_line"


def sanitize_name(name: str, position: int) -> str:
    """``name`` as Delta accepts it: each run of ``' ,;{}()\\n\\t='`` becomes ``_``, outer ones are dropped, and
    an empty name becomes ``_c<position>``."""
    out = _INVALID.sub("_", name.strip(" ,;{}()\n\t="))
    return out or f"_c{position}"


def sanitize(names: list[str]) -> tuple[list[str], dict[str, str]]:
    """Sanitised names (unique: a clash gets ``_2``, ``_3``...) and the renames made, original -> new."""
    out: list[str] = []
    seen: set[str] = set()
    for i, n in enumerate(names):
        base = sanitize_name(n, i)
        new, k = base, 2
        while new.lower() in seen:  # Delta compares names without case
            new, k = f"{base}_{k}", k + 1
        seen.add(new.lower())
        out.append(new)
    return out, {o: n for o, n in zip(names, out, strict=True) if o != n}


def column_of(name: str, columns: list[str]) -> str | None:
    """The column of ``columns`` (sanitised names) that ``name`` denotes: itself, or its sanitised form."""
    if name in columns:
        return name
    clean = sanitize_name(name, -1)
    return clean if clean in columns else None


def separator(f: FileSettings) -> str:
    """The field separator of a delimited file (``\\t`` and ``tab`` written in config mean a tab)."""
    return {"\\t": "\t", "tab": "\t"}.get(f.delimiter, f.delimiter)


def local_header(f: FileSettings) -> list[str] | None:
    """The (sanitised) column names of a local, single, uncompressed text file, read from its first line
    without Spark; None when that cannot be known so cheaply (Parquet, JSON, a folder, a glob, a URI, gzip)."""
    path = Path(f.path)
    if f.format != "csv" or "://" in f.path or not path.is_file() or path.suffix in (".gz", ".bz2", ".zip"):
        return None
    with path.open(encoding=f.encoding, errors="replace", newline="") as fh:
        first = next((line for line in fh if line.strip()), "")
    first = first.lstrip("\ufeff").rstrip("\r\n")
    if f.delimiter == "whitespace":
        fields = first.split()
    elif f.delimiter.startswith("regex:"):
        fields = re.split(f.delimiter.removeprefix("regex:"), first)
    elif len(separator(f)) == 1 and f.quote:
        fields = next(csv.reader([first], delimiter=separator(f), quotechar=f.quote))
    else:
        fields = first.split(separator(f))
    return sanitize(fields if f.header else [f"_c{i}" for i in range(len(fields))])[0]


def read(spark: SparkSession, f: FileSettings, what: str) -> tuple[DataFrame, dict[str, str]]:
    """The records at ``f.path`` with sanitised column names, and the renames made.

    Raises:
        SourceError: nothing at the path, an unreadable file, or no header.
    """
    if f.format == "excel":
        staged = excel_as_csv(spark, f.path, what)
        df = csvfile.read(spark, staged, what=what, sep=",", header=True, encoding="UTF-8", quote='"')
    elif f.format == "parquet":
        df = _spark_read(lambda: spark.read.parquet(f.path), f, what)
        df = df.withColumn(csvfile.CORRUPT, F.lit(None).cast("string"))
    elif f.format == "json":
        df = _spark_read(lambda: spark.read.option("mode", "PERMISSIVE").option("encoding", f.encoding)
                         .option("columnNameOfCorruptRecord", csvfile.CORRUPT).json(f.path), f, what)
        if csvfile.CORRUPT not in df.columns:
            df = df.withColumn(csvfile.CORRUPT, F.lit(None).cast("string"))
    elif f.delimiter == "whitespace" or f.delimiter.startswith("regex:"):
        df = _split_lines(spark, f, what)
    else:
        df = csvfile.read(spark, f.path, what=what, sep=separator(f), header=f.header, encoding=f.encoding,
                          quote=f.quote)
    landed = [c for c in df.columns if c != csvfile.CORRUPT]
    if not landed:
        raise SourceError(f"{what} {f.path}: no columns found")
    names, renames = sanitize(landed)
    if renames:
        df = df.select(*[F.col(f"`{o}`").alias(n) for o, n in zip(landed, names, strict=True)],
                       F.col(csvfile.CORRUPT))
    return df, renames


def _cell(v: object) -> object:
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, time):
        return v.strftime("%H:%M:%S")
    return "" if v is None else v


def excel_as_csv(spark: SparkSession, path: str, what: str) -> str:
    """The rows of every sheet of the workbook at ``path`` as one staged CSV (RFC 4180, UTF-8), and its path.
    Each sheet's first row is its header, and all sheets must share it (Online Retail II keeps one year per
    sheet). Dates are written as ``yyyy-MM-dd HH:mm:ss``.

    Raises:
        SourceError: not a local file, not a workbook, no rows, sheets with different headers, a cluster master.
    """
    if not spark.sparkContext.master.startswith("local"):
        raise SourceError(f"{what} {path}: Excel is converted on the driver into a local CSV, which a cluster's "
                          "executors cannot read; save the sheet as CSV and point the path at that")
    p = Path(path.removeprefix("file://"))
    if "://" in path.removeprefix("file://") or not p.is_file():
        raise SourceError(f"{what} {path}: an Excel source must be one local .xlsx file")
    try:
        from openpyxl import load_workbook
    except ImportError:  # pragma: no cover - a dependency of the package
        raise SourceError(f"{what} {path}: reading Excel needs openpyxl (pip install openpyxl)") from None
    digest = hashlib.sha256()
    with p.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    out = Path(tempfile.gettempdir()) / "tailor-excel" / f"{p.stem}-{digest.hexdigest()[:16]}.csv.gz"
    if out.exists():
        return str(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        book = load_workbook(p, read_only=True, data_only=True)
    except Exception as e:  # zipfile.BadZipFile, KeyError, InvalidFileException: all mean "not a workbook"
        raise SourceError(f"{what} {path} is not an Excel workbook (.xlsx): {first_line(e, 200)}") from None
    partial = out.with_suffix(f".{os.getpid()}.part")
    header: list | None = None
    try:
        with gzip.open(partial, "wt", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            for sheet in book.worksheets:
                rows = sheet.iter_rows(values_only=True)
                head = next(rows, None)
                if head is None:
                    continue
                head = list(head)
                while head and head[-1] is None:  # trailing empty header cells of a formatted sheet
                    head.pop()
                if header is None:
                    header = head
                    writer.writerow(_cell(v) for v in header)
                elif head != header:
                    raise SourceError(f"{what} {path}: sheet '{sheet.title}' has the header {head}, unlike the "
                                      f"first sheet's {header}")
                for row in rows:
                    if any(v is not None for v in row):
                        writer.writerow(_cell(v) for v in row[:len(header)])
        if header is None:
            raise SourceError(f"{what} {path}: the workbook has no rows")
        partial.replace(out)
    finally:
        book.close()
        partial.unlink(missing_ok=True)
    return str(out)


def _spark_read(load, f: FileSettings, what: str) -> DataFrame:
    try:
        return load()
    except AnalysisException as e:
        raise SourceError(f"{what} {f.path}: {first_line(e, 300)}") from None


def _split_lines(spark: SparkSession, f: FileSettings, what: str) -> DataFrame:
    """A text file whose fields are separated by whitespace or a regex: each line read whole (in the file's
    encoding), blank lines skipped, split; a line with another number of fields than the first (header) line
    keeps its text in CORRUPT. With a header, every file's header line is dropped."""
    whole = csvfile.read(spark, f.path, what=what, sep="\u0001", header=False, encoding=f.encoding, quote="")
    line = F.col("_c0")
    if f.delimiter == "whitespace":
        line, pattern = F.trim(F.regexp_replace(line, r"^[ \t]+|[ \t\r]+$", "")), r"[ \t]+"
    else:
        pattern = f.delimiter.removeprefix("regex:")
        line = F.regexp_replace(line, r"\r$", "")
    lines = whole.select(line.alias(_LINE)).where(F.col(_LINE) != "")
    first = lines.first()
    if first is None:
        raise SourceError(f"{what} {f.path} is empty: expected {'a header and ' if f.header else ''}rows")
    head = re.split(pattern, first[_LINE].strip() if f.delimiter == "whitespace" else first[_LINE])
    names = head if f.header else [f"_c{i}" for i in range(len(head))]
    if f.header:
        lines = lines.where(F.col(_LINE) != first[_LINE])
    parts = F.split(F.col(_LINE), pattern)
    fits = F.size(parts) == len(names)
    return lines.select(
        *[F.when(fits, parts[i]).alias(n) for i, n in enumerate(names)],
        F.when(~fits, F.col(_LINE)).alias(csvfile.CORRUPT),
    )


def lookup_joined(df: DataFrame, lookups, what: str, verify: bool = True) -> DataFrame:
    """``df`` left-joined with each lookup on its key, so mappings can use the lookup's columns. A row whose
    key the lookup lacks keeps nulls there (no row is dropped). A lookup's column named like one already
    present is prefixed with ``<name>_``.

    Args:
        verify: check that each lookup's keys are unique (a Spark job per lookup); a caller that already
            verified the same files passes False.

    Raises:
        SourceError: the ``column`` is not in the file, the key is not in the lookup, or (``verify``) the
            lookup has a key twice (the join would repeat rows).
    """
    spark = df.sparkSession
    for lk in lookups:
        on = column_of(lk.column, df.columns)
        if on is None:
            raise SourceError(f"{what}.lookups[{lk.name}]: column: {lk.column!r} is not a column of the file "
                              f"({', '.join(c for c in df.columns if c != csvfile.CORRUPT)})")
        table, _ = read(spark, lk, f"{what}.lookups[{lk.name}]")
        table = table.drop(csvfile.CORRUPT)
        key = column_of(lk.key or lk.column, table.columns)
        if key is None:
            raise SourceError(f"{what}.lookups[{lk.name}]: key {lk.key or lk.column!r} is not a column of "
                              f"{lk.path} ({', '.join(table.columns)})")
        twice = table.groupBy(key).count().where("count > 1").limit(1).collect() if verify else None
        if twice:
            raise SourceError(f"{what}.lookups[{lk.name}]: key {twice[0][0]!r} appears {twice[0][1]} times in "
                              f"{lk.path}; a lookup's keys must be unique")
        k = "_lookup_key"
        renamed = [F.col(f"`{c}`").alias(f"{lk.name}_{c}" if c in df.columns else c)
                   for c in table.columns if c != key]
        right = table.select(F.col(f"`{key}`").cast("string").alias(k), *renamed)
        df = df.join(right, F.col(f"`{on}`").cast("string") == F.col(k), "left").drop(k)
    return df


def as_column(value: str, columns: list[str], check) -> Column:
    """A mapping value as a column: a column name (as in the file or sanitised), else a SQL expression,
    checked by ``check(text)`` first, with backquoted file names (```Customer ID```) read as sanitised."""
    name = column_of(value, columns)
    if name is not None:
        return F.col(f"`{name}`")
    text = re.sub(r"`([^`]+)`", lambda m: f"`{column_of(m.group(1), columns) or m.group(1)}`", value)
    check(text)
    return F.expr(text)
