-- meta.product_usage: which data products are read, per product and day, from the audit log
-- (allowed statements that read the product's rows). A statement that read several products
-- counts for each, with all the rows it returned.
SELECT
    product,
    day,
    count(*) AS reads,
    count(DISTINCT principal) AS readers,
    sum(rows) AS rows,
    max(at) AS last_read
FROM (
    SELECT unnest(products_read) AS product, date_trunc('day', at) AS day, principal, rows, at
    FROM meta.audit_log
    WHERE decision = 'allowed'
)
GROUP BY product, day
