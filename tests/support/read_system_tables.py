"""Reads every lakemeta system table of a warehouse with Python deltalake, and queries each
with DuckDB (over the files of the table's current Delta snapshot). Prints one JSON object:
{table: {"deltalake_rows": n, "duckdb_rows": n, "columns": [...]}}."""
import json
import sys

import duckdb
from deltalake import DeltaTable

root = sys.argv[1].rstrip("/")
out = {}
for name in ["domains", "products", "contracts", "lineage", "quality_results"]:
    dt = DeltaTable(f"{root}/_meta/{name}")
    table = dt.to_pyarrow_table()
    files = dt.file_uris()
    if files:
        duck = duckdb.sql(f"SELECT count(*) FROM read_parquet({files!r})").fetchone()[0]
    else:
        duck = 0
    out[name] = {
        "deltalake_rows": table.num_rows,
        "duckdb_rows": duck,
        "columns": table.column_names,
    }
# a nested column, unnested by DuckDB from the Arrow table deltalake returned
products = DeltaTable(f"{root}/_meta/products").to_pyarrow_table()
out["orders_fact_columns"] = [
    r[0]
    for r in duckdb.sql(
        "SELECT c.name FROM (SELECT unnest(columns) AS c FROM products "
        "WHERE name = 'orders_fact') ORDER BY c.ordinal"
    ).fetchall()
]
print(json.dumps(out))
