use lakemeta::storage::{SystemTableKind, Warehouse, WarehouseLocation};

#[tokio::test]
async fn empty_location_is_initialised_and_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let loc = dir.path().join("wh");
    let wh = Warehouse::open(WarehouseLocation::parse(loc.to_str().unwrap()).unwrap())
        .await
        .unwrap();
    for kind in SystemTableKind::ALL {
        assert!(
            loc.join("_meta")
                .join(kind.name())
                .join("_delta_log")
                .is_dir()
        );
    }
    assert!(loc.join("_meta/lakemeta.json").is_file());
    drop(wh);
    let s = super::session(loc.to_str().unwrap()).await;
    s.sql("CREATE DOMAIN orders OWNER 'checkout-team'")
        .await
        .unwrap();
    let again = super::session(loc.to_str().unwrap()).await;
    assert_eq!(
        super::scalar(&again, "SELECT count(*) FROM meta.domains").await,
        "1"
    );
}

#[tokio::test]
async fn a_location_holding_something_else_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
    let err = Warehouse::open(WarehouseLocation::parse(dir.path().to_str().unwrap()).unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("holds 'notes.txt' and is not a lakemeta warehouse"),
        "{err}"
    );
    assert!(!dir.path().join("_meta").exists(), "nothing may be written");
}

#[tokio::test]
async fn a_newer_layout_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let loc = dir.path().to_str().unwrap();
    Warehouse::open(WarehouseLocation::parse(loc).unwrap())
        .await
        .unwrap();
    let marker = dir.path().join("_meta/lakemeta.json");
    let text = std::fs::read_to_string(&marker).unwrap();
    std::fs::write(
        &marker,
        text.replace("\"layout_version\": 2", "\"layout_version\": 99"),
    )
    .unwrap();
    let err = Warehouse::open(WarehouseLocation::parse(loc).unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("layout version 99"), "{err}");
    assert!(err.contains("upgrade lakemeta"), "{err}");
}

#[tokio::test]
async fn memory_warehouse_works() {
    let s = super::session("memory://").await;
    s.sql("CREATE DOMAIN users OWNER 'growth-team'; CREATE TABLE users.t AS SELECT 1 AS id")
        .await
        .unwrap();
    assert_eq!(super::scalar(&s, "SELECT count(*) FROM users.t").await, "1");
}

#[tokio::test]
async fn bad_locations_get_clear_errors() {
    let err = WarehouseLocation::parse("ftp://host/x")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unsupported scheme 'ftp://'"), "{err}");
    let err = WarehouseLocation::parse("s3://").unwrap_err().to_string();
    assert!(err.contains("needs a bucket"), "{err}");
}

#[tokio::test]
async fn another_process_write_is_visible_to_the_next_query() {
    let dir = tempfile::tempdir().unwrap();
    let loc = dir.path().to_str().unwrap();
    let a = super::session(loc).await;
    let b = super::session(loc).await;
    assert_eq!(
        super::scalar(&b, "SELECT count(*) FROM meta.domains").await,
        "0"
    );
    a.sql("CREATE DOMAIN orders OWNER 'x'").await.unwrap();
    assert_eq!(
        super::scalar(&b, "SELECT count(*) FROM meta.domains").await,
        "1"
    );
}

/// A warehouse of layout 1 (before meta.job_runs) is upgraded when opened: the new table is
/// created and the marker says layout 2; what was there stays.
#[tokio::test]
async fn a_layout_1_warehouse_is_upgraded_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("wh");
    {
        let s = super::session(root.to_str().unwrap()).await;
        s.sql("CREATE DOMAIN orders OWNER 'checkout-team'")
            .await
            .unwrap();
    }
    let marker = root.join("_meta/lakemeta.json");
    let text = std::fs::read_to_string(&marker).unwrap();
    std::fs::write(
        &marker,
        text.replace("\"layout_version\": 2", "\"layout_version\": 1"),
    )
    .unwrap();
    std::fs::remove_dir_all(root.join("_meta/job_runs")).unwrap();

    let s = super::session(root.to_str().unwrap()).await;
    assert_eq!(
        super::scalar(&s, "SELECT count(*) FROM meta.job_runs").await,
        "0"
    );
    assert_eq!(
        super::scalar(&s, "SELECT name FROM meta.domains").await,
        "orders"
    );
    let upgraded = std::fs::read_to_string(&marker).unwrap();
    assert!(upgraded.contains("\"layout_version\": 2"), "{upgraded}");
}
