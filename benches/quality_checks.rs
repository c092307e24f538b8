//! Quality checks at scale: a generated product of 10 million rows (Parquet files, and the same
//! data as a Delta table) with 20 checks of the usual mix — null counts, uniqueness of a key,
//! accepted values, ranges, regular expressions, a distinct count, freshness, row count — run by
//! `run_checks`, side by side in one run with DuckDB (from PyPI) on the same files: once as one
//! hand-fused query, once as one query per check written the way dbt's generic tests write them.
//! Also: the checks that Delta statistics answer (row count, null counts, min/max), which need
//! no scan.
//!
//! Run: `cargo bench --bench quality_checks` (`-- --rows N` for another size; the data is
//! generated once under target/bench-data).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lakemeta::model::Principal;
use lakemeta::sql::{Session, SessionOptions};
use lakemeta::storage::{Warehouse, WarehouseLocation};

#[path = "support/venv.rs"]
mod venv;

#[path = "support/quality_data.rs"]
mod quality_data;

use quality_data::data;

use venv::{python_json, python_tools};

const RUNS: usize = 5;

/// The benchmark product's contract: 19 data checks (freshness at its one-hour default) plus the
/// schema check.
fn contract(name: &str, location: &Path, format: &str) -> String {
    format!(
        r#"apiVersion: v3.1.0
kind: DataContract
id: bench-{name}
version: 1.0.0
status: active
domain: bench
dataProduct: {name}
team:
  name: bench-team
schema:
  - name: {name}
    properties:
      - name: order_id
        logicalType: string
        required: true
        unique: true
        logicalTypeOptions:
          pattern: '^o-[0-9]+$'
      - name: customer_id
        logicalType: integer
        physicalType: bigint
        required: true
      - name: status
        logicalType: string
        required: true
        quality:
          - name: valid_status
            metric: invalidValues
            arguments:
              validValues: [pending, paid, shipped, delivered, cancelled]
            mustBe: 0
      - name: amount
        logicalType: number
        physicalType: double
        required: true
        logicalTypeOptions:
          minimum: 0
          maximum: 10000
      - name: quantity
        logicalType: integer
        physicalType: int
        required: true
        logicalTypeOptions:
          minimum: 1
          maximum: 100
      - name: email
        logicalType: string
        logicalTypeOptions:
          pattern: '^[^@]+@[^@]+$'
      - name: country
        logicalType: string
        required: true
        quality:
          - name: valid_country
            metric: invalidValues
            arguments:
              validValues: [DE, FR, US, NL, PL, ES]
            mustBe: 0
          - name: countries
            type: sql
            query: SELECT count(DISTINCT country) FROM {{object}}
            mustBeBetween: [1, 300]
      - name: created_at
        logicalType: timestamp
        required: true
      - name: discount
        logicalType: number
        physicalType: double
    quality:
      - name: has_rows
        metric: rowCount
        mustBeGreaterThan: 0
customProperties:
  - property: location
    value: {}
  - property: format
    value: {format}
"#,
        location.display()
    )
}

/// Only checks that the Delta log's statistics answer: row count, null counts, min/max.
fn stats_contract(location: &Path) -> String {
    format!(
        r#"apiVersion: v3.1.0
kind: DataContract
id: bench-orders_stats
version: 1.0.0
status: active
domain: bench
dataProduct: orders_stats
team:
  name: bench-team
schema:
  - name: orders_stats
    properties:
      - name: order_id
        logicalType: string
        required: true
      - name: customer_id
        logicalType: integer
        physicalType: bigint
        required: true
      - name: amount
        logicalType: number
        physicalType: double
        required: true
        logicalTypeOptions:
          minimum: 0
          maximum: 10000
      - name: quantity
        logicalType: integer
        physicalType: int
        required: true
        logicalTypeOptions:
          minimum: 1
          maximum: 100
      - name: email
        logicalType: string
      - name: discount
        logicalType: number
        physicalType: double
    quality:
      - name: has_rows
        metric: rowCount
        mustBeGreaterThan: 0
customProperties:
  - property: location
    value: {}
  - property: format
    value: delta
"#,
        location.display()
    )
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

async fn time_checks(s: &Session, call: &str, runs: usize) -> (f64, String) {
    let sql = format!(
        "SELECT count(*), count(*) FILTER (WHERE status = 'error'), array_to_string(array_sort(array_agg(DISTINCT method)), ',') FROM {call}"
    );
    let first = s.sql(&sql).await.unwrap().pop().unwrap();
    let b = &first.batches[0];
    let show = |i: usize| arrow::util::display::array_value_to_string(b.column(i), 0).unwrap();
    let summary = format!(
        "{} checks, {} errors, answered by {}",
        show(0),
        show(1),
        show(2)
    );
    let mut samples = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        s.sql(&sql).await.unwrap();
        samples.push(t.elapsed());
    }
    (median(samples), summary)
}

