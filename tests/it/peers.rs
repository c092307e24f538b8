use std::process::Command;

use lakemeta::cli::demo::build_example_mesh;

/// The system tables are ordinary Delta tables: Python deltalake reads them, DuckDB queries
/// their files, and the counts agree with lakemeta's.
#[tokio::test(flavor = "multi_thread")]
async fn python_deltalake_and_duckdb_read_the_system_tables() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("wh");
    let s = super::session_as(root.to_str().unwrap(), "admin").await;
    build_example_mesh(&s).await.unwrap();
    // one more domain, made by SQL rather than by apply
    s.sql("CREATE DOMAIN extra OWNER 'growth-team'")
        .await
        .unwrap();

    let python = super::support::python_tools().join("python");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/read_system_tables.py"
    );
    let out = Command::new(python)
        .arg(script)
        .arg(&root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (table, expected) in [
        ("domains", 4),
        ("products", 9),
        ("contracts", 9),
        ("lineage", 8),
        ("quality_results", 0),
    ] {
        assert_eq!(v[table]["deltalake_rows"], expected, "{table}: {v}");
        assert_eq!(v[table]["duckdb_rows"], expected, "{table}: {v}");
        let ours = super::scalar(&s, &format!("SELECT count(*) FROM meta.{table}")).await;
        assert_eq!(ours, expected.to_string(), "{table}");
    }
    assert_eq!(
        v["orders_fact_columns"],
        serde_json::json!([
            "order_id",
            "user_id",
            "order_total",
            "order_status",
            "created_at"
        ])
    );
}
