//! Quality checks from the command line: exit codes, recorded runs, and Ctrl-C during a run.

use std::process::Output;
use std::time::Duration;

/// Builds the example mesh (with data) in a fresh warehouse.
pub fn demo_warehouse(dir: &std::path::Path) -> String {
    let wh = dir.join("wh");
    let wh = wh.to_str().unwrap().to_string();
    let out = super::bin()
        .args(["-w", &wh, "demo"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wh
}

/// A query's CSV result without the header.
/// Statements run as the example mesh's platform admin.
pub fn csv(wh: &str, sql: &str) -> String {
    let out = super::bin()
        .args(["-w", wh, "-u", "admin", "sql", "--format", "csv", "-c", sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().skip(1).collect::<Vec<_>>().join("\n")
}

/// `lakemeta check` as the platform admin (who may record results for every product).
fn check(wh: &str, args: &[&str]) -> Output {
    super::bin()
        .args(["-w", wh, "-u", "admin", "check", "--format", "csv"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn check_exits_0_1_2_and_records_each_run_in_one_commit() {
    let dir = tempfile::tempdir().unwrap();
    let wh = demo_warehouse(dir.path());

    let ok = check(&wh, &[]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let total: usize = csv(&wh, "SELECT count(*) FROM meta.quality_results")
        .parse()
        .unwrap();
    assert!(total > 50, "every product's checks recorded: {total}");
    assert_eq!(
        csv(
            &wh,
            "SELECT count(DISTINCT run_id) FROM meta.quality_results"
        ),
        "1"
    );

    // a duplicate order with an unknown status
    csv(
        &wh,
        "INSERT INTO orders.orders_fact VALUES ('o-000001', 'u-00001', 5.00, 'lost', now())",
    );
    let failed = check(&wh, &["orders.orders_fact"]);
    assert_eq!(failed.status.code(), Some(1));
    let stdout = String::from_utf8(failed.stdout).unwrap();
    assert!(
        stdout.contains("orders.orders_fact,unique(order_id),unique,order_id,fail,1,= 0,1,scan"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "orders.orders_fact,valid_status,accepted_values,order_status,fail,1,= 0,1,scan"
        ),
        "{stdout}"
    );
    assert_eq!(
        csv(
            &wh,
            "SELECT score < 100, trend FROM meta.product_health WHERE product = 'orders.orders_fact'"
        ),
        "true,declining"
    );

    let unknown = check(&wh, &["orders.nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = String::from_utf8(unknown.stderr).unwrap();
    assert!(
        stderr.contains("unknown data product 'orders.nope'"),
        "{stderr}"
    );

    // RUN CHECKS through `sql -c` says the same with its exit code
    let out = super::bin()
        .args([
            "-w",
            &wh,
            "-u",
            "alice",
            "sql",
            "-c",
            "RUN CHECKS FOR orders.orders_fact",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// Ctrl-C at different moments of `lakemeta check`: a run is recorded whole or not at all.
#[test]
fn ctrl_c_during_check_records_a_whole_run_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let wh = demo_warehouse(dir.path());
    let complete = check(&wh, &[]);
    assert_eq!(complete.status.code(), Some(0));
    let per_run: u64 = csv(&wh, "SELECT count(*) FROM meta.quality_results")
        .parse()
        .unwrap();
    for delay_ms in [0u64, 30, 60, 90, 120, 180, 250] {
        let child = super::bin()
            .args(["-w", &wh, "-u", "admin", "check"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let out = child.wait_with_output().unwrap();
        // finished (0/1), interrupted (2), or killed before the handler was installed
        assert!(
            matches!(out.status.code(), Some(0..=2) | None),
            "{:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let counts = csv(
        &wh,
        "SELECT count(*) FROM meta.quality_results GROUP BY run_id",
    );
    for c in counts.lines() {
        assert_eq!(
            c.parse::<u64>().unwrap(),
            per_run,
            "a partial run was recorded: {counts}"
        );
    }
}
