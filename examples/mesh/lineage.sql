-- Lineage of the example mesh that its contracts do not declare (payments_fact, user_segments
-- and stock_levels name their sources in their contracts: transformSourceObjects on a column,
-- the `sources` custom property for the whole product). Pipelines that run through lakemeta —
-- CREATE TABLE … AS SELECT, INSERT INTO … SELECT — need no declaration: their lineage is
-- captured.
CREATE LINEAGE users.user_profiles.user_id -> orders.orders_fact.user_id;
