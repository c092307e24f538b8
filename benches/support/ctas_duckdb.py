"""DuckDB's side of the CTAS benchmark: COPY of the same generated rows to a Parquet file.

Usage: ctas_duckdb.py <rows> <out.parquet>"""

import sys

import duckdb

rows, out = int(sys.argv[1]), sys.argv[2]
duckdb.connect().execute(
    f"""
    COPY (
        SELECT range AS id, range % 1000 AS bucket, concat('name-', range % 100000) AS name,
               range * 0.5 AS amount
        FROM range(1, {rows} + 1)
    ) TO '{out}' (FORMAT parquet, COMPRESSION snappy)
    """
)
