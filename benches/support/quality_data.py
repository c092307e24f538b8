"""Generates the quality benchmark's product: ROWS rows of orders as Parquet files (written by
DuckDB) and the same data as a Delta table (written by Python deltalake, with file statistics).

usage: quality_data.py OUT_DIR ROWS
"""
import pathlib
import sys

import duckdb
import pyarrow.dataset as ds
from deltalake import write_deltalake

out = pathlib.Path(sys.argv[1])
rows = int(sys.argv[2])
parquet = out / "parquet"
delta = out / "delta"
parquet.mkdir(parents=True, exist_ok=True)

con = duckdb.connect()
# deterministic data; about 0.1 % of rows break a check so the checks do real work
con.execute(
    f"""
    COPY (
      SELECT
        'o-' || lpad(CAST(i AS VARCHAR), 9, '0')                                   AS order_id,
        CAST(i % 250000 AS BIGINT)                                                 AS customer_id,
        CASE i % 5 WHEN 0 THEN 'pending' WHEN 1 THEN 'paid' WHEN 2 THEN 'shipped'
                   WHEN 3 THEN 'delivered' ELSE 'cancelled' END                    AS status,
        CAST((i * 37) % 100000 AS DOUBLE) / 100.0                                  AS amount,
        CAST(1 + i % 20 AS INTEGER)                                                AS quantity,
        CASE WHEN i % 1000 = 7 THEN NULL ELSE 'user' || (i % 250000) || '@example.com' END AS email,
        CASE i % 6 WHEN 0 THEN 'DE' WHEN 1 THEN 'FR' WHEN 2 THEN 'US' WHEN 3 THEN 'NL'
                   WHEN 4 THEN 'PL' ELSE 'ES' END                                  AS country,
        TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(i % 86400)              AS created_at,
        CASE WHEN i % 50 = 0 THEN NULL ELSE CAST(i % 30 AS DOUBLE) END            AS discount
      FROM range({rows}) t(i)
    ) TO '{parquet}' (FORMAT parquet, PER_THREAD_OUTPUT true, ROW_GROUP_SIZE 1000000)
    """
)
write_deltalake(str(delta), ds.dataset(str(parquet), format="parquet").scanner().to_reader(), mode="overwrite")
print(f"wrote {rows} rows to {parquet} and {delta}")
