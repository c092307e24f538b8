//! Time travel: `VERSION AS OF` and `TIMESTAMP AS OF` on data products and the `meta` tables,
//! and the errors for a version or a time the table does not have.

use std::time::Duration;

use lakemeta::sql::Session;

use super::scalar;

/// The error text of a statement that must fail.
async fn error(s: &Session, sql: &str) -> String {
    s.sql(sql).await.unwrap_err().to_string()
}

/// Now as `TIMESTAMP AS OF` reads it, a few milliseconds clear of the commits either side.
async fn instant() -> String {
    tokio::time::sleep(Duration::from_millis(5)).await;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    tokio::time::sleep(Duration::from_millis(5)).await;
    now
}

#[tokio::test]
async fn past_versions_of_products_and_the_catalog_read_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let s = super::session_as(dir.path().to_str().unwrap(), "alice").await;
    s.sql("CREATE DOMAIN shop OWNER 'x'").await.unwrap();
    let before_the_product = instant().await;
    s.sql("CREATE TABLE shop.t AS SELECT value AS id FROM generate_series(1, 5)")
        .await
        .unwrap();
    let after_version_0 = instant().await;
    s.sql("INSERT INTO shop.t VALUES (6), (7)").await.unwrap();
    let after_version_1 = instant().await;
    s.sql("CREATE OR REPLACE TABLE shop.t AS SELECT 'one' AS name")
        .await
        .unwrap();

    for (sql, expected) in [
        ("SELECT count(*) FROM shop.t VERSION AS OF 0", "5"),
        ("SELECT count(*) FROM shop.t VERSION AS OF 1", "7"),
        ("SELECT count(*) FROM shop.t VERSION AS OF 2", "1"),
        ("SELECT count(*) FROM shop.t", "1"),
        // the table's own name still qualifies its columns, an alias replaces it
        ("SELECT max(t.id) FROM shop.t VERSION AS OF 1", "7"),
        ("SELECT max(p.id) FROM shop.t VERSION AS OF 0 AS p", "5"),
        ("SELECT max(p.id) FROM shop.t AS p VERSION AS OF 1", "7"),
        // a past version beside another, and beside the table as it is
        (
            "SELECT count(*) FROM shop.t VERSION AS OF 0 a JOIN shop.t VERSION AS OF 1 b \
             ON a.id = b.id",
            "5",
        ),
        (
            "SELECT count(*) FROM shop.t VERSION AS OF 1 a CROSS JOIN shop.t b",
            "7",
        ),
        ("SELECT min(name) FROM shop.t", "one"),
    ] {
        assert_eq!(scalar(&s, sql).await, expected, "{sql}");
    }
    let at = |t: &str, table: &str| format!("SELECT count(*) FROM {table} TIMESTAMP AS OF '{t}'");
    assert_eq!(scalar(&s, &at(&after_version_0, "shop.t")).await, "5");
    assert_eq!(scalar(&s, &at(&after_version_1, "shop.t")).await, "7");
    // what the catalog said: no product before it was made, one after
    let products = |t: &str| {
        format!("SELECT count(*) FROM meta.products TIMESTAMP AS OF '{t}' WHERE domain = 'shop'")
    };
    assert_eq!(scalar(&s, &products(&before_the_product)).await, "0");
    assert_eq!(scalar(&s, &products(&after_version_0)).await, "1");
    assert_eq!(
        scalar(&s, "SELECT count(*) FROM meta.domains VERSION AS OF 0").await,
        "0"
    );
    // the statement is kept with its clause (sqlparser prints the alias first)
    s.catalog().audit().flush().await.unwrap();
    let kept = scalar(
        &s,
        "SELECT count(*) FROM meta.audit_log \
         WHERE statement = 'SELECT max(p.id) FROM shop.t AS p VERSION AS OF 0'",
    )
    .await;
    assert_eq!(kept, "1");

    for (sql, says) in [
        (
            "SELECT * FROM shop.t VERSION AS OF 9".to_string(),
            "shop.t has no version 9: its latest is 2; SHOW HISTORY shop.t lists its versions",
        ),
        (
            at("2001-01-01", "shop.t"),
            "TIMESTAMP AS OF '2001-01-01T00:00:00Z' is before its first commit of shop.t",
        ),
        (at("2999-01-01", "shop.t"), "is in the future"),
        (
            at("last tuesday", "shop.t"),
            "TIMESTAMP AS OF 'last tuesday' is not a time",
        ),
        (
            "SELECT * FROM shop.t VERSION AS OF 'x'".into(),
            "VERSION AS OF takes a table version, a whole number",
        ),
        (
            "SELECT name VERSION AS OF 1 FROM shop.t".into(),
            "follow the name of a table a query reads (or its alias)",
        ),
        (
            "INSERT INTO shop.\"t@v1\" VALUES ('x')".into(),
            "unknown data product 'shop.t@v1'; known products: shop.t",
        ),
        (
            "SELECT * FROM meta.columns VERSION AS OF 1".into(),
            "meta.columns keeps no versions",
        ),
        (
            "SELECT * FROM shop.nope VERSION AS OF 1".into(),
            "unknown data product 'shop.nope'; known products: shop.t",
        ),
    ] {
        let err = error(&s, &sql).await;
        assert!(err.contains(says), "{sql}: {err}");
    }
}

/// A product of plain files keeps no versions, and says so.
#[tokio::test]
async fn plain_files_keep_no_versions() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let s = super::session(dir.path().join("wh").to_str().unwrap()).await;
    s.sql(&format!(
        "COPY (SELECT 1 AS id) TO '{}/part.parquet'; \
         CREATE DOMAIN raw OWNER 'x'; \
         CREATE DATA PRODUCT raw.files LOCATION '{}/' FORMAT parquet",
        files.display(),
        files.display()
    ))
    .await
    .unwrap();
    let err = error(&s, "SELECT * FROM raw.files VERSION AS OF 0").await;
    assert!(
        err.contains("raw.files is parquet files, which keep no versions"),
        "{err}"
    );
}
