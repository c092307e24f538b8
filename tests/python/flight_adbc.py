"""lakemeta's Flight SQL server through a real client: ADBC (adbc-driver-flightsql) with user name
and password, results into pyarrow, pandas and polars. Run by the Rust integration tests against
a `lakemeta serve` they started.

usage: flight_adbc.py URI USER PASSWORD
"""
import sys

import adbc_driver_flightsql.dbapi as flight_sql
import pandas
import polars
import pyarrow

uri, user, password = sys.argv[1], sys.argv[2], sys.argv[3]


def connect(pw):
    return flight_sql.connect(uri, db_kwargs={"username": user, "password": pw})


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

        # a SQL mistake is the user's: invalid argument, with the message
        try:
            cur.execute("SELEC 1")
            raise AssertionError("a syntax error was accepted")
        except flight_sql.Error as e:
            assert "INVALID_ARGUMENT" in str(e).upper() or "INVALIDARGUMENT" in str(e).upper(), e

print("ok")
