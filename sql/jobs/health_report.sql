-- job: health_report
-- schedule: every 30m
-- description: Lists the products whose latest quality score is below 90 or whose SLA is not
--   met, worst first (a job may also just query).
SELECT product, owner, score, sla_met, failed, errors, trend
FROM meta.product_health
WHERE score < 90 OR sla_met = false
ORDER BY score, product;
