//! Catalog at scale: what a change costs and what a new process pays to open the catalog.
//!
//! - 10,000 data products registered one commit at a time (the time), then a cold
//!   `lakemeta sql -c "SELECT count(*) FROM meta.products"` (a new process: open the warehouse,
//!   load the Delta logs, plan, run), single-product changes (milliseconds and bytes written per
//!   commit), `lakemeta maintain`, and the cold query and changes again; warm queries of
//!   metadata tables in one long-lived session, as the REPL runs them.
//! - 100,000 products registered in one commit, then the cold query and single-product changes.
//! - The peer: Python `deltalake` appending one row per commit to a table of the same size and
//!   schema (a copy of `meta.products`).
//!
//! Run: `cargo bench --bench catalog_scale`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "support/venv.rs"]
mod venv;

use venv::{python_json, python_tools};

use lakemeta::catalog::{Catalog, ChangeSummary, DomainChange, ProductChange};
use lakemeta::model::{Column, DataProduct, Domain, Principal, ProductName};
use lakemeta::sql::{Session, SessionOptions};
use lakemeta::storage::{Warehouse, WarehouseLocation};

/// The allocator of the `lakemeta` binary, so that a commit here costs what it costs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PRODUCTS: usize = 10_000;
const LARGE: usize = 100_000;
const SINGLES: usize = 10_000;
const DOMAINS: usize = 20;

fn product(i: usize) -> DataProduct {
    let domain = format!("domain_{:02}", i % DOMAINS);
    let name = format!("product_{i:05}");
    DataProduct {
        // external: lakemeta does not own (or maintain) their files, which this fixture does
        // not have; `lakemeta maintain` then maintains the catalog's own tables
        location: format!("file:///lake/{domain}/{name}/"),
        domain,
        name,
        kind: "external".into(),
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

fn domains() -> ChangeSummary {
    let domains = (0..DOMAINS)
        .map(|d| DomainChange::Create(Domain::new(format!("domain_{d:02}"), format!("team-{d}"))))
        .collect();
    ChangeSummary {
        domains,
        ..Default::default()
    }
}

async fn open_catalog(root: &str) -> Catalog {
    let wh = Arc::new(
        Warehouse::open(WarehouseLocation::parse(root).unwrap())
            .await
            .unwrap(),
    );
    Catalog::open(wh).await.unwrap()
}

/// Registers `products` products: all but the last `singles` in one commit, then one commit
/// each for those. Returns the time the single commits took.
async fn build(root: &str, products: usize, singles: usize) -> Duration {
    let catalog = open_catalog(root).await;
    let who = Principal::new("bench");
    catalog.commit(&domains(), &who).await.unwrap();
    let bulk = products - singles;
    let all = (0..bulk)
        .map(|i| ProductChange::Create(product(i)))
        .collect();
    let changes = ChangeSummary {
        products: all,
        ..Default::default()
    };
    catalog.commit(&changes, &who).await.unwrap();
    let start = Instant::now();
    for i in bulk..products {
        let changes = ChangeSummary {
            products: vec![ProductChange::Create(product(i))],
            ..Default::default()
        };
        catalog.commit(&changes, &who).await.unwrap();
        if (i - bulk).is_multiple_of(100) {
            eprint!("\r  registering: {} of {singles}", i - bulk + 1);
        }
    }
    eprintln!();
    start.elapsed()
}

/// Every file under `dir` with its size.
fn files(dir: &Path) -> BTreeMap<PathBuf, u64> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                out.insert(e.path(), meta.len());
            }
        }
    }
    out
}

/// Bytes in files that are new or changed since `before`.
fn written(before: &BTreeMap<PathBuf, u64>, after: &BTreeMap<PathBuf, u64>) -> u64 {
    after
        .iter()
        .filter(|(p, n)| before.get(*p) != Some(*n))
        .map(|(_, n)| *n)
        .sum()
}

/// The data files of `meta.products` (its Parquet files, live or not yet vacuumed).
fn data_files(root: &str) -> usize {
    files(&Path::new(root).join("_meta/products"))
        .keys()
        .filter(|p| {
            p.extension().is_some_and(|e| e == "parquet")
                && !p.to_string_lossy().contains("_delta_log")
        })
        .count()
}

/// Single-product changes on a warehouse holding the generated products `0..products`: `n` new
/// products, then `n` changed descriptions, each its own commit. Prints milliseconds and bytes written per commit.
async fn changes(root: &str, products: usize, n: usize, label: &str) -> Vec<Duration> {
    let catalog = open_catalog(root).await;
    let who = Principal::new("bench");
    let meta = Path::new(root).join("_meta");
    let mut times = Vec::new();
    for (what, update) in [("new product", false), ("changed product", true)] {
        let mut ms = Vec::new();
        let mut bytes = Vec::new();
        for k in 0..n {
            let change = if update {
                let i = (k * 7919) % products;
                let name = ProductName::new(
                    format!("domain_{:02}", i % DOMAINS),
                    format!("product_{i:05}"),
                );
                let before = catalog.state().product(&name).unwrap().clone();
                let mut after = before.clone();
                after.description = format!("changed {k}");
                ProductChange::Update { before, after }
            } else {
                let mut p = product(products + k);
                p.name = format!("{label}_new_{k:04}");
                ProductChange::Create(p)
            };
            let files_before = files(&meta);
            let t = Instant::now();
            catalog
                .commit(
                    &ChangeSummary {
                        products: vec![change],
                        ..Default::default()
                    },
                    &who,
                )
                .await
                .unwrap();
            let took = t.elapsed();
            ms.push(took);
            times.push(took);
            bytes.push(written(&files_before, &files(&meta)));
        }
        bytes.sort();
        let (min, med, max) = stats(ms);
        println!(
            "change  {label}: one {what} per commit   median {}  min {}  max {}   bytes written median {}  max {}  ({n} commits)",
            ms_of(med),
            ms_of(min),
            ms_of(max),
            kb(bytes[bytes.len() / 2]),
            kb(bytes[bytes.len() - 1])
        );
    }
    times
}

