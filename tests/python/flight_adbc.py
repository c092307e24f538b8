"""lakemeta's Flight SQL server through a real client: ADBC (adbc-driver-flightsql) with user name
and password, results into pyarrow, pandas and polars. Run by the Rust integration tests against
a `lakemeta serve` they started.

usage: flight_adbc.py URI USER PASSWORD EXPIRING_URI
(EXPIRING_URI: a server with the same user whose tokens live one second)
"""
import sys
import time

import adbc_driver_flightsql.dbapi as flight_sql
import pandas
import polars
import pyarrow
import pyarrow.compute

uri, user, password, expiring_uri = sys.argv[1:5]


def connect(pw, at=None):
    # lakemeta has no transactions: say so, or the driver warns that it cannot turn autocommit off
    return flight_sql.connect(at or uri, db_kwargs={"username": user, "password": pw}, autocommit=True)


# a wrong password is refused as unauthenticated
try:
    connect("not-" + password).cursor().execute("SELECT 1")
    raise AssertionError("a wrong password was accepted")
except flight_sql.Error as e:
    assert "UNAUTHENTICATED" in str(e).upper(), e

with connect(password) as conn:
    with conn.cursor() as cur:
        cur.execute("SELECT 41 + 1 AS answer")
        assert cur.fetchall() == [(42,)]

        # DDL and lakemeta's own statements through cursor.execute, as DB-API sends everything
        cur.execute("CREATE DOMAIN shop OWNER 'shop-team'")
        assert "CREATE DOMAIN shop" in cur.fetchone()[0]
        cur.execute(
            "CREATE TABLE shop.sales AS SELECT * FROM "
            "(VALUES (1, 'de', 9.5), (2, 'fr', 20.0), (3, 'de', 1.25)) AS t(id, country, amount)"
        )
        cur.fetchall()

        cur.execute("SELECT country, sum(amount) AS total FROM shop.sales GROUP BY country ORDER BY country")
        table = cur.fetch_arrow_table()
        assert isinstance(table, pyarrow.Table)
        assert table.column("country").to_pylist() == ["de", "fr"], table
        assert table.column("total").to_pylist() == [10.75, 20.0], table

        cur.execute("SELECT id, country FROM shop.sales ORDER BY id")
        df = cur.fetch_df()
        assert isinstance(df, pandas.DataFrame)
        assert list(df["id"]) == [1, 2, 3], df

        cur.execute("SELECT name, owner_team, updated_by FROM meta.domains")
        pl = polars.from_arrow(cur.fetch_arrow_table())
        assert pl.row(0) == ("shop", "shop-team", user), pl

        # a million rows, streamed batch by batch
        cur.execute("SELECT value AS n, value * 2 AS twice FROM generate_series(1, 1000000)")
        big = cur.fetch_arrow_table()
        assert big.num_rows == 1_000_000, big.num_rows
        assert pyarrow.compute.sum(big.column("n")).as_py() == 500_000_500_000

        # an update reports the rows it wrote
        cur.adbc_statement.set_sql_query("INSERT INTO shop.sales VALUES (4, 'nl', 3.0), (5, 'nl', 0.5)")
        assert cur.adbc_statement.execute_update() == 2

        # prepared statements with parameters, NULLs too
        cur.execute("SELECT id FROM shop.sales WHERE country = ? AND amount > ? ORDER BY id", parameters=("de", 2.0))
        assert cur.fetchall() == [(1,)]
        cur.execute("SELECT ? IS NULL AS missing, ? + 1 AS next", parameters=(None, 41))
        assert cur.fetchall() == [(True, 42)]
        cur.executemany("INSERT INTO shop.sales VALUES (?, ?, ?)", [(6, "pl", 1.0), (7, "pl", 2.0)])
        cur.execute("SELECT count(*) FROM shop.sales WHERE country = 'pl'")
        assert cur.fetchone() == (2,)

        # bulk ingest: append to a product, create one, refuse to create one that exists
        rows = pyarrow.table({"id": [10, 11], "country": ["se", "se"], "amount": [4.0, 5.0]})
        assert cur.adbc_ingest("sales", rows, mode="append", db_schema_name="shop") == 2
        cur.execute("SELECT count(*), sum(amount) FROM shop.sales WHERE country = 'se'")
        assert cur.fetchone() == (2, 9.0)
        events = pyarrow.table({"event": ["a", "b", "c"], "at": pyarrow.array([1, 2, 3], pyarrow.int64())})
        assert cur.adbc_ingest("events", events, mode="create", db_schema_name="shop") == 3
        cur.execute("SELECT count(*) FROM shop.events")
        assert cur.fetchone() == (3,)
        try:
            cur.adbc_ingest("events", events, mode="create", db_schema_name="shop")
            raise AssertionError("creating an existing product was accepted")
        except flight_sql.Error as e:
            assert "ALREADY_EXISTS" in str(e).upper() or "ALREADYEXISTS" in str(e).upper(), e
        assert cur.adbc_ingest("events", events, mode="replace", db_schema_name="shop") == 3
        cur.execute("SELECT count(*) FROM shop.events")
        assert cur.fetchone() == (3,)

        # a SQL mistake is the user's: invalid argument, with the message
        try:
            cur.execute("SELEC 1")
            raise AssertionError("a syntax error was accepted")
        except flight_sql.Error as e:
            assert "INVALID_ARGUMENT" in str(e).upper() or "INVALIDARGUMENT" in str(e).upper(), e

    # metadata, as BI tools and notebooks ask for it
    assert conn.adbc_get_table_types() == ["TABLE", "VIEW"]
    for depth in ["catalogs", "db_schemas", "tables", "columns", "all"]:
        conn.adbc_get_objects(depth=depth).read_all()
    objects = conn.adbc_get_objects(depth="all").read_all().to_pylist()
    assert [c["catalog_name"] for c in objects] == ["lakemeta"], objects
    schemas = {s["db_schema_name"]: s for s in objects[0]["catalog_db_schemas"]}
    assert {"meta", "shop"} <= set(schemas), schemas.keys()
    tables = {t["table_name"]: t for t in schemas["shop"]["db_schema_tables"]}
    assert tables["sales"]["table_type"] == "TABLE"
    assert [c["column_name"] for c in tables["sales"]["table_columns"]] == ["id", "country", "amount"]
    meta_tables = {t["table_name"]: t["table_type"] for t in schemas["meta"]["db_schema_tables"]}
    assert meta_tables["products"] == "TABLE" and meta_tables["product_health"] == "VIEW", meta_tables
    only_views = conn.adbc_get_objects(depth="tables", table_types_filter=["VIEW"]).read_all().to_pylist()
    names = [t["table_name"] for s in only_views[0]["catalog_db_schemas"] for t in (s["db_schema_tables"] or [])]
    assert "product_health" in names and "products" not in names, names
    schema = conn.adbc_get_table_schema("sales", db_schema_filter="shop")
    assert schema.names == ["id", "country", "amount"], schema
    # a query's result schema without running it (Flight's GetSchema)
    with conn.cursor() as cur:
        schema = cur.adbc_execute_schema("SELECT id, upper(country) AS c FROM shop.sales")
        assert schema.names == ["id", "c"] and str(schema.field("c").type) == "string", schema
    # patterns filter
    pattern = conn.adbc_get_objects(depth="tables", table_name_filter="prod%").read_all().to_pylist()
    names = sorted(t["table_name"] for s in pattern[0]["catalog_db_schemas"] for t in (s["db_schema_tables"] or []))
    assert names == ["product_health", "product_usage", "products"], names

# an expired token is refused as unauthenticated; logging in again gives a new one
conn = connect(password, expiring_uri)
cur = conn.cursor()
cur.execute("SELECT 1")
assert cur.fetchall() == [(1,)]
time.sleep(1.5)  # the token lives one second
try:
    cur.execute("SELECT 2")
    raise AssertionError("an expired token was accepted")
except flight_sql.Error as e:
    assert "UNAUTHENTICATED" in str(e).upper(), e
with connect(password, expiring_uri) as again:
    with again.cursor() as cur2:
        cur2.execute("SELECT 3")
        assert cur2.fetchall() == [(3,)]

print("ok")
