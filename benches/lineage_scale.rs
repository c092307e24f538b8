//! Lineage and search at scale: a generated mesh of 100,000 data products in 100 domains and
//! 1,000,000 lineage edges stored in the warehouse (`meta.lineage`), with quality results for a
//! fifth of the products. Measures `impact_analysis` over 5 hops, warm (one long-lived session,
//! as the REPL or the server keeps it) and cold (a new `lakemeta sql -c` process per query),
//! side by side in one run with DuckDB (from PyPI) answering the same question with a recursive
//! CTE over the same edges; and `search_catalog` over the 100,000 products, warm.
//!
//! The mesh is layered the way pipelines are: ten layers of 10,000 products; each product past
//! the first layer reads two products of the layer before (three in ten reads go to one of the
//! layer's fifty most-read "hub" products), with four column edges per read and a column that
//! filters its rows, plus 10,000 edges that skip a layer. Impact starts are drawn from the
//! first five layers (so five hops exist), one in ten of them a hub.
//!
//! Run: `cargo bench --bench lineage_scale` (the warehouse is generated once under
//! target/bench-data).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lakemeta::catalog::{Catalog, ChangeSummary, DomainChange, ProductChange};
use lakemeta::model::{Column, DataProduct, Domain, LineageEdge, Principal, edge_kind};
use lakemeta::quality::CheckResult;
use lakemeta::sql::{Session, SessionOptions};
use lakemeta::storage::{SystemTableKind, Warehouse, WarehouseLocation};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[path = "support/venv.rs"]
mod venv;

use venv::{python_json, python_tools};

const PRODUCTS: usize = 100_000;
const DOMAINS: usize = 100;
const LAYERS: usize = 10;
const PER_LAYER: usize = PRODUCTS / LAYERS;
const HUBS: usize = 50;
const EDGES: usize = 1_000_000;
const DEPTH: u32 = 5;
const STARTS: usize = 200;
const COLD_RUNS: usize = 10;

const WORDS: [&str; 24] = [
    "customer",
    "order",
    "payment",
    "invoice",
    "shipment",
    "product",
    "inventory",
    "supplier",
    "campaign",
    "session",
    "click",
    "refund",
    "account",
    "ledger",
    "revenue",
    "margin",
    "churn",
    "segment",
    "region",
    "store",
    "warehouse",
    "device",
    "subscription",
    "event",
];

fn word(rng: &mut StdRng) -> &'static str {
    WORDS[rng.random_range(0..WORDS.len())]
}

fn domain_of(i: usize) -> String {
    format!("dom_{:02}", i % DOMAINS)
}

fn column(name: String, ordinal: usize) -> Column {
    Column {
        data_type: if name.ends_with("_amount") {
            "double".into()
        } else if name.ends_with("_at") {
            "timestamp".into()
        } else {
            "string".into()
        },
        nullable: ordinal != 0,
        description: String::new(),
        tags: Vec::new(),
        classification: String::new(),
        primary_key: ordinal == 0,
        unique: ordinal == 0,
        accepted_values: Vec::new(),
        ordinal: ordinal as i32,
        name,
    }
}

fn product(i: usize, rng: &mut StdRng) -> DataProduct {
    let (a, b, c, d) = (word(rng), word(rng), word(rng), word(rng));
    let domain = domain_of(i);
    let name = format!("{a}_{b}_{i:06}");
    DataProduct {
        location: format!("file:///lake/{domain}/{name}/"),
        kind: "external".into(),
        format: "delta".into(),
        owner: format!("team_{}", i % 37),
        description: format!("Daily {c} and {d} figures of the {domain} domain"),
        tags: match i % 20 {
            0 | 1 => vec!["pii".into()],
            2 => vec!["financial".into()],
            _ => vec![],
        },
        access_patterns: vec!["batch".into()],
        sla_freshness_minutes: Some(60),
        sla_availability_percent: None,
        sla_completeness_percent: None,
        contract_id: String::new(),
        contract_version: String::new(),
        contract_spec: String::new(),
        schema_hash: String::new(),
        columns: [
            "id".to_string(),
            format!("{a}_id"),
            format!("{b}_amount"),
            format!("{c}_at"),
            "status".into(),
            format!("{d}_name"),
        ]
        .into_iter()
        .enumerate()
        .map(|(n, c)| column(c, n))
        .collect(),
        checks: Vec::new(),
        created_at: 0,
        updated_at: 0,
        updated_by: String::new(),
        domain,
        name,
        ..DataProduct::default()
    }
}

