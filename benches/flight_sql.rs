//! The Flight SQL server under real clients: `lakemeta serve` (the release binary, its own
//! process, users with passwords) and ADBC from Python over loopback.
//!
//! 1. Streaming a 10-million-row data product (`SELECT *`, five columns) into a pyarrow table
//!    through ADBC, side by side in one run with DuckDB (from PyPI) reading the same Parquet files
//!    in-process into Arrow (`fetch_arrow_table`): rows/s and MB/s (Arrow bytes received).
//! 2. A generated numeric result (four 64-bit columns, no file to decode): the transport alone.
//! 3. 16 ADBC clients (processes) for 60 s running a mix of metadata calls and queries: calls,
//!    errors, p50/p99 latency per kind (and each kind's latency with one client alone, first),
//!    and the server's peak memory (VmHWM), from a fresh server.
//! 4. What the audit log costs: the same load with auditing and without (`--unaudited-benchmark`,
//!    a hidden flag), four runs of each in the order A U U A A U U A: calls per second of each
//!    run and the server's CPU time per call.
//!
//! Run: `cargo bench --bench flight_sql` (the warehouse is generated once under
//! target/bench-data/flight); `-- --audit-only` runs part 4 alone.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

#[path = "support/venv.rs"]
mod venv;

use venv::{python_json, python_tools};

