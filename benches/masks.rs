//! What masks and a row filter cost a scan: the 10-million-row orders table of the quality
//! benchmark (Delta), registered as a product whose `email` (mask `email`) and `order_id` (mask
//! `last4`) are classified PII and whose rows an analyst sees for its own country only. The same
//! query runs as the owner (no protection: the plain scan, with its filter pushed into it) and as
//! the analyst (the secure scan: raw rows, the row filter, the masks, then the query), and the
//! owner runs it once more over the analyst's rows (`AND country = 'DE'` written in, pushed into
//! the scan): the same result rows, without the secure scan. Runs interleaved, in one
//! long-lived session each. The goal: the protected scan costs at most 1.15× the unprotected
//! one. The results are checked (the analyst's rows are one country's, its
//! values masked); the timings never. Then `classify` of the same product (a 10,000-row
//! sample; goal: under a second).
//!
//! Run: `cargo bench --bench masks` (`-- --rows N` for another size, `-- --runs N` for more
//! runs; the data is generated once under target/bench-data, shared with `quality_checks`).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lakemeta::model::Principal;
use lakemeta::sql::{Output, Session, SessionOptions};
use lakemeta::storage::{Warehouse, WarehouseLocation};

#[path = "support/venv.rs"]
#[allow(dead_code)] // the Python peers' part: this bench has no peer to run
mod venv;

#[path = "support/quality_data.rs"]
mod quality_data;

/// The query both principals run: aggregates over the two masked columns and two plain ones.
const QUERY: &str = "SELECT count(*), count(DISTINCT email), max(order_id), sum(amount) \
                     FROM shop.orders WHERE amount > 100";

/// The owner's query over the rows the analyst's row filter leaves: the same work but for the
/// secure scan's.
const SAME_ROWS: &str = "SELECT count(*), count(DISTINCT email), max(order_id), sum(amount) \
                         FROM shop.orders WHERE amount > 100 AND country = 'DE'";