/// A product of `layer`: one of its hubs three times in ten, else any.
fn pick(layer: usize, rng: &mut StdRng) -> usize {
    let offset = if rng.random_bool(0.3) {
        rng.random_range(0..HUBS)
    } else {
        rng.random_range(0..PER_LAYER)
    };
    layer * PER_LAYER + offset
}

fn edges(products: &[DataProduct], rng: &mut StdRng) -> Vec<LineageEdge> {
    let name = |i: usize| format!("{}.{}", products[i].domain, products[i].name);
    let edge = |s: usize, t: usize, cols: Option<(&str, Option<&str>)>| LineageEdge {
        source: name(s),
        target: name(t),
        source_column: cols.map(|c| c.0.to_string()),
        target_column: cols.and_then(|c| c.1.map(str::to_string)),
        kind: edge_kind::DECLARED.into(),
        statement: None,
        created_at: 0,
        created_by: "bench".into(),
    };
    let mut out = Vec::with_capacity(EDGES);
    for t in PER_LAYER..PRODUCTS {
        let layer = t / PER_LAYER;
        let first = pick(layer - 1, rng);
        let mut second = pick(layer - 1, rng);
        while second == first {
            second = pick(layer - 1, rng);
        }
        for s in [first, second] {
            out.push(edge(s, t, None));
            for k in 1..5 {
                let (sc, tc) = (&products[s].columns[k].name, &products[t].columns[k].name);
                out.push(edge(s, t, Some((sc, Some(tc)))));
            }
        }
        out.push(edge(first, t, Some(("status", None))));
    }
    let mut skips = BTreeSet::new();
    while out.len() < EDGES {
        let t = rng.random_range(2 * PER_LAYER..PRODUCTS);
        let s = pick(t / PER_LAYER - 2, rng);
        if skips.insert((s, t)) {
            out.push(edge(s, t, None));
        }
    }
    out
}

/// One quality run of four checks for every fifth product.
fn quality(products: &[DataProduct], rng: &mut StdRng) -> Vec<CheckResult> {
    let mut out = Vec::new();
    for (i, p) in products.iter().enumerate().step_by(5) {
        for (check, kind, dimension) in [
            ("not_null(id)", "not_null", "completeness"),
            ("unique(id)", "unique", "uniqueness"),
            ("row_count", "row_count", "accuracy"),
            ("freshness(updated_at)", "freshness", "freshness"),
        ] {
            let pass = rng.random_bool(0.9);
            out.push(CheckResult {
                run_id: format!("run-{i}"),
                product: format!("{}.{}", p.domain, p.name),
                check_name: check.into(),
                kind: kind.into(),
                column_name: None,
                status: if pass { "pass" } else { "fail" }.into(),
                observed: Some("0".into()),
                expected: Some("0".into()),
                failing_rows: Some(if pass { 0 } else { 3 }),
                product_version: Some(1),
                started_at: 1_795_000_000_000_000,
                duration_ms: 5,
                observed_value: Some(if kind == "freshness" { 30.0 } else { 0.0 }),
                dimension: Some(dimension.into()),
                method: Some("scan".into()),
                message: None,
            });
        }
    }
    out
}

async fn build(root: &str) {
    let wh = Arc::new(
        Warehouse::open(WarehouseLocation::parse(root).unwrap())
            .await
            .unwrap(),
    );
    let catalog = Catalog::open(Arc::clone(&wh)).await.unwrap();
    let who = Principal::new("bench");
    let mut rng = StdRng::seed_from_u64(7);
    let domains = (0..DOMAINS)
        .map(|d| DomainChange::Create(Domain::new(domain_of(d), format!("team_{d}"))))
        .collect();
    let products: Vec<DataProduct> = (0..PRODUCTS).map(|i| product(i, &mut rng)).collect();
    let t = Instant::now();
    catalog
        .commit(
            &ChangeSummary {
                domains,
                products: products
                    .iter()
                    .cloned()
                    .map(ProductChange::Create)
                    .collect(),
                ..Default::default()
            },
            &who,
        )
        .await
        .unwrap();
    println!(
        "  {PRODUCTS} products committed in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let edges = edges(&products, &mut rng);
    let t = Instant::now();
    let new = catalog.record_lineage(&edges).await.unwrap();
    assert_eq!(new, EDGES);
    println!(
        "  {EDGES} edges recorded in {:.1} s (one commit)",
        t.elapsed().as_secs_f64()
    );
    wh.table(SystemTableKind::QualityResults)
        .append(&quality(&products, &mut rng))
        .await
        .unwrap();
}

/// The layout of the generated mesh: `meta.lineage` written sorted by source (as lakemeta
/// writes it since a walk reads only the files its products fall in).
const FIXTURE_LAYOUT: &str = "lineage sorted by source";

fn fixture() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench-data"))
        .join(format!("lineage-{PRODUCTS}"));
    // the stamp names the layout the mesh was written in: a mesh of an older one is made again
    let stamp = dir.join(".complete");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(FIXTURE_LAYOUT) {
        let _ = std::fs::remove_dir_all(&dir);
        println!("generating the mesh (once) in {} …", dir.display());
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(build(dir.join("wh").to_str().unwrap()));
        std::fs::write(&stamp, FIXTURE_LAYOUT).unwrap();
    }
    dir
}

