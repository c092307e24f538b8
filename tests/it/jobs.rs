//! Quality jobs: `lakemeta run` once, `lakemeta schedule` on time until SIGTERM, every run in
//! meta.job_runs.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use super::quality::{csv, demo_warehouse};

fn write(dir: &std::path::Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn run_executes_jobs_once_with_exit_codes_and_records_them() {
    let dir = tempfile::tempdir().unwrap();
    let wh = demo_warehouse(dir.path());
    let jobs = dir.path().join("jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    write(
        &jobs,
        "good.sql",
        "-- schedule: */5 * * * *\nRUN CHECKS FOR orders.orders_fact;\n",
    );
    let ok = super::bin()
        .args([
            "-w",
            &wh,
            "-u",
            "alice",
            "run",
            jobs.join("good.sql").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stderr).contains("job good: success"));

    write(
        &jobs,
        "broken.sql",
        "-- job: broken_job\nSELECT 1;\nSELECT * FROM orders.nope;\nSELECT 2;\n",
    );
    // a failed check: the shipped example job over a product that now has a duplicate
    csv(
        &wh,
        "INSERT INTO orders.orders_fact VALUES ('o-000001', 'u-00001', 5.00, 'completed', now())",
    );
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/sql/jobs/orders_quality.sql");
    let out = super::bin()
        .args(["-w", &wh, "-u", "alice", "run", shipped])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = super::bin()
        .args([
            "-w",
            &wh,
            "-u",
            "alice",
            "run",
            jobs.join("broken.sql").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("job broken_job: error after"));

    assert_eq!(
        csv(
            &wh,
            "SELECT job, status, statements, checks_failed > 0, coalesce(error, '') FROM meta.job_runs ORDER BY started_at"
        ),
        "good,success,1,false,\n\
         orders_quality,checks_failed,1,true,\n\
         broken_job,error,1,false,\"statement 2 of 3: unknown data product 'orders.nope'; known products: orders.cart_events, orders.orders_fact, orders.payments_fact\""
    );
}

#[test]
fn schedule_runs_each_job_on_time_survives_failures_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let wh = demo_warehouse(dir.path());
    let jobs = dir.path().join("jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    write(
        &jobs,
        "fast.sql",
        "-- schedule: every 1s\nRUN CHECKS FOR orders.orders_fact;\n",
    );
    write(
        &jobs,
        "failing.sql",
        "-- schedule: every 1s\nSELECT * FROM nowhere.nothing;\n",
    );
    let mut child = super::bin()
        .args(["-w", &wh, "-u", "alice", "schedule", jobs.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // wait (bounded) for two finished runs of each job
    let (mut fast, mut failing) = (0, 0);
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while fast < 2 || failing < 2 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = match rx.recv_timeout(left) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                panic!("scheduler stalled; output so far:\n{}", seen.join("\n"));
            }
        };
        if line.contains(" fast finished: success") {
            fast += 1;
        }
        if line.contains(" failing finished: error") {
            failing += 1;
        }
        seen.push(line);
    }
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", seen.join("\n"));
    let rest: Vec<String> = rx.iter().collect();
    assert!(
        rest.iter().any(|l| l.ends_with("scheduler stopped")),
        "{rest:?}"
    );
    let runs = csv(
        &wh,
        "SELECT job, status, count(*) >= 2 FROM meta.job_runs GROUP BY job, status ORDER BY job",
    );
    assert_eq!(runs, "failing,error,true\nfast,success,true");
    // never twice at once: no two runs of a job overlap
    let overlaps = csv(
        &wh,
        "SELECT count(*) FROM meta.job_runs a JOIN meta.job_runs b ON a.job = b.job AND a.run_id < b.run_id \
         AND a.started_at < b.ended_at AND b.started_at < a.ended_at",
    );
    assert_eq!(overlaps, "0");
}

#[test]
fn an_invalid_schedule_is_refused_at_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = dir.path().join("jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    write(&jobs, "ok.sql", "-- schedule: @daily\nSELECT 1;\n");
    write(
        &jobs,
        "bad.sql",
        "-- job: nightly\n-- schedule: 0 25 * * *\nSELECT 1;\n",
    );
    let wh = dir.path().join("wh");
    let out = super::bin()
        .args([
            "-w",
            wh.to_str().unwrap(),
            "schedule",
            jobs.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("bad.sql:2: schedule: '0 25 * * *' is not a schedule")
            && stderr.contains("the hour '25' is not valid"),
        "{stderr}"
    );

    // a time zone that does not exist, named by its line
    write(
        &jobs,
        "bad.sql",
        "-- job: nightly\n-- schedule: 0 2 * * *\n-- timezone: Mars/Olympus\nSELECT 1;\n",
    );
    let out = super::bin()
        .args([
            "-w",
            wh.to_str().unwrap(),
            "schedule",
            jobs.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("bad.sql:3: timezone: unknown time zone 'Mars/Olympus'"),
        "{stderr}"
    );
}
