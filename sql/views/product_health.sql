-- meta.product_health: one row per product with recorded check results — its latest run, the
-- share of passed checks per dimension, the 0-100 quality score, whether its SLA is met, and
-- the trend against the run before.
WITH runs AS (
    SELECT
        product,
        run_id,
        min(started_at) AS checked_at,
        max(product_version) AS product_version,
        sum(CASE WHEN status <> 'skipped' THEN 1 ELSE 0 END) AS checks,
        sum(CASE WHEN status = 'pass' THEN 1 ELSE 0 END) AS passed,
        sum(CASE WHEN status = 'fail' THEN 1 ELSE 0 END) AS failed,
        sum(CASE WHEN status = 'error' THEN 1 ELSE 0 END) AS errors,
        avg(CASE WHEN dimension = 'completeness' THEN CASE WHEN status = 'pass' THEN 1.0 ELSE 0.0 END END) AS completeness,
        avg(CASE WHEN dimension = 'uniqueness' THEN CASE WHEN status = 'pass' THEN 1.0 ELSE 0.0 END END) AS uniqueness,
        avg(CASE WHEN dimension = 'accuracy' THEN CASE WHEN status = 'pass' THEN 1.0 ELSE 0.0 END END) AS accuracy,
        max(CASE WHEN kind = 'freshness' AND status <> 'error' THEN observed_value END) AS data_age_minutes,
        max(CASE WHEN kind = 'commit_freshness' AND status <> 'error' THEN observed_value END) AS commit_age_minutes,
        sum(CASE WHEN dimension IN ('freshness', 'completeness') AND status <> 'pass' THEN 1 ELSE 0 END) AS sla_misses
    FROM meta.quality_results
    GROUP BY product, run_id
),
scored AS (
    SELECT
        r.*,
        p.domain,
        p.owner,
        p.sla_freshness_minutes,
        p.sla_completeness_percent,
        coalesce(r.data_age_minutes, r.commit_age_minutes) AS freshness_minutes,
        quality_score(
            r.completeness,
            coalesce(r.data_age_minutes, r.commit_age_minutes),
            r.uniqueness,
            r.accuracy,
            CAST(p.sla_freshness_minutes AS DOUBLE)
        ) AS score,
        row_number() OVER (PARTITION BY r.product ORDER BY r.checked_at DESC, r.run_id DESC) AS recency
    FROM runs r
    JOIN meta.products p ON p.domain || '.' || p.name = r.product
)
SELECT
    cur.product,
    cur.domain,
    cur.owner,
    cur.run_id,
    cur.checked_at,
    cur.product_version,
    cur.checks,
    cur.passed,
    cur.failed,
    cur.errors,
    cur.completeness,
    cur.freshness_minutes,
    cur.uniqueness,
    cur.accuracy,
    cur.score,
    CASE
        WHEN cur.sla_freshness_minutes IS NULL AND cur.sla_completeness_percent IS NULL THEN NULL
        ELSE cur.sla_misses = 0
    END AS sla_met,
    prev.score AS previous_score,
    cur.score - prev.score AS score_change,
    CASE
        WHEN prev.score IS NULL THEN 'new'
        WHEN cur.score > prev.score THEN 'improving'
        WHEN cur.score < prev.score THEN 'declining'
        ELSE 'stable'
    END AS trend
FROM scored cur
LEFT JOIN scored prev ON prev.product = cur.product AND prev.recency = 2
WHERE cur.recency = 1