/// Impact starts: products of the first five layers, one in ten a hub.
fn starts() -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(11);
    let mut names = StdRng::seed_from_u64(7);
    let products: Vec<DataProduct> = (0..PRODUCTS).map(|i| product(i, &mut names)).collect();
    (0..STARTS)
        .map(|n| {
            let layer = rng.random_range(0..LAYERS - DEPTH as usize);
            let i = if n % 10 == 0 {
                layer * PER_LAYER + rng.random_range(0..HUBS)
            } else {
                layer * PER_LAYER + rng.random_range(0..PER_LAYER)
            };
            format!("{}.{}", products[i].domain, products[i].name)
        })
        .collect()
}

fn percentile(samples: &[Duration], q: f64) -> f64 {
    let mut v = samples.to_vec();
    v.sort();
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    v[i].as_secs_f64() * 1000.0
}

fn duckdb(tools: &Path, root: &str, starts_file: &Path) -> serde_json::Value {
    python_json(
        tools,
        "lineage_duckdb.py",
        &[
            root,
            starts_file.to_str().unwrap(),
            &DEPTH.to_string(),
            &COLD_RUNS.to_string(),
        ],
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --all-targets` runs bench targets too, without `--bench`: build them, run nothing
    if !args.iter().any(|a| a == "--bench") {
        println!("lineage_scale: run with `cargo bench --bench lineage_scale`");
        return;
    }
    let tools = python_tools();
    let dir = fixture();
    let root = dir.join("wh").to_string_lossy().into_owned();
    let starts = starts();
    let starts_file = dir.join("starts.txt");
    std::fs::write(&starts_file, starts.join("\n")).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "lineage_scale: {PRODUCTS} products, {EDGES} edges, {cores} cores; impact_analysis over {DEPTH} hops from {STARTS} products"
    );

    let (warm, rows, search_first, search_page, search_all, search_hits) = rt.block_on(async {
        let t = Instant::now();
        let wh = Arc::new(
            Warehouse::open(WarehouseLocation::parse(&root).unwrap())
                .await
                .unwrap(),
        );
        let s = Session::open(wh, SessionOptions::new(Principal::new("bench")))
            .await
            .unwrap();
        println!(
            "session opened (100,000 products read, none decoded; no edge read) in {:.0} ms",
            t.elapsed().as_secs_f64() * 1000.0
        );
        let sql = |p: &str| format!("SELECT * FROM impact_analysis('{p}', {DEPTH})");
        // the first walk of the snapshot reads only the edges it follows; the second reads the
        // whole graph, which every later walk uses
        let t = Instant::now();
        s.sql(&sql(&starts[0])).await.unwrap();
        let first_walk = t.elapsed();
        let t = Instant::now();
        s.sql(&sql(&starts[1])).await.unwrap();
        println!(
            "first walk of the session {:.0} ms; the second, which reads the whole graph, {:.0} ms",
            first_walk.as_secs_f64() * 1000.0,
            t.elapsed().as_secs_f64() * 1000.0
        );
        let mut warm = Vec::new();
        let mut rows = Vec::new();
        for p in &starts {
            let t = Instant::now();
            let out = s.sql(&sql(p)).await.unwrap().pop().unwrap();
            warm.push(t.elapsed());
            rows.push(out.batches.iter().map(|b| b.num_rows()).sum::<usize>());
        }

        // search: one to two words (a fifth of them a word's start), one in ten with a tag
        let mut rng = StdRng::seed_from_u64(5);
        let queries: Vec<String> = (0..STARTS)
            .map(|n| {
                let mut words = word(&mut rng).to_string();
                if n % 2 == 0 {
                    words = format!("{words} {}", word(&mut rng));
                }
                if n % 5 == 0 {
                    words.truncate(4);
                }
                let tags = if n % 10 == 0 { ", 'pii'" } else { "" };
                format!("search_catalog('{words}'{tags})")
            })
            .collect();
        let t = Instant::now();
        s.sql(&format!("SELECT * FROM {} LIMIT 20", queries[0]))
            .await
            .unwrap();
        let search_first = t.elapsed();
        let mut page = Vec::new();
        let mut all = Vec::new();
        let mut hits = Vec::new();
        for q in &queries {
            let t = Instant::now();
            s.sql(&format!("SELECT * FROM {q} LIMIT 20")).await.unwrap();
            page.push(t.elapsed());
            let t = Instant::now();
            let out = s
                .sql(&format!("SELECT * FROM {q}"))
                .await
                .unwrap()
                .pop()
                .unwrap();
            all.push(t.elapsed());
            hits.push(out.batches.iter().map(|b| b.num_rows()).sum::<usize>());
        }
        (warm, rows, search_first, page, all, hits)
    });

    // cold: a new process per query
    let bin = env!("CARGO_BIN_EXE_lakemeta");
    let run = |sql: &str| {
        let t = Instant::now();
        let out = Command::new(bin)
            .args(["-w", &root, "sql", "--format", "csv", "-c", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        t.elapsed()
    };
    let cold_select: Vec<Duration> = (0..COLD_RUNS).map(|_| run("SELECT 1")).collect();
    let mut cold = Vec::new();
    for p in starts.iter().take(COLD_RUNS) {
        // what DuckDB's query returns: each downstream product, its depth, domain, owner, SLA
        cold.push(run(&format!(
            "SELECT product, depth, domain, owner, sla_freshness_minutes \
             FROM impact_analysis('{p}', {DEPTH})"
        )));
    }

    let peer = duckdb(&tools, &root, &starts_file);
    let f = |k: &str| peer[k].as_f64().unwrap();
    let peer_rows: Vec<usize> = peer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(
        peer_rows, rows,
        "DuckDB and lakemeta found different downstream products"
    );
    let mut sorted = rows.clone();
    sorted.sort();
    println!();
    println!(
        "| impact_analysis, {DEPTH} hops | p50 | p95 | DuckDB recursive CTE p50 | DuckDB p95 |"
    );
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| warm ({STARTS} queries, one session) | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |",
        percentile(&warm, 0.5),
        percentile(&warm, 0.95),
        f("warm_p50_ms"),
        f("warm_p95_ms")
    );
    println!(
        "| cold ({COLD_RUNS} queries, a new process / connection each) | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms |",
        percentile(&cold, 0.5),
        percentile(&cold, 0.95),
        f("cold_p50_ms"),
        f("cold_p95_ms")
    );
    println!(
        "| cold, DuckDB in a new Python process each ({COLD_RUNS} queries) | | | {:.0} ms | {:.0} ms |",
        f("process_p50_ms"),
        f("process_p95_ms")
    );
    println!(
        "| cold `SELECT 1` ({COLD_RUNS} runs, a new process each) | {:.0} ms | {:.0} ms | | |",
        percentile(&cold_select, 0.5),
        percentile(&cold_select, 0.95),
    );
    println!(
        "downstream products per start: median {}, p95 {}, max {} (the same for DuckDB); DuckDB threads {}",
        sorted[sorted.len() / 2],
        sorted[(sorted.len() - 1) * 95 / 100],
        sorted[sorted.len() - 1],
        peer["threads"]
    );
    let mut hits = search_hits.clone();
    hits.sort();
    println!();
    println!("| search_catalog over {PRODUCTS} products ({STARTS} queries, warm) | p50 | p95 |");
    println!("|---|---:|---:|");
    println!(
        "| first page (LIMIT 20) | {:.1} ms | {:.1} ms |",
        percentile(&search_page, 0.5),
        percentile(&search_page, 0.95)
    );
    println!(
        "| every match | {:.1} ms | {:.1} ms |",
        percentile(&search_all, 0.5),
        percentile(&search_all, 0.95)
    );
    println!(
        "matches per query: median {}, max {}; the first search of a snapshot (builds the index): {:.0} ms",
        hits[hits.len() / 2],
        hits[hits.len() - 1],
        search_first.as_secs_f64() * 1000.0
    );
}
