CREATE DOMAIN shop OWNER 'shop-team';
COPY (SELECT * FROM (VALUES ('e1', 'click', 5), ('e2', 'view', 7), ('e3', NULL, 9)) AS t(event_id, kind, amount)) TO '__TEST_DIR__/events/part-0.parquet';
COPY (SELECT * FROM (VALUES ('a1', 1)) AS t(id, n)) TO '__TEST_DIR__/archive/part-0.parquet';
CREATE TABLE shop.adhoc AS SELECT 1 AS id;