fn specs(delta: &Path) -> Vec<(&'static str, String)> {
    vec![
        (
            "teams.yaml",
            "apiVersion: lakemeta/v1\nkind: Teams\nadmins: platform-admins\nteams:\n  - name: \
             shop-team\n    members: [owner]\n  - name: analysts\n    members:\n      - name: \
             analyst\n        attributes: {country: DE}\n  - name: platform-admins\n    \
             members: [admin]\n"
                .into(),
        ),
        (
            "policy.yaml",
            "apiVersion: lakemeta/v1\nkind: Policy\nmaskedReadWithoutGrant: true\nmasks:\n  \
             email: email\n  ssn: last4\nrowFilters:\n  - product: shop.orders\n    predicate: \
             \"country = principal_attribute('country')\"\n"
                .into(),
        ),
        (
            "domain.yaml",
            "apiVersion: lakemeta/v1\nkind: Domain\nname: shop\nowner: shop-team\n".into(),
        ),
        (
            "orders.yaml",
            format!(
                "apiVersion: v3.1.0\nkind: DataContract\nid: shop-orders\nversion: 1.0.0\n\
                 status: active\ndomain: shop\ndataProduct: orders\nteam:\n  name: shop-team\n\
                 schema:\n  - name: orders\n    properties:\n      - name: order_id\n        \
                 logicalType: string\n        classification: ssn\n      - name: customer_id\n\
                 \x20       logicalType: integer\n        physicalType: bigint\n      - name: \
                 status\n        logicalType: string\n      - name: amount\n        \
                 logicalType: number\n        physicalType: double\n      - name: quantity\n\
                 \x20       logicalType: integer\n        physicalType: int\n      - name: email\n\
                 \x20       logicalType: string\n        classification: email\n      - name: \
                 country\n        logicalType: string\n      - name: created_at\n        \
                 logicalType: timestamp\n      - name: discount\n        logicalType: number\n\
                 \x20       physicalType: double\ncustomProperties:\n  - property: location\n    \
                 value: {}\n  - property: format\n    value: delta\n",
                delta.display()
            ),
        ),
    ]
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn timed(s: &Session, sql: &str) -> (Duration, Output) {
    let start = Instant::now();
    let mut out = s.sql(sql).await.unwrap();
    (start.elapsed(), out.pop().unwrap())
}

fn row(out: &Output) -> Vec<String> {
    let b = &out.batches[0];
    (0..b.num_columns())
        .map(|c| arrow::util::display::array_value_to_string(b.column(c), 0).unwrap())
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rows = arg(&args, "--rows", 10_000_000);
    let runs = arg(&args, "--runs", 7);
    let bench = args.iter().any(|a| a == "--bench");
    // `cargo test --all-targets` runs bench targets too, without `--bench`: a small table, to
    // see that it works (its figures mean nothing)
    let rows = if bench { rows } else { 20_000 };
    let runs = if bench { runs } else { 1 };
    let tools = venv::python_tools();
    let dir = quality_data::data(&tools, rows);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let wh_dir = tempfile::tempdir().unwrap();
        let location = WarehouseLocation::parse(wh_dir.path().to_str().unwrap()).unwrap();
        let wh = Arc::new(Warehouse::open(location).await.unwrap());
        let admin = Session::open(
            Arc::clone(&wh),
            SessionOptions::new(Principal::new("admin")),
        )
        .await
        .unwrap();
        let spec_dir = wh_dir.path().join("specs");
        std::fs::create_dir_all(&spec_dir).unwrap();
        for (file, text) in specs(&dir.join("delta/")) {
            std::fs::write(spec_dir.join(file), text).unwrap();
        }
        let loaded = lakemeta::contracts::load_path(&spec_dir).unwrap();
        lakemeta::contracts::apply_specs(
            admin.catalog(),
            &loaded,
            &admin.state(),
            admin.principal(),
        )
        .await
        .unwrap();
        let session = |who: &str| {
            Session::with_catalog(
                Arc::clone(admin.catalog()),
                SessionOptions::new(Principal::new(who)),
            )
        };
        let owner = session("owner").await.unwrap();
        let analyst = session("analyst").await.unwrap();

        // warm up, and check what each reads
        let (_, plain) = timed(&owner, QUERY).await;
        let (_, protected) = timed(&analyst, QUERY).await;
        let (plain, protected) = (row(&plain), row(&protected));
        let (_, de) = timed(&owner, SAME_ROWS).await;
        let de = row(&de);
        assert_eq!(protected[0], de[0], "the analyst sees DE rows only");

        assert!(
            protected[2].starts_with("***"),
            "order_id masked: {protected:?}"
        );
        assert!(
            !plain[2].starts_with("***"),
            "the owner reads raw values: {plain:?}"
        );

        let (mut open, mut same, mut secure) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..runs {
            // rotate which goes first
            for k in 0..3 {
                match (i + k) % 3 {
                    0 => open.push(timed(&owner, QUERY).await.0),
                    1 => same.push(timed(&owner, SAME_ROWS).await.0),
                    _ => secure.push(timed(&analyst, QUERY).await.0),
                }
            }
        }
        let (open, same, secure) = (median(open), median(same), median(secure));
        println!(
            "masks: {rows} rows, {} cores, {runs} runs each (median), interleaved",
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        );
        println!();
        let ratio = |d: Duration, of: Duration| d.as_secs_f64() / of.as_secs_f64();
        println!("| read | query time | analyst's / this |");
        println!("|---|---:|---:|");
        println!(
            "| owner, the query: every row, raw (plain scan, filter pushed down) | {} ms | {:.2}× |",
            open.as_millis(),
            ratio(secure, open)
        );
        println!(
            "| owner, the analyst's rows written in: same rows, raw (plain scan) | {} ms | {:.2}× |",
            same.as_millis(),
            ratio(secure, same)
        );
        println!(
            "| analyst, the query: row filter + 2 masks (secure scan) | {} ms | 1.00× |",
            secure.as_millis()
        );
        println!();
        println!("goal: at most 1.15×; query: {QUERY}");

        // classify, as `lakemeta classify shop.orders`: its first 10,000 rows sampled, each run
        // in a new session (the product opened anew)
        let name: lakemeta::model::ProductName = "shop.orders".parse().unwrap();
        let product = admin.catalog().state().product(&name).unwrap().clone();
        let mut times = Vec::new();
        let mut proposal = String::new();
        for _ in 0..runs {
            let s = session("owner").await.unwrap();
            let clock = Instant::now();
            proposal = lakemeta::cli::classify::classify_product(&s, &product, 10_000)
                .await
                .unwrap();
            times.push(clock.elapsed());
        }
        assert!(
            proposal.contains("- name: email\n  classification: email"),
            "{proposal}"
        );
        println!();
        println!(
            "classify shop.orders ({rows} rows, 10,000 sampled, a new session per run): {} ms \
             (median of {runs}); goal under 1 s",
            median(times).as_millis()
        );
    });
}