const ROWS: u64 = 10_000_000;
const RUNS: usize = 7;
const NUMERIC_ROWS: u64 = 20_000_000;
const CLIENTS: usize = 16;
const SECONDS: u64 = 60;
const USER: &str = "bench";
const PASSWORD: &str = "bench password";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --all-targets` runs bench targets too, without `--bench`: build them, run nothing
    if !args.iter().any(|a| a == "--bench") {
        println!("flight_sql: run with `cargo bench --bench flight_sql`");
        return;
    }
    let tools = python_tools();
    let dir = fixture();
    let wh = dir.join("wh");
    let users = dir.join("users.yaml");
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!("flight_sql: {cores} cores; lakemeta serve and the clients on one machine, loopback");
    if args.iter().any(|a| a == "--audit-only") {
        audit_cost(&tools, &wh, &users, None);
        return;
    }

    // 1 and 2: one server
    let (mut server, uri) = serve(&wh, &users, &[]);
    let parquet_dir = wh.join("bench").join("events");
    let out = python_json(
        &tools,
        "flight_bench.py",
        &[
            "stream",
            &uri,
            USER,
            PASSWORD,
            parquet_dir.to_str().unwrap(),
            &RUNS.to_string(),
        ],
    );
    let rate = |runs: &serde_json::Value| -> (f64, f64, f64, u64) {
        // the median run
        let mut v: Vec<(f64, u64, u64)> = runs
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["seconds"].as_f64().unwrap(),
                    r["rows"].as_u64().unwrap(),
                    r["bytes"].as_u64().unwrap(),
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (s, rows, bytes) = v[v.len() / 2];
        (s, rows as f64 / s, bytes as f64 / s / 1e6, rows)
    };
    // every run, fastest first: the spread says as much as the median
    let spread = |runs: &serde_json::Value| -> String {
        let mut v: Vec<f64> = runs
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["seconds"].as_f64().unwrap())
            .collect();
        v.sort_by(f64::total_cmp);
        let v: Vec<String> = v.iter().map(|s| format!("{s:.2}")).collect();
        format!("runs {} s", v.join(" "))
    };
    let (ls, lrows, lmb, ln) = rate(&out["lakemeta"]);
    let (ds, drows, dmb, dn) = rate(&out["duckdb"]);
    assert_eq!(ln, ROWS, "lakemeta sent {ln} rows");
    assert_eq!(dn, ROWS, "DuckDB read {dn} rows");
    println!("\n10M-row product (SELECT *), median of {RUNS} runs:");
    println!(
        "  lakemeta over ADBC:   {:.2} s  {:.1} M rows/s  {:.0} MB/s  ({})",
        ls,
        lrows / 1e6,
        lmb,
        spread(&out["lakemeta"])
    );
    println!(
        "  DuckDB {} in-process: {:.2} s  {:.1} M rows/s  {:.0} MB/s  ({})",
        out["duckdb_version"].as_str().unwrap_or("?"),
        ds,
        drows / 1e6,
        dmb,
        spread(&out["duckdb"])
    );
    println!("  ratio (rows/s): {:.2}x DuckDB", lrows / drows);

    let out = python_json(
        &tools,
        "flight_bench.py",
        &[
            "numeric",
            &uri,
            USER,
            PASSWORD,
            &NUMERIC_ROWS.to_string(),
            &RUNS.to_string(),
        ],
    );
    let (ns, nrows, nmb, nn) = rate(&out);
    assert_eq!(nn, NUMERIC_ROWS);
    println!(
        "\ngenerated numeric result (4 x int64/float64, {NUMERIC_ROWS} rows), median of {RUNS}:"
    );
    println!(
        "  {:.2} s  {:.1} M rows/s  {:.0} MB/s ({:.2} GB/s)  ({})",
        ns,
        nrows / 1e6,
        nmb,
        nmb / 1000.0,
        spread(&out)
    );
    println!(
        "  server peak memory (VmHWM) after streaming: {} MiB",
        peak_mib(&server)
    );
    stop(&mut server);

    // 3: a fresh server, so its peak memory is the load's
    let Load {
        out,
        peak,
        elapsed,
        run,
    } = load(&tools, &wh, &users, &[]);
    let errors = out["errors"].as_array().unwrap();
    let latencies = out["latencies"].as_object().unwrap();
    let mut all: Vec<f64> = Vec::new();
    println!("\n{CLIENTS} ADBC clients for {SECONDS} s (a process each):");
    println!(
        "  {:<22} {:>7} {:>9} {:>9} {:>16}",
        "call", "calls", "p50 ms", "p99 ms", "alone p50 ms"
    );
    for (kind, v) in latencies {
        let loaded = ms(v);
        all.extend(&loaded);
        println!(
            "  {:<22} {:>7} {:>9.1} {:>9.1} {:>16.1}",
            kind,
            loaded.len(),
            quantile(&loaded, 0.5),
            quantile(&loaded, 0.99),
            quantile(&ms(&out["alone"][kind]), 0.5)
        );
    }
    all.sort_by(f64::total_cmp);
    println!(
        "  {:<22} {:>7} {:>9.1} {:>9.1}",
        "all",
        all.len(),
        quantile(&all, 0.5),
        quantile(&all, 0.99)
    );
    println!(
        "  {:.0} calls/s, {} errors, server peak memory (VmHWM) {peak} MiB ({elapsed:.0} s with \
         connecting)",
        all.len() as f64 / SECONDS as f64,
        errors.len()
    );
    for e in errors.iter().take(5) {
        println!("  error: {e}");
    }
    assert!(errors.is_empty(), "{} calls failed", errors.len());

    // 4: what the audit log costs
    audit_cost(&tools, &wh, &users, Some(run));
}

/// One run of the load for part 4: calls per second, and the server's CPU time per call.
struct Run {
    calls_per_second: f64,
    cpu_ms_per_call: f64,
}

/// The order of part 4's runs, audited (`true`) or not: A U U A, twice, so that a drift of the
/// machine over the minutes of the runs weighs on both sides alike.
const AUDIT_ORDER: [bool; 8] = [true, false, false, true, true, false, false, true];

/// Part 4, what the audit log costs: the load of part 3 run without the audit log and with it,
/// four runs of each in the order [`AUDIT_ORDER`] (`first`: the audited run of part 3, which
/// then counts as the first of the order).
fn audit_cost(tools: &Path, wh: &Path, users: &Path, first: Option<Run>) {
    let mut audited: Vec<Run> = Vec::new();
    let mut unaudited: Vec<Run> = Vec::new();
    let skip = usize::from(first.is_some());
    audited.extend(first);
    for &with_audit in &AUDIT_ORDER[skip..] {
        let extra: &[&str] = if with_audit {
            &[]
        } else {
            &["--unaudited-benchmark"]
        };
        let run = load(tools, wh, users, extra).run;
        if with_audit {
            audited.push(run);
        } else {
            unaudited.push(run);
        }
    }
    let median = |runs: &[Run], f: fn(&Run) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        (v[(v.len() - 1) / 2] + v[v.len() / 2]) / 2.0
    };
    let list = |runs: &[Run], f: fn(&Run) -> f64| {
        runs.iter()
            .map(|r| format!("{:.1}", f(r)))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let rate = |r: &Run| r.calls_per_second;
    let cpu = |r: &Run| r.cpu_ms_per_call;
    println!(
        "\naudit cost, the load above run audited (A) and unaudited (U, --unaudited-benchmark) \
         in the order A U U A A U U A:"
    );
    for (name, runs) in [("audited  ", &audited), ("unaudited", &unaudited)] {
        println!(
            "  {name} {} calls/s (median {:.1}); server CPU {} ms per call (median {:.1})",
            list(runs, rate),
            median(runs, rate),
            list(runs, cpu),
            median(runs, cpu)
        );
    }
    println!(
        "  throughput with the audit log: {:.1} % of without (goal: at least 95 %); the server's \
         CPU per call: {:+.1} %",
        100.0 * median(&audited, rate) / median(&unaudited, rate),
        100.0 * (median(&audited, cpu) / median(&unaudited, cpu) - 1.0)
    );
}

/// What one run of the 16-client load gave.
struct Load {
    /// The clients' report.
    out: serde_json::Value,
    /// The server's peak memory, MiB.
    peak: u64,
    /// Wall time with connecting, seconds.
    elapsed: f64,
    /// Throughput and the server's CPU per call.
    run: Run,
}

/// One run of the 16-client load against a fresh server started with `extra` flags: the
/// clients' report, the server's peak memory (MiB) and the wall time with connecting.
fn load(tools: &Path, wh: &Path, users: &Path, extra: &[&str]) -> Load {
    let (mut server, uri) = serve(wh, users, extra);
    let t = Instant::now();
    let out = python_json(
        tools,
        "flight_bench.py",
        &[
            "load",
            &uri,
            USER,
            PASSWORD,
            &CLIENTS.to_string(),
            &SECONDS.to_string(),
        ],
    );
    let elapsed = t.elapsed().as_secs_f64();
    let peak = peak_mib(&server);
    let cpu = cpu_seconds(&server);
    stop(&mut server);
    let calls = calls(&out);
    Load {
        run: Run {
            calls_per_second: calls as f64 / SECONDS as f64,
            cpu_ms_per_call: 1000.0 * cpu / calls.max(1) as f64,
        },
        out,
        peak,
        elapsed,
    }
}

/// Latencies in milliseconds, sorted.
fn ms(v: &serde_json::Value) -> Vec<f64> {
    let mut ms: Vec<f64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() * 1000.0)
        .collect();
    ms.sort_by(f64::total_cmp);
    ms
}

/// The calls of a load run (every call of every kind).
fn calls(out: &serde_json::Value) -> usize {
    out["latencies"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_array().unwrap().len())
        .sum()
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// The warehouse: the example mesh (for the metadata calls) and `bench.events`, 10M rows.
fn fixture() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/flight");
    let done = dir.join(".ready-v2");
    if done.exists() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let wh = dir.join("wh");
    let bin = env!("CARGO_BIN_EXE_lakemeta");
    let run = |args: &[&str], stdin: Stdio| {
        let out = Command::new(bin)
            .arg("-w")
            .arg(&wh)
            .args(args)
            .stdin(stdin)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    println!("flight_sql: generating the warehouse (once)");
    run(&["demo"], Stdio::null());
    // the example mesh has teams: its platform admin makes the bench domain
    run(
        &[
            "-u",
            "admin",
            "sql",
            "-c",
            &format!(
                "CREATE DOMAIN bench OWNER 'platform-admins'; \
                 CREATE TABLE bench.events AS SELECT value AS id, value % 100000 AS customer, \
                 CAST(value % 9973 AS DOUBLE) * 1.25 AS amount, \
                 CASE value % 5 WHEN 0 THEN 'de' WHEN 1 THEN 'fr' WHEN 2 THEN 'nl' \
                 WHEN 3 THEN 'pl' ELSE 'se' END AS country, \
                 to_timestamp_micros(1700000000000000 + value * 1000) AS at \
                 FROM generate_series(1, {ROWS})"
            ),
        ],
        Stdio::null(),
    );
    let hash = Command::new(bin)
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(PASSWORD.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let hash = String::from_utf8(hash.stdout).unwrap();
    std::fs::write(
        dir.join("users.yaml"),
        format!(
            "users:\n  - name: {USER}\n    password_hash: \"{}\"\n",
            hash.trim()
        ),
    )
    .unwrap();
    std::fs::write(&done, "").unwrap();
    dir
}

/// `lakemeta serve` on 127.0.0.1 (port from the system) with `extra` flags, and its URI; its
/// stderr is drained.
fn serve(wh: &Path, users: &Path, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lakemeta"))
        .arg("-w")
        .arg(wh)
        .args(["serve", "--listen", "127.0.0.1:0", "--users"])
        .arg(users)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("serving Flight SQL on grpc://")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    (child, format!("grpc://{addr}"))
}

fn stop(server: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
}

/// The CPU time the process has used (user and system), seconds: fields 14 and 15 of
/// `/proc/PID/stat`, in clock ticks of 1/100 s (Linux's `USER_HZ`).
fn cpu_seconds(server: &Child) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", server.id())).unwrap();
    // the fields after the command name, which is in parentheses and may hold spaces
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

/// The process's peak resident memory, MiB.
fn peak_mib(server: &Child) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.id())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb / 1024)
        .unwrap_or(0)
}
