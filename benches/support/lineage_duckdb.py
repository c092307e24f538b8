"""The lineage benchmark's peer: DuckDB answering impact analysis with a recursive CTE over the
same edges (the Parquet files of the warehouse's meta.lineage Delta table, as its log lists
them) joined to the same products. Warm: the tables loaded once into DuckDB, then every start
product queried. Cold: a new connection per query, reading the Parquet files in the query —
in this process, and again in a new Python process per query (start, `import duckdb`, query),
the way a new `lakemeta sql -c` process answers.
Prints one JSON object of latencies in milliseconds.

usage: lineage_duckdb.py WAREHOUSE STARTS_FILE DEPTH COLD_RUNS
"""
import json
import statistics
import subprocess
import sys
import time

import duckdb
from deltalake import DeltaTable

warehouse, starts_file, depth, cold_runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
starts = [line.strip() for line in open(starts_file) if line.strip()]
edges_files = DeltaTable(f"{warehouse}/_meta/lineage").file_uris()
product_files = DeltaTable(f"{warehouse}/_meta/products").file_uris()


def impact(edges, products):
    # every downstream product once, at its shortest depth, with domain, owner and SLA
    return f"""
    WITH RECURSIVE walk(product, depth) AS (
        SELECT CAST(? AS VARCHAR), 0
        UNION
        SELECT e.target, w.depth + 1
        FROM walk w JOIN {edges} e ON e.source = w.product
        WHERE w.depth < {depth}
    )
    SELECT w.product, min(w.depth) AS depth, p.domain, p.owner, p.sla_freshness_minutes
    FROM walk w JOIN {products} p ON p.domain || '.' || p.name = w.product
    WHERE w.depth > 0
    GROUP BY w.product, p.domain, p.owner, p.sla_freshness_minutes
    """


def pct(samples, q):
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


con = duckdb.connect()
con.execute("CREATE TABLE edges AS SELECT source, target FROM read_parquet(?)", [edges_files])
con.execute(
    "CREATE TABLE products AS SELECT domain, name, owner, sla_freshness_minutes FROM read_parquet(?)",
    [product_files],
)
warm_sql = impact("edges", "products")
rows = []
con.execute(warm_sql, [starts[0]]).to_arrow_table()  # first run outside the samples
warm = []
for s in starts:
    t = time.perf_counter()
    result = con.execute(warm_sql, [s]).to_arrow_table()
    warm.append((time.perf_counter() - t) * 1000)
    rows.append(result.num_rows)

edges_list = "[" + ", ".join(f"'{f}'" for f in edges_files) + "]"
products_list = "[" + ", ".join(f"'{f}'" for f in product_files) + "]"
cold_sql = impact(f"read_parquet({edges_list})", f"read_parquet({products_list})")
cold = []
for s in starts[:cold_runs]:
    t = time.perf_counter()
    c = duckdb.connect()
    c.execute(cold_sql, [s]).to_arrow_table()
    c.close()
    cold.append((time.perf_counter() - t) * 1000)

# a new process per query: what a command-line tool pays, as lakemeta's cold runs do
ONE_QUERY = """
import sys
import duckdb
duckdb.connect().execute(sys.argv[1], [sys.argv[2]]).to_arrow_table()
"""
process = []
for s in starts[:cold_runs]:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", ONE_QUERY, cold_sql, s], check=True)
    process.append((time.perf_counter() - t) * 1000)

print(json.dumps({
    "warm_p50_ms": statistics.median(warm),
    "warm_p95_ms": pct(warm, 0.95),
    "cold_p50_ms": statistics.median(cold),
    "cold_p95_ms": pct(cold, 0.95),
    "process_p50_ms": statistics.median(process),
    "process_p95_ms": pct(process, 0.95),
    "rows": rows,
    "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
}))
