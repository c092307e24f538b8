-- The example mesh's lineage, as the pipelines that fill it would declare it. (Pipelines that
-- run through lakemeta — CREATE TABLE … AS SELECT, INSERT INTO … SELECT — need no declaration:
-- their lineage is captured.)
CREATE LINEAGE users.user_profiles.user_id -> orders.orders_fact.user_id;
CREATE LINEAGE orders.orders_fact.order_id -> orders.payments_fact.order_id;
CREATE LINEAGE orders.orders_fact.order_total -> orders.payments_fact.amount;
CREATE LINEAGE orders.orders_fact -> users.user_segments;
CREATE LINEAGE users.user_events -> users.user_segments;
CREATE LINEAGE orders.cart_events -> inventory.stock_levels;
CREATE LINEAGE inventory.warehouse_events -> inventory.stock_levels;
CREATE LINEAGE inventory.supplier_data -> inventory.stock_levels;
