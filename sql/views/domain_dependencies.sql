-- meta.domain_dependencies: one row per domain — the domains it depends on (upstream) and the
-- domains that consume it (downstream), derived from the lineage between their products and
-- from the upstream/downstream lists of the domain specs.
WITH edges AS (
    SELECT split_part(source, '.', 1) AS from_domain, split_part(target, '.', 1) AS to_domain
    FROM meta.lineage
    UNION ALL
    SELECT unnest(upstream) AS from_domain, name AS to_domain FROM meta.domains
    UNION ALL
    SELECT name AS from_domain, unnest(downstream) AS to_domain FROM meta.domains
),
crossing AS (
    SELECT DISTINCT from_domain, to_domain FROM edges WHERE from_domain <> to_domain
),
up AS (
    SELECT to_domain AS domain, array_sort(array_agg(from_domain)) AS upstream
    FROM crossing GROUP BY to_domain
),
down AS (
    SELECT from_domain AS domain, array_sort(array_agg(to_domain)) AS downstream
    FROM crossing GROUP BY from_domain
)
SELECT
    d.name AS domain,
    d.owner_team,
    coalesce(up.upstream, arrow_cast(make_array(), 'List(Utf8)')) AS upstream,
    coalesce(down.downstream, arrow_cast(make_array(), 'List(Utf8)')) AS downstream
FROM meta.domains d
LEFT JOIN up ON up.domain = d.name
LEFT JOIN down ON down.domain = d.name
