"""Explore the example mesh over Arrow Flight SQL with ADBC, into pandas and polars.

Start the server on a warehouse holding the example mesh first:

    lakemeta demo < /dev/null                  # build the example mesh in ./warehouse
    lakemeta serve --users users.yaml          # with the mesh's people (see the README)

then run this script with the client packages installed
(pip install adbc-driver-flightsql pyarrow pandas polars):

    LAKEMETA_FLIGHT_USER=admin LAKEMETA_FLIGHT_PASSWORD='open sesame' \
        python examples/python/explore_mesh.py

The script records the checks of every product, which the mesh's platform admin (admin) may do.
LAKEMETA_FLIGHT_URI (default grpc://127.0.0.1:50051) says where the server is; without a user the
script connects without credentials (a server started with --no-auth, whose calls run as
`anonymous`: it may read, not record checks, once the warehouse has teams).
"""
import os

import adbc_driver_flightsql.dbapi as flight_sql
import polars

uri = os.environ.get("LAKEMETA_FLIGHT_URI", "grpc://127.0.0.1:50051")
user = os.environ.get("LAKEMETA_FLIGHT_USER")
credentials = {"username": user, "password": os.environ.get("LAKEMETA_FLIGHT_PASSWORD", "")} if user else {}

# lakemeta has no transactions: autocommit=True says so to the DB-API layer
with flight_sql.connect(uri, db_kwargs=credentials, autocommit=True) as conn, conn.cursor() as cur:
    # catalog search: the products about orders, best match first (pandas)
    cur.execute("SELECT product, owner, relevance, matched FROM search_catalog('orders') LIMIT 5")
    found = cur.fetch_df()
    print("Search 'orders':")
    print(found.to_string(index=False))

    # impact analysis: what depends on orders.orders_fact, hop by hop (polars)
    cur.execute("SELECT * FROM impact_analysis('orders.orders_fact')")
    impact = polars.from_arrow(cur.fetch_arrow_table())
    print("\nImpact of a change to orders.orders_fact:")
    print(impact.select("product", "column_name", "depth", "owner", "quality_score"))

    # quality: run every product's contract checks (a lakemeta statement, sent like any query),
    # then read the scores they recorded (polars)
    cur.execute("RUN CHECKS")
    cur.fetchall()
    cur.execute("SELECT product, score, sla_met, checks, failed FROM meta.product_health ORDER BY score")
    health = polars.from_arrow(cur.fetch_arrow_table())
    print("\nQuality (0-100), worst first:")
    print(health)

    # the checks behind one product's score, from its latest run (pandas)
    cur.execute(
        "SELECT r.check_name, r.status, r.observed, r.expected FROM meta.quality_results r "
        "JOIN meta.product_health h ON r.run_id = h.run_id AND r.product = h.product "
        "WHERE h.product = 'orders.orders_fact' ORDER BY r.check_name"
    )
    print("\nThe checks of orders.orders_fact:")
    print(cur.fetch_df().to_string(index=False))