fn duckdb(tools: &Path, glob: &str) -> serde_json::Value {
    python_json(tools, "quality_duckdb.py", &[glob, &RUNS.to_string()])
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --all-targets` runs bench targets too, without `--bench`: build them, run nothing
    if !args.iter().any(|a| a == "--bench") {
        // ... but the contracts the benchmark applies must stay valid ODCS
        let specs = tempfile::tempdir().unwrap();
        let data = Path::new("/bench-data");
        std::fs::write(
            specs.path().join("p.yaml"),
            contract("orders_parquet", &data.join("parquet/"), "parquet"),
        )
        .unwrap();
        std::fs::write(
            specs.path().join("d.yaml"),
            contract("orders_delta", &data.join("delta/"), "delta"),
        )
        .unwrap();
        std::fs::write(
            specs.path().join("s.yaml"),
            stats_contract(&data.join("delta/")),
        )
        .unwrap();
        if let Err(e) = lakemeta::contracts::load_path(specs.path()) {
            panic!("the benchmark's contracts do not load: {e}");
        }
        println!("quality_checks: run with `cargo bench --bench quality_checks`");
        return;
    }
    let rows: usize = args
        .iter()
        .position(|a| a == "--rows")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let tools = python_tools();
    let dir = data(&tools, rows);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let wh_dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(WarehouseLocation::parse(wh_dir.path().to_str().unwrap()).unwrap())
            .await
            .unwrap();
        let s = Session::open(Arc::new(wh), SessionOptions::new(Principal::new("bench")))
            .await
            .unwrap();
        s.sql("CREATE DOMAIN bench OWNER 'bench-team'").await.unwrap();
        let specs = wh_dir.path().join("specs");
        std::fs::create_dir_all(&specs).unwrap();
        std::fs::write(specs.join("p.yaml"), contract("orders_parquet", &dir.join("parquet/"), "parquet")).unwrap();
        std::fs::write(specs.join("d.yaml"), contract("orders_delta", &dir.join("delta/"), "delta")).unwrap();
        std::fs::write(specs.join("s.yaml"), stats_contract(&dir.join("delta/"))).unwrap();
        let loaded = lakemeta::contracts::load_path(&specs).unwrap();
        lakemeta::contracts::apply_specs(s.catalog(), &loaded, &s.state(), s.principal())
            .await
            .unwrap();

        println!("quality_checks: {rows} rows, {} cores, {RUNS} runs each (median)", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
        let (parquet_ms, parquet_sum) = time_checks(&s, "run_checks('bench.orders_parquet')", RUNS).await;
        let (delta_ms, delta_sum) = time_checks(&s, "run_checks('bench.orders_delta')", RUNS).await;
        let (delta_scan_ms, _) = time_checks(&s, "run_checks('bench.orders_delta', 'scan')", RUNS).await;
        let (stats_ms, stats_sum) = time_checks(&s, "run_checks('bench.orders_stats')", 20).await;
        let (stats_scan_ms, _) = time_checks(&s, "run_checks('bench.orders_stats', 'scan')", RUNS).await;

        let on_parquet = duckdb(&tools, &format!("{}/parquet/*.parquet", dir.display()));
        let on_delta = duckdb(&tools, &format!("{}/delta/*.parquet", dir.display()));
        let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap();
        println!();
        println!("| files   | lakemeta run_checks | DuckDB fused query | DuckDB one query per check (dbt style) | run_checks / fused | per-check / run_checks |");
        println!("|---------|--------------------:|-------------------:|---------------------------------------:|-------------------:|-----------------------:|");
        for (label, ours, peer) in [("Parquet", parquet_ms, &on_parquet), ("Delta", delta_ms, &on_delta)] {
            println!(
                "| {label:<7} | {ours:>16.0} ms | {:>15.0} ms | {:>35.0} ms | {:>17.2}x | {:>21.1}x |",
                f(peer, "fused_ms"),
                f(peer, "per_check_ms"),
                ours / f(peer, "fused_ms"),
                f(peer, "per_check_ms") / ours
            );
        }
        println!();
        println!("lakemeta Parquet: {parquet_sum}");
        println!("lakemeta Delta:   {delta_sum}; the same checks scanning everything: {delta_scan_ms:.0} ms");
        println!("Delta statistics only: {stats_sum}: {stats_ms:.1} ms (goal < 50 ms); scanning instead: {stats_scan_ms:.0} ms");
        println!("DuckDB: {} queries per run, {} threads", on_parquet["checks"], on_parquet["threads"]);
    });
}
