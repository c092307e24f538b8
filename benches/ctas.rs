//! `CREATE TABLE … AS` of generated rows (5 and 50 million) into a managed Delta product, each in
//! a new `lakemeta sql` process, beside DuckDB's `COPY … TO` Parquet of the same rows in the same
//! run: wall time, rows per second and the process's peak resident memory. The rows stream into
//! the table, so the peak stays the same whatever their number.
//!
//! Run: `cargo bench --bench ctas` (the venv of the peers is made on first use).

#[path = "support/venv.rs"]
mod venv;

use std::path::{Path, PathBuf};
use std::process::Command;

use venv::{python_json, python_tools};

/// The row counts measured.
const ROWS: [u64; 2] = [5_000_000, 50_000_000];

/// Seconds and peak MiB of a command, measured by `peak_rss.py`.
struct Run {
    seconds: f64,
    peak_mib: f64,
}

fn measured(tools: &Path, command: &[&str]) -> Run {
    let v = python_json(tools, "peak_rss.py", command);
    Run {
        seconds: v["seconds"].as_f64().unwrap(),
        peak_mib: v["peak_mib"].as_f64().unwrap(),
    }
}

fn lakemeta(root: &str, sql: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lakemeta"))
        .args(["-w", root, "sql", "--format", "csv", "-c", sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Bytes of the files under `dir` (a file: its own), the Delta log left out.
fn bytes_under(dir: &Path) -> u64 {
    if dir.is_file() {
        return dir.metadata().unwrap().len();
    }
    let mut total = 0;
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if !p.ends_with("_delta_log") {
                    stack.push(p);
                }
            } else {
                total += p.metadata().unwrap().len();
            }
        }
    }
    total
}

fn row(who: &str, rows: u64, run: &Run, bytes: u64) {
    println!(
        "| {who} | {rows} | {:.1} s | {:.2} M rows/s | {:.0} MiB | {:.0} MB |",
        run.seconds,
        rows as f64 / run.seconds / 1e6,
        run.peak_mib,
        bytes as f64 / 1e6
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --all-targets` runs bench targets too, without `--bench`: build them, run nothing
    if !args.iter().any(|a| a == "--bench") {
        println!("ctas: run with `cargo bench --bench ctas`");
        return;
    }
    let tools = python_tools();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!("ctas: generated rows (id, bucket, name, amount), {cores} cores");
    println!("| writer | rows | time | rate | peak memory | data written |");
    println!("|---|---|---|---|---|---|");
    let bin = env!("CARGO_BIN_EXE_lakemeta");
    for rows in ROWS {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("wh").to_string_lossy().into_owned();
        lakemeta(&root, "CREATE DOMAIN bench OWNER 'bench'");
        let ctas = format!(
            "CREATE TABLE bench.t AS SELECT value AS id, value % 1000 AS bucket, \
             concat('name-', value % 100000) AS name, value * 0.5 AS amount \
             FROM generate_series(1, {rows})"
        );
        let ours = measured(&tools, &[bin, "-w", &root, "sql", "-c", &ctas]);
        let count = lakemeta(&root, "SELECT count(*) AS n FROM bench.t");
        assert_eq!(count.lines().nth(1), Some(rows.to_string().as_str()));
        let location = lakemeta(&root, "SELECT location FROM meta.products WHERE name = 't'");
        let table = url::Url::parse(location.lines().nth(1).unwrap())
            .unwrap()
            .to_file_path()
            .unwrap();
        row("lakemeta CTAS (Delta)", rows, &ours, bytes_under(&table));

        let out = dir.path().join("duck.parquet");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/support/ctas_duckdb.py");
        let python = tools.join("python");
        let theirs = measured(
            &tools,
            &[
                python.to_str().unwrap(),
                script.to_str().unwrap(),
                &rows.to_string(),
                out.to_str().unwrap(),
            ],
        );
        row("DuckDB COPY TO (Parquet)", rows, &theirs, bytes_under(&out));
    }
}
