"""The Python side of benches/flight_sql.rs: ADBC (adbc-driver-flightsql) against `lakemeta serve`,
and DuckDB in-process as the peer. Prints one JSON object.

usage:
  flight_bench.py stream  URI USER PASSWORD PARQUET_DIR RUNS   10M rows: lakemeta over ADBC vs DuckDB
  flight_bench.py numeric URI USER PASSWORD ROWS RUNS          a generated numeric result, transport only
  flight_bench.py load    URI USER PASSWORD CLIENTS SECONDS    concurrent clients, a mix of calls
"""
import json
import multiprocessing
import random
import sys
import time

import warnings

import adbc_driver_flightsql.dbapi as flight_sql

# DuckDB 1.5 renamed fetch_arrow_table (the call the comparison names) to to_arrow_table
warnings.filterwarnings("ignore", category=DeprecationWarning)


def connect(uri, user, password):
    return flight_sql.connect(uri, db_kwargs={"username": user, "password": password}, autocommit=True)


def timed_fetch(cur, sql):
    t = time.perf_counter()
    cur.execute(sql)
    table = cur.fetch_arrow_table()
    return time.perf_counter() - t, table


def stream(uri, user, password, parquet_dir, runs):
    import duckdb

    sql = "SELECT * FROM bench.events"
    out = {"lakemeta": [], "duckdb": []}
    with connect(uri, user, password) as conn, conn.cursor() as cur:
        timed_fetch(cur, sql)  # warm: the product's files and the server's snapshot
        for _ in range(runs):
            seconds, table = timed_fetch(cur, sql)
            out["lakemeta"].append({"seconds": seconds, "rows": table.num_rows, "bytes": table.nbytes})
            del table
    db = duckdb.connect()
    query = f"SELECT * FROM read_parquet('{parquet_dir}/*.parquet')"
    db.sql(query).fetch_arrow_table()  # warm: the page cache
    for _ in range(runs):
        t = time.perf_counter()
        table = db.sql(query).fetch_arrow_table()
        seconds = time.perf_counter() - t
        out["duckdb"].append({"seconds": seconds, "rows": table.num_rows, "bytes": table.nbytes})
        del table
    out["duckdb_version"] = duckdb.__version__
    return out


def numeric(uri, user, password, rows, runs):
    sql = (
        "SELECT value AS a, value * 2 AS b, value + 7 AS c, CAST(value AS DOUBLE) * 0.5 AS d "
        f"FROM generate_series(1, {rows})"
    )
    out = []
    with connect(uri, user, password) as conn, conn.cursor() as cur:
        timed_fetch(cur, sql)  # warm: both processes' allocators grow to the result's size
        for _ in range(runs):
            seconds, table = timed_fetch(cur, sql)
            out.append({"seconds": seconds, "rows": table.num_rows, "bytes": table.nbytes})
            del table
    return out


# The load mix: (kind, weight, call); a call gets the connection, its cursor and a random source.
def mix():
    def objects(conn, cur, rnd):
        conn.adbc_get_objects(depth="columns").read_all()

    def table_schema(conn, cur, rnd):
        conn.adbc_get_table_schema("orders_fact", db_schema_filter="orders")

    def products(conn, cur, rnd):
        cur.execute("SELECT domain, name, owner, tags, columns FROM meta.products")
        cur.fetch_arrow_table()

    def search(conn, cur, rnd):
        word = rnd.choice(["orders", "user", "stock", "payments", "events", "pii"])
        cur.execute(f"SELECT product, relevance FROM search_catalog('{word}')")
        cur.fetch_arrow_table()

    def impact(conn, cur, rnd):
        start = rnd.choice(["orders.orders_fact", "users.user_profiles", "inventory.supplier_data"])
        cur.execute(f"SELECT * FROM impact_analysis('{start}')")
        cur.fetch_arrow_table()

    def aggregate(conn, cur, rnd):
        lo = rnd.randrange(1, 9_900_000)
        cur.execute(
            "SELECT country, count(*) AS n, sum(amount) AS total FROM bench.events "
            "WHERE id BETWEEN ? AND ? GROUP BY country",
            parameters=(lo, lo + 100_000),
        )
        cur.fetch_arrow_table()

    def rows(conn, cur, rnd):
        lo = rnd.randrange(1, 9_990_000)
        cur.execute(f"SELECT * FROM bench.events WHERE id BETWEEN {lo} AND {lo + 10_000}")
        cur.fetch_arrow_table()

    return [
        ("GetObjects(columns)", 2, objects),
        ("GetTableSchema", 2, table_schema),
        ("meta.products", 2, products),
        ("search_catalog", 3, search),
        ("impact_analysis", 3, impact),
        ("aggregate 100k rows", 4, aggregate),
        ("fetch 10k rows", 4, rows),
    ]


def client(args):
    uri, user, password, seconds, seed = args
    rnd = random.Random(seed)
    calls = mix()
    kinds = [c for c in calls for _ in range(c[1])]
    latencies, errors = {}, []
    with connect(uri, user, password) as conn, conn.cursor() as cur:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            kind, _, call = rnd.choice(kinds)
            t = time.perf_counter()
            try:
                call(conn, cur, rnd)
            except Exception as e:  # counted, reported, and the bench fails on any
                errors.append(f"{kind}: {e}")
                continue
            latencies.setdefault(kind, []).append(time.perf_counter() - t)
    return latencies, errors


def alone(uri, user, password, runs=20):
    """Each call of the mix run by one client with the server otherwise idle: its own cost."""
    rnd = random.Random(0)
    latencies = {}
    with connect(uri, user, password) as conn, conn.cursor() as cur:
        for kind, _, call in mix():
            call(conn, cur, rnd)
            for _ in range(runs):
                t = time.perf_counter()
                call(conn, cur, rnd)
                latencies.setdefault(kind, []).append(time.perf_counter() - t)
    return latencies


def load(uri, user, password, clients, seconds):
    single = alone(uri, user, password)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(clients) as pool:
        results = pool.map(client, [(uri, user, password, seconds, i) for i in range(clients)])
    latencies, errors = {}, []
    for lat, err in results:
        for k, v in lat.items():
            latencies.setdefault(k, []).extend(v)
        errors.extend(err)
    return {"latencies": latencies, "errors": errors, "alone": single}


if __name__ == "__main__":
    mode, uri, user, password = sys.argv[1:5]
    rest = sys.argv[5:]
    if mode == "stream":
        result = stream(uri, user, password, rest[0], int(rest[1]))
    elif mode == "numeric":
        result = numeric(uri, user, password, int(rest[0]), int(rest[1]))
    elif mode == "load":
        result = load(uri, user, password, int(rest[0]), float(rest[1]))
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps(result))
