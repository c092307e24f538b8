"""The quality benchmark's peer: the same checks in DuckDB over the same files, once as one
hand-fused query and once as one query per check written the way dbt's generic tests write them
(failing rows selected, uniqueness by GROUP BY ... HAVING). Prints one JSON object of median
milliseconds.

usage: quality_duckdb.py PARQUET_GLOB RUNS
"""
import json
import statistics
import sys
import time

import duckdb

files = sys.argv[1]
runs = int(sys.argv[2])
con = duckdb.connect()
con.execute(f"CREATE VIEW orders AS SELECT * FROM read_parquet('{files}')")

NOW = "TIMESTAMPTZ '2026-01-01 00:00:00+00' + INTERVAL 1 DAY"
FUSED = f"""
SELECT
  count(*) FILTER (WHERE order_id IS NULL),
  count(order_id) - count(DISTINCT order_id),
  count(*) FILTER (WHERE NOT regexp_matches(order_id, '^o-[0-9]+$')),
  count(*) FILTER (WHERE customer_id IS NULL),
  count(*) FILTER (WHERE status IS NULL),
  count(*) FILTER (WHERE status NOT IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')),
  count(*) FILTER (WHERE amount IS NULL),
  count(*) FILTER (WHERE amount < 0 OR amount > 10000),
  count(*) FILTER (WHERE quantity IS NULL),
  count(*) FILTER (WHERE quantity < 1 OR quantity > 100),
  count(*) FILTER (WHERE email IS NULL),
  count(*) FILTER (WHERE NOT regexp_matches(email, '^[^@]+@[^@]+$')),
  count(*) FILTER (WHERE country IS NULL),
  count(*) FILTER (WHERE country NOT IN ('DE', 'FR', 'US', 'NL', 'PL', 'ES')),
  count(DISTINCT country),
  count(*) FILTER (WHERE created_at IS NULL),
  date_diff('minute', max(created_at), {NOW}),
  count(*) FILTER (WHERE discount IS NULL),
  min(amount),
  count(*)
FROM orders
"""


def not_null(col):
    return f"SELECT * FROM orders WHERE {col} IS NULL"


def accepted(col, values):
    vals = ", ".join(f"'{v}'" for v in values)
    return (
        f"WITH all_values AS (SELECT {col} AS value_field, count(*) AS n_records FROM orders "
        f"GROUP BY {col}) SELECT * FROM all_values WHERE value_field NOT IN ({vals})"
    )


def rng(col, lo, hi):
    return f"SELECT * FROM orders WHERE NOT ({col} >= {lo} AND {col} <= {hi})"


def pattern(col, regex):
    return f"SELECT * FROM orders WHERE NOT regexp_matches({col}, '{regex}')"


PER_CHECK = [
    not_null("order_id"),
    "SELECT order_id AS unique_field, count(*) AS n_records FROM orders WHERE order_id IS NOT NULL "
    "GROUP BY order_id HAVING count(*) > 1",
    pattern("order_id", "^o-[0-9]+$"),
    not_null("customer_id"),
    not_null("status"),
    accepted("status", ["pending", "paid", "shipped", "delivered", "cancelled"]),
    not_null("amount"),
    rng("amount", 0, 10000),
    not_null("quantity"),
    rng("quantity", 1, 100),
    "SELECT * FROM (SELECT count(*) FILTER (WHERE email IS NULL) * 100.0 / count(*) AS p FROM orders) WHERE p > 5",
    pattern("email", "^[^@]+@[^@]+$"),
    not_null("country"),
    accepted("country", ["DE", "FR", "US", "NL", "PL", "ES"]),
    "SELECT * FROM (SELECT count(DISTINCT country) AS n FROM orders) WHERE NOT (n BETWEEN 1 AND 300)",
    not_null("created_at"),
    f"SELECT * FROM (SELECT max(created_at) AS m FROM orders) WHERE date_diff('minute', m, {NOW}) > 1440",
    "SELECT * FROM (SELECT count(*) FILTER (WHERE discount IS NULL) * 100.0 / count(*) AS p FROM orders) WHERE p > 5",
    "SELECT * FROM (SELECT min(amount) AS m FROM orders) WHERE m < 0",
    "SELECT * FROM (SELECT count(*) AS n FROM orders) WHERE n = 0",
]


def timed(fn):
    fn()  # warm-up
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def per_check():
    for q in PER_CHECK:
        con.execute(f"SELECT count(*) AS failures FROM ({q}) dbt_internal_test").fetchall()


print(
    json.dumps(
        {
            "checks": len(PER_CHECK),
            "fused_ms": timed(lambda: con.execute(FUSED).fetchall()),
            "per_check_ms": timed(per_check),
            "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
        }
    )
)
