-- Deterministic example data for the example mesh. Values depend only on the row number;
-- timestamps count back from now so that freshness is meaningful.
INSERT INTO users.user_profiles
SELECT 'u-' || lpad(CAST(value AS VARCHAR), 5, '0'), 'user' || value || '@example.com',
       CASE value % 4 WHEN 0 THEN 'DE' WHEN 1 THEN 'FR' WHEN 2 THEN 'US' ELSE 'NL' END,
       to_timestamp_seconds(CAST(date_part('epoch', now()) AS BIGINT) - (value - 1) * 3600)
FROM generate_series(1, 500);

INSERT INTO users.user_segments
SELECT 'u-' || lpad(CAST(value AS VARCHAR), 5, '0'),
       CASE value % 3 WHEN 0 THEN 'loyal' WHEN 1 THEN 'new' ELSE 'at_risk' END,
       CAST(value % 100 AS DOUBLE) / 100.0
FROM generate_series(1, 500);

INSERT INTO users.user_events
SELECT 'ue-' || value, 'u-' || lpad(CAST(1 + value % 500 AS VARCHAR), 5, '0'),
       CASE value % 3 WHEN 0 THEN 'page_view' WHEN 1 THEN 'search' ELSE 'click' END,
       to_timestamp_seconds(CAST(date_part('epoch', now()) AS BIGINT) - value * 30)
FROM generate_series(1, 5000);

INSERT INTO orders.orders_fact
SELECT 'o-' || lpad(CAST(value AS VARCHAR), 6, '0'),
       'u-' || lpad(CAST(1 + value * 7 % 500 AS VARCHAR), 5, '0'),
       CAST((value * 37 % 20000) / 100.0 AS DECIMAL(12, 2)),
       CASE value % 10 WHEN 0 THEN 'cancelled' WHEN 1 THEN 'pending' WHEN 2 THEN 'pending' ELSE 'completed' END,
       to_timestamp_seconds(CAST(date_part('epoch', now()) AS BIGINT) - value * 60)
FROM generate_series(1, 2000);

INSERT INTO orders.payments_fact
SELECT 'p-' || value, 'o-' || lpad(CAST(value AS VARCHAR), 6, '0'),
       CAST((value * 37 % 20000) / 100.0 AS DECIMAL(12, 2)),
       CASE value % 3 WHEN 0 THEN 'card' WHEN 1 THEN 'paypal' ELSE 'invoice' END,
       to_timestamp_seconds(CAST(date_part('epoch', now()) AS BIGINT) - value * 60)
FROM generate_series(1, 2000) WHERE value % 10 <> 1;

INSERT INTO orders.cart_events
SELECT 'ce-' || value, 'u-' || lpad(CAST(1 + value % 500 AS VARCHAR), 5, '0'),
       'sku-' || (value % 50), CASE value % 4 WHEN 0 THEN 'checkout' ELSE 'add' END,
       to_timestamp_seconds(CAST(date_part('epoch', now()) AS BIGINT) - value * 20)
FROM generate_series(1, 4000);

INSERT INTO inventory.supplier_data
SELECT 's-' || value, 'Supplier ' || value, CASE value % 2 WHEN 0 THEN 'DE' ELSE 'PL' END,
       'ops@supplier' || value || '.example'
FROM generate_series(1, 20);

INSERT INTO inventory.stock_levels
SELECT 'sku-' || value, 'wh-' || (value % 3), CAST(value * 13 % 400 AS BIGINT), to_timestamp_seconds(CAST(date_part('epoch', now()) AS BIGINT) - value * 120)
FROM generate_series(0, 49);

INSERT INTO inventory.warehouse_events
SELECT 'we-' || value, 'wh-' || (value % 3), 'sku-' || (value % 50),
       CASE value % 3 WHEN 0 THEN 'receipt' WHEN 1 THEN 'pick' ELSE 'shipment' END,
       CAST(1 + value % 20 AS BIGINT), to_timestamp_seconds(CAST(date_part('epoch', now()) AS BIGINT) - value * 60)
FROM generate_series(1, 3000);