fn kb(n: u64) -> String {
    format!("{:.1} KB", n as f64 / 1000.0)
}

/// Cold `SELECT count(*) FROM meta.products` in new processes.
fn cold_count(root: &str, products: usize, label: &str) {
    let bin = env!("CARGO_BIN_EXE_lakemeta");
    let mut cold = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let out = std::process::Command::new(bin)
            .args([
                "-w",
                root,
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
            Some(products.to_string().as_str())
        );
    }
    let (min, med, max) = stats(cold);
    println!(
        "cold  {label}: lakemeta sql -c \"SELECT count(*) FROM meta.products\"   min {}  median {}  max {}  (7 runs; {} data files in meta.products)",
        ms_of(min),
        ms_of(med),
        ms_of(max),
        data_files(root)
    );
}

/// The files of `meta.products`: live in its newest version, and on disk (data and log).
fn table_files(rt: &tokio::runtime::Runtime, root: &str) -> (usize, usize) {
    let dir = Path::new(root).join("_meta/products");
    let live = rt.block_on(async {
        let url = url::Url::from_directory_path(&dir).unwrap();
        let table = deltalake::open_table(url).await.unwrap();
        table.snapshot().unwrap().log_data().num_files()
    });
    (live, files(&dir).len())
}

/// `lakemeta maintain` in a new process (what the nightly job runs: every table lakemeta owns —
/// here the catalog's own, as the fixture's products are external); prints its time and the
/// files of `meta.products` before and after.
fn maintain(rt: &tokio::runtime::Runtime, root: &str) {
    let (live, disk) = table_files(rt, root);
    let bin = env!("CARGO_BIN_EXE_lakemeta");
    let t = Instant::now();
    let out = std::process::Command::new(bin)
        .args(["-w", root, "maintain", "--format", "csv"])
        .output()
        .unwrap();
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (live_after, disk_after) = table_files(rt, root);
    println!(
        "lakemeta maintain: {:.1} s; meta.products: {live} live data files before, {live_after} after; {disk} files on disk before, {disk_after} after (data and log; a replaced file stays for the week's retention)",
        took.as_secs_f64()
    );
}

/// Python deltalake appending one row per commit to a copy of `meta.products`.
fn peer(tools: &Path, root: &str, label: &str) {
    let work = tempfile::tempdir().unwrap();
    let table = Path::new(root).join("_meta/products");
    let v = python_json(
        tools,
        "catalog_deltalake.py",
        &[
            &table.to_string_lossy(),
            &work.path().to_string_lossy(),
            "50",
        ],
    );
    println!(
        "peer  {label}: Python deltalake appending one row per commit to a table of {} rows   {:.1} commits/s  median {:.1} ms  bytes written {}  (50 commits)",
        v["rows"],
        v["commits_per_s"].as_f64().unwrap(),
        v["median_ms"].as_f64().unwrap(),
        kb(v["bytes_per_commit"].as_f64().unwrap() as u64)
    );
}

fn stats(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

fn ms_of(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --all-targets` runs bench targets too, without `--bench`: build them, run nothing
    if !args.iter().any(|a| a == "--bench") {
        println!("catalog_scale: run with `cargo bench --bench catalog_scale`");
        return;
    }
    // as the binary runs: the same allocator, without transparent huge pages
    lakemeta::cli::runtime::without_huge_pages().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tools = python_tools();

    // 10,000 products registered one commit at a time
    let small = tmp.path().join("small").to_string_lossy().into_owned();
    let took = rt.block_on(build(&small, PRODUCTS, SINGLES));
    println!(
        "register {SINGLES} products one commit at a time, from an empty catalog: {:.1} s ({:.2} ms a commit, goal < 20 s)",
        took.as_secs_f64(),
        took.as_secs_f64() * 1000.0 / SINGLES as f64
    );
    cold_count(
        &small,
        PRODUCTS,
        &format!("10,000 products after {SINGLES} commits, before maintain"),
    );
    rt.block_on(changes(&small, PRODUCTS, 20, "10k"));
    maintain(&rt, &small);
    let total = PRODUCTS + 20;
    cold_count(&small, total, "10,000 products, after maintain");
    rt.block_on(changes(&small, PRODUCTS, 20, "10k maintained"));
    peer(&tools, &small, "10k");

    // warm: one session, as the REPL keeps it
    rt.block_on(async {
        let wh = Arc::new(Warehouse::open(WarehouseLocation::parse(&small).unwrap()).await.unwrap());
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
            println!("warm  {label:<32} min {}  median {}  max {}  (50 runs, goal < 10 ms)", ms_of(min), ms_of(med), ms_of(max));
        }
    });

    // 100,000 products registered in one commit, then changed one at a time
    let large = tmp.path().join("large").to_string_lossy().into_owned();
    rt.block_on(build(&large, LARGE, 0));
    cold_count(&large, LARGE, "100,000 products");
    rt.block_on(changes(&large, LARGE, 20, "100k"));
    peer(&tools, &large, "100k");
}
