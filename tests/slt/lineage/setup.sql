CREATE DOMAIN orders OWNER 'checkout-team';
CREATE DOMAIN finance OWNER 'finance-team';
CREATE DOMAIN bi OWNER 'bi-team';
COPY (SELECT * FROM (VALUES ('l1', 5), ('l1', 7)) AS t(entry_id, amount)) TO '__TEST_DIR__/ledger/part-0.parquet';
COPY (SELECT * FROM (VALUES ('p1', 3)) AS t(payout_id, amount)) TO '__TEST_DIR__/payouts/part-0.parquet';
