//! Catalog at scale: a warehouse of 10,000 data products whose `products` table has 1,000
//! commits. Measures a cold `lakemeta sql -c "SELECT count(*) FROM meta.products"` (a new
//! process: open the warehouse, load the Delta logs, plan, run) and a warm query of a metadata
//! table in one long-lived session, as the REPL runs it.
//!
//! Run: `cargo bench --bench catalog_scale` (add `-- --keep DIR` to keep the warehouse).

use std::sync::Arc;
use std::time::{Duration, Instant};

use lakemeta::catalog::{Catalog, ChangeSummary, DomainChange, ProductChange};
use lakemeta::model::{Column, DataProduct, Domain, Principal};
use lakemeta::sql::{Session, SessionOptions};
use lakemeta::storage::{SystemTableKind, Warehouse, WarehouseLocation};

const PRODUCTS: usize = 10_000;
const COMMITS: usize = 1_000;
const DOMAINS: usize = 20;

fn product(i: usize) -> DataProduct {
    let domain = format!("domain_{:02}", i % DOMAINS);
    let name = format!("product_{i:05}");
    DataProduct {
        location: format!("file:///lake/{domain}/{name}/"),
        domain,
        name,
        kind: "managed".into(),
        format: "delta".into(),
        owner: format!("team-{}", i % 37),
        description: format!("Generated product number {i} for the catalog benchmark"),
        tags: if i.is_multiple_of(5) {
            vec!["pii".into()]
        } else {
            vec![]
        },
        access_patterns: vec!["batch".into()],
        sla_freshness_minutes: Some(60),
        sla_availability_percent: Some(99.9),
        sla_completeness_percent: None,
        contract_id: String::new(),
        contract_version: String::new(),
        contract_spec: String::new(),
        schema_hash: String::new(),
        columns: (0..8)
            .map(|c| Column {
                name: format!("col_{c}"),
                data_type: if c == 0 {
                    "string".into()
                } else {
                    "bigint".into()
                },
                nullable: c != 0,
                description: String::new(),
                tags: Vec::new(),
                classification: String::new(),
                primary_key: c == 0,
                unique: c == 0,
                accepted_values: Vec::new(),
                ordinal: c,
            })
            .collect(),
        checks: Vec::new(),
        created_at: 0,
        updated_at: 0,
        updated_by: String::new(),
        ..DataProduct::default()
    }
}

async fn build(root: &str) -> Duration {
    let start = Instant::now();
    let wh = Arc::new(
        Warehouse::open(WarehouseLocation::parse(root).unwrap())
            .await
            .unwrap(),
    );
    let catalog = Catalog::open(wh).await.unwrap();
    let who = Principal::new("bench");
    let domains = (0..DOMAINS)
        .map(|d| {
            DomainChange::Create(Domain {
                name: format!("domain_{d:02}"),
                owner_team: format!("team-{d}"),
                description: String::new(),
                upstream: vec![],
                downstream: vec![],
                created_at: 0,
                updated_at: 0,
                updated_by: String::new(),
            })
        })
        .collect();
    catalog
        .commit(
            &ChangeSummary {
                domains,
                ..Default::default()
            },
            &who,
        )
        .await
        .unwrap();
    // one commit with the bulk, then one product per commit up to COMMITS commits
    let bulk = PRODUCTS - (COMMITS - 1);
    let first = (0..bulk)
        .map(|i| ProductChange::Create(product(i)))
        .collect();
    catalog
        .commit(
            &ChangeSummary {
                products: first,
                ..Default::default()
            },
            &who,
        )
        .await
        .unwrap();
    for i in bulk..PRODUCTS {
        catalog
            .commit(
                &ChangeSummary {
                    products: vec![ProductChange::Create(product(i))],
                    ..Default::default()
                },
                &who,
            )
            .await
            .unwrap();
        if (i - bulk).is_multiple_of(100) {
            eprint!("\r  building: {} of {COMMITS} commits", i - bulk + 2);
        }
    }
    eprintln!();
    start.elapsed()
}

fn stats(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --all-targets` runs bench targets too, without `--bench`: build them, run nothing
    if !args.iter().any(|a| a == "--bench") {
        println!("catalog_scale: run with `cargo bench --bench catalog_scale`");
        return;
    }
    let keep = args
        .iter()
        .position(|a| a == "--keep")
        .and_then(|i| args.get(i + 1).cloned());
    let tmp = tempfile::tempdir().unwrap();
    let root = keep.unwrap_or_else(|| tmp.path().join("wh").to_string_lossy().into_owned());
    let rt = tokio::runtime::Runtime::new().unwrap();

    let fresh = !std::path::Path::new(&root).join("_meta").exists();
    let built = if fresh {
        Some(rt.block_on(build(&root)))
    } else {
        None
    };
    let (versions, files) = rt.block_on(async {
        let wh = Warehouse::open(WarehouseLocation::parse(&root).unwrap())
            .await
            .unwrap();
        let v = wh.table(SystemTableKind::Products).version().await;
        let log = std::path::Path::new(&root).join("_meta/products/_delta_log");
        let n = std::fs::read_dir(&log).map(|d| d.count()).unwrap_or(0);
        (v, n)
    });
    println!(
        "fixture: {PRODUCTS} products in {DOMAINS} domains, 8 columns each; meta.products at Delta version {versions} ({} commits), {files} files in its _delta_log (checkpoint every 20 commits)",
        versions + 1
    );
    if let Some(b) = built {
        println!("fixture built in {:.1} s", b.as_secs_f64());
    }

    // cold: a new process each time
    let bin = env!("CARGO_BIN_EXE_lakemeta");
    let mut cold = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let out = std::process::Command::new(bin)
            .args([
                "-w",
                &root,
                "sql",
                "--format",
                "csv",
                "-c",
                "SELECT count(*) FROM meta.products",
            ])
            .output()
            .unwrap();
        cold.push(t.elapsed());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().nth(1),
            Some(PRODUCTS.to_string().as_str())
        );
    }
    let (min, med, max) = stats(cold);
    println!(
        "cold  lakemeta sql -c \"SELECT count(*) FROM meta.products\"   min {}  median {}  max {}  (7 runs, goal < 1000 ms)",
        ms(min),
        ms(med),
        ms(max)
    );

    // warm: one session, as the REPL keeps it
    rt.block_on(async {
        let wh = Arc::new(Warehouse::open(WarehouseLocation::parse(&root).unwrap()).await.unwrap());
        let s = Session::open(wh, SessionOptions::new(Principal::new("bench"))).await.unwrap();
        for (label, sql) in [
            ("SELECT 1 (per-statement floor)", "SELECT 1"),
            ("count(*) FROM meta.products", "SELECT count(*) FROM meta.products"),
            ("one domain's products", "SELECT name, owner FROM meta.products WHERE domain = 'domain_07' ORDER BY name LIMIT 10"),
            ("SELECT * FROM meta.domains", "SELECT * FROM meta.domains"),
        ] {
            s.sql(sql).await.unwrap();
            let mut warm = Vec::new();
            for _ in 0..50 {
                let t = Instant::now();
                s.sql(sql).await.unwrap();
                warm.push(t.elapsed());
            }
            let (min, med, max) = stats(warm);
            println!("warm  {label:<32} min {}  median {}  max {}  (50 runs, goal < 10 ms)", ms(min), ms(med), ms(max));
        }
    });
}
