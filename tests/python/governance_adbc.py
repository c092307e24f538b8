"""Governance through a real Flight SQL client, as two people: ADBC (adbc-driver-flightsql) as
bob, an analyst in no team, and as carol of growth-team, against `lakemeta serve` over the example
mesh. bob is refused the pii product with PERMISSION_DENIED, asks, carol approves, bob reads
with the e-mail addresses masked;
nobody may use the server's side doors (COPY … TO, SET, CREATE EXTERNAL TABLE, a LOCATION outside
the warehouse) or write another team's product. Run by the Rust integration tests.

usage: governance_adbc.py URI PASSWORD OUTSIDE_FILE
(every user has PASSWORD; OUTSIDE_FILE: a path COPY must not be able to write)
"""
import os
import sys

import adbc_driver_flightsql.dbapi as flight_sql

uri, password, outside = sys.argv[1:4]


def connect(user):
    return flight_sql.connect(uri, db_kwargs={"username": user, "password": password}, autocommit=True)


def refused(cur, sql, *expected):
    """Runs sql and checks it is refused as permission denied, naming what was expected."""
    try:
        cur.execute(sql)
        cur.fetchall()
    except flight_sql.Error as e:
        text = str(e)
        assert "PERMISSION_DENIED" in text.upper().replace(" ", "_") or "UNAUTHORIZED" in text.upper(), text
        assert "permission denied" in text, text
        for part in expected:
            assert part in text, (part, text)
        return text
    raise AssertionError(f"not refused: {sql}")


with connect("bob") as bob, connect("carol") as carol:
    b = bob.cursor()
    c = carol.cursor()

    # who is asking
    b.execute("SELECT current_user(), is_member('growth-team')")
    assert b.fetchall() == [("bob", False)]
    c.execute("SELECT current_user(), is_member('growth-team')")
    assert c.fetchall() == [("carol", True)]

    # an open product reads into pandas; the pii one is refused, with how to ask
    b.execute("SELECT order_status, count(*) AS n FROM orders.orders_fact GROUP BY 1 ORDER BY 1")
    assert len(b.fetch_df()) > 0
    refused(
        b,
        "SELECT email FROM users.user_profiles LIMIT 3",
        "users.user_profiles is tagged pii and bob holds no grant",
        "REQUEST ACCESS TO users.user_profiles BECAUSE",
    )
    refused(b, "SELECT count(*) FROM users.user_profiles")
    refused(b, "SELECT * FROM orders.payments_fact", "tagged financial")
    # the catalog stays open: bob finds the product and what he may do with it
    b.execute("SELECT product, access FROM search_catalog('profiles')")
    assert b.fetchall() == [("users.user_profiles", "requestable")]
    schema = bob.adbc_get_table_schema("user_profiles", db_schema_filter="users")
    assert "email" in schema.names, schema

    # bob asks; carol of the owner team approves; bob reads
    b.execute("REQUEST ACCESS TO users.user_profiles BECAUSE 'churn model features' FOR 14 DAYS")
    request_id = b.fetchone()[0]
    assert request_id.startswith("req_"), request_id
    c.execute("SELECT requester, reason, status FROM meta.access_requests WHERE request_id = ?", (request_id,))
    assert c.fetchall() == [("bob", "churn model features", "pending")]
    c.execute(f"APPROVE REQUEST {request_id}")
    assert "bob may read users.user_profiles until" in c.fetchone()[0]
    b.execute("SELECT count(*) FROM users.user_profiles")
    assert b.fetchone()[0] == 500
    b.execute("SELECT access LIKE 'granted until %' FROM search_catalog('profiles')")
    assert b.fetchone()[0] is True

    # a plain grant reads the PII masked (email is classified email): into pandas, through a
    # prepared statement with a parameter, and in the schema ADBC lists; carol's team owns the
    # product and reads raw values
    b.execute("SELECT user_id, email FROM users.user_profiles")
    emails = b.fetch_df()["email"]
    assert len(emails) == 500 and emails.str.fullmatch(r"u\*\*\*@example\.com").all(), emails.head()
    b.execute("SELECT count(*) FROM users.user_profiles WHERE email = ?", ("user1@example.com",))
    assert b.fetchone()[0] == 0
    b.execute("SELECT count(*) FROM users.user_profiles WHERE email LIKE ?", ("user1%",))
    assert b.fetchone()[0] == 0
    c.execute("SELECT count(*) FROM users.user_profiles WHERE email = ?", ("user1@example.com",))
    assert c.fetchone()[0] == 1
    b.execute("SELECT mask FROM meta.columns WHERE product = 'users.user_profiles' AND name = 'email'")
    assert b.fetchall() == [("email",)]
    c.execute("SELECT mask FROM meta.columns WHERE product = 'users.user_profiles' AND name = 'email'")
    assert c.fetchall() == [(None,)]
    masked = bob.adbc_get_table_schema("user_profiles", db_schema_filter="users")
    assert masked.field("email").nullable, masked
    objects = bob.adbc_get_objects(depth="columns", db_schema_filter="users", table_name_filter="user_profiles").read_all()
    assert "user1@example.com" not in str(objects.to_pylist()), objects

    # writes are the owner team's: bob may not append to, ingest into, or drop orders
    refused(
        b,
        "INSERT INTO orders.orders_fact VALUES ('o-999999', 'u-00001', 1.0, 'pending', now())",
        "orders.orders_fact is owned by orders-team; bob is not a member",
    )
    refused(b, "DROP DATA PRODUCT orders.orders_fact", "owned by orders-team")
    import pyarrow

    try:
        b.adbc_ingest("orders_fact", pyarrow.table({"order_id": ["o-1"]}), mode="append", db_schema_name="orders")
        raise AssertionError("bob ingested into orders.orders_fact")
    except flight_sql.Error as e:
        assert "permission denied" in str(e), e

    # the server's side doors are closed, to the owner as well
    refused(c, f"COPY (SELECT 1 AS x) TO '{outside}'", "COPY … TO writes files on the server's machine")
    assert not os.path.exists(outside), "COPY wrote a file on the server"
    refused(c, "SET datafusion.execution.target_partitions = 1", "SET and RESET change the server's settings")
    refused(c, "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc/hostname'", "CREATE EXTERNAL TABLE")
    refused(c, "CREATE DATA PRODUCT users.hosts LOCATION '/etc/hostname' FORMAT csv", "--allow-location")

    # carol revokes: bob's very next statement is refused again
    c.execute("REVOKE SELECT ON users.user_profiles FROM USER bob")
    c.fetchall()
    refused(b, "SELECT count(*) FROM users.user_profiles", "bob holds no grant")

    # the audit log: bob reads his own rows, carol hers; each denial is there with its reason
    b.execute("SELECT DISTINCT principal FROM meta.audit_log")
    assert b.fetchall() == [("bob",)]
    b.execute(
        "SELECT count(*) FROM meta.audit_log WHERE decision = 'denied' AND channel = 'flight' "
        "AND reason LIKE 'permission denied: users.user_profiles is tagged pii%'"
    )
    assert b.fetchone()[0] >= 3
    b.execute(
        "SELECT cardinality(grant_ids) FROM meta.audit_log WHERE kind = 'query' "
        "AND statement = 'SELECT count(*) FROM users.user_profiles' AND decision = 'allowed'"
    )
    assert b.fetchall() == [(1,)]

print("ok")
