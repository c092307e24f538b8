use std::io::Write;
use std::process::Stdio;

#[test]
fn sql_c_runs_and_errors_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let out = super::bin()
        .args(["-w", wh.to_str().unwrap(), "sql", "--format", "csv", "-c"])
        .arg(
            "CREATE DOMAIN orders OWNER 'checkout-team'; SELECT name, owner_team FROM meta.domains",
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("name,owner_team\norders,checkout-team"),
        "{stdout}"
    );

    let out = super::bin()
        .args([
            "-w",
            wh.to_str().unwrap(),
            "sql",
            "-c",
            "SELECT * FROM orders.nope",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one-line error: {stderr}");
}

/// Runs the binary with `input` on a pipe as standard input.
fn run_with_stdin(args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = super::bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn piped_statements_run_until_end_of_input() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let out = run_with_stdin(
        &["-w", wh.to_str().unwrap(), "--user", "alice", "sql", "--format", "ndjson"],
        b"CREATE DOMAIN users\n  OWNER 'growth-team';\n\\format csv\nSELECT name, updated_by FROM meta.domains;\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("name,updated_by\nusers,alice"), "{stdout}");
}

#[test]
fn demo_builds_the_mesh_and_reads_statements_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let out = run_with_stdin(
        &["-w", wh.to_str().unwrap(), "demo", "--format", "csv"],
        b"SELECT count(*) AS n FROM orders.orders_fact;\nSELECT count(*) AS d FROM meta.domains;\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("n\n2000\n"), "{stdout}");
    assert!(stdout.contains("d\n3\n"), "{stdout}");
}

#[test]
fn lineage_graph_draws_the_example_mesh() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let wh = wh.to_str().unwrap();
    let run = |args: &[&str]| {
        let out = super::bin()
            .args(["-w", wh, "-u", "admin"])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let mesh = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mesh");
    let lineage = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mesh/lineage.sql");
    assert_eq!(run(&["apply", mesh]).0, Some(0));
    let (code, _, err) = run(&["sql", "-f", lineage]);
    assert_eq!(code, Some(0), "{err}");

    let (code, out, err) = run(&["lineage", "graph", "orders.orders_fact"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("flowchart LR\n"), "{out}");
    // upstream user_profiles feeds the centre, which feeds payments and segments
    for (from, to) in [
        ("users.user_profiles", "orders.orders_fact"),
        ("orders.orders_fact", "orders.payments_fact"),
        ("orders.orders_fact", "users.user_segments"),
    ] {
        let id = |name: &str| {
            out.lines()
                .find(|l| l.contains(&format!("[\"{name}<br/>")))
                .and_then(|l| l.split('[').next())
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|| panic!("{name} missing: {out}"))
        };
        assert!(
            out.contains(&format!("{} --> {}", id(from), id(to))),
            "{out}"
        );
    }
    assert!(
        out.contains("not checked"),
        "nothing was checked yet: {out}"
    );

    let (code, out, _) = run(&[
        "lineage",
        "graph",
        "orders.orders_fact",
        "--format",
        "dot",
        "--depth",
        "1",
    ]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("\"users.user_profiles\" -> \"orders.orders_fact\";"),
        "{out}"
    );

    let svg = dir.path().join("g.svg");
    let (code, _, err) = run(&[
        "lineage",
        "graph",
        "orders.orders_fact",
        "--format",
        "svg",
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<svg") && text.contains("orders.payments_fact"),
        "{text}"
    );

    let (code, _, err) = run(&["lineage", "graph", "orders.nope"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown data product 'orders.nope'"), "{err}");
}
