use lakemeta::storage::{
    LAYOUT_VERSION, SystemTable, SystemTableKind, Warehouse, WarehouseLocation,
};

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
        text.replace(
            &format!("\"layout_version\": {LAYOUT_VERSION}"),
            "\"layout_version\": 99",
        ),
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

/// The table directories of domain `domain`'s products named `name` (`<name>-<id>`).
fn tables_of(root: &std::path::Path, domain: &str, name: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root.join(domain)) else {
        return Vec::new();
    };
    let mut found: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.strip_prefix(name)
                .and_then(|r| r.strip_prefix('-'))
                .is_some_and(|id| id.len() == 12)
        })
        .collect();
    found.sort();
    found
}

/// Two processes create one product at once: each writes its rows into a table of its own, the
/// catalog's commit takes one of them, and the other statement fails naming the product and
/// leaves nothing behind — no rows added to the winner's, no table of its own.
#[tokio::test]
async fn two_concurrent_creations_of_one_product_one_wins_the_other_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let a = super::session(root).await;
    a.sql("CREATE DOMAIN shop OWNER 'x'").await.unwrap();
    let b = super::session(root).await;
    let create = |who: i64| {
        format!(
            "CREATE TABLE shop.big AS SELECT {who} AS who, value AS id \
             FROM generate_series(1, 200000)"
        )
    };
    let (first, second) = (create(1), create(2));
    let (ra, rb) = tokio::join!(a.sql(&first), b.sql(&second));
    let (won, lost) = match (ra, rb) {
        (Ok(_), Err(e)) => (1, e),
        (Err(e), Ok(_)) => (2, e),
        (ra, rb) => panic!("one creation must win: {:?} / {:?}", ra.err(), rb.err()),
    };
    let message = lost.to_string();
    assert!(
        matches!(lost, lakemeta::Error::AlreadyExists { .. }) && message.contains("shop.big"),
        "{message}"
    );
    let c = super::session(root).await;
    assert_eq!(
        super::scalar(
            &c,
            "SELECT count(*) || ' ' || min(who) || ' ' || max(who) FROM shop.big"
        )
        .await,
        format!("200000 {won} {won}")
    );
    assert_eq!(tables_of(dir.path(), "shop", "big").len(), 1);
}

/// A creation whose query fails part-way, after some of its rows were written, leaves no table
/// and no product; creating the product again holds only the new rows.
#[tokio::test]
async fn a_creation_that_fails_part_way_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let s = super::session(dir.path().to_str().unwrap()).await;
    s.sql("CREATE DOMAIN shop OWNER 'x'").await.unwrap();
    let e = s
        .sql(
            "CREATE TABLE shop.big AS SELECT CAST(CASE WHEN value < 150000 THEN '1' ELSE 'x' \
             END AS INT) AS v FROM generate_series(1, 200000)",
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("'x'"), "{e}");
    assert!(tables_of(dir.path(), "shop", "big").is_empty());
    assert_eq!(
        super::scalar(&s, "SELECT count(*) FROM meta.products").await,
        "0"
    );
    s.sql("CREATE TABLE shop.big AS SELECT value AS id FROM generate_series(1, 3)")
        .await
        .unwrap();
    assert_eq!(
        super::scalar(&s, "SELECT count(*) FROM shop.big").await,
        "3"
    );
    assert_eq!(tables_of(dir.path(), "shop", "big").len(), 1);
}

/// `SHOW HISTORY`: a product's commits newest first, each with who made it and the rows it
/// added and removed; `LIMIT` keeps the newest; the system tables have theirs.
#[tokio::test]
async fn show_history_lists_commits_with_who_and_how_many_rows() {
    let dir = tempfile::tempdir().unwrap();
    let s = super::session_as(dir.path().to_str().unwrap(), "alice").await;
    s.sql(
        "CREATE DOMAIN shop OWNER 'x'; \
         CREATE TABLE shop.t AS SELECT value AS id FROM generate_series(1, 5); \
         INSERT INTO shop.t VALUES (6), (7); \
         CREATE OR REPLACE TABLE shop.t AS SELECT 1 AS id",
    )
    .await
    .unwrap();
    let text = |out: Vec<lakemeta::sql::Output>| {
        arrow::util::pretty::pretty_format_batches(&out[0].batches)
            .unwrap()
            .to_string()
    };
    let history = text(s.sql("SHOW HISTORY shop.t").await.unwrap());
    let rows: Vec<Vec<String>> = history
        .lines()
        .filter(|l| l.starts_with("| ") && !l.contains("version"))
        .map(|l| {
            l.split('|')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    // version, committed_at, operation, principal, rows_added, rows_removed
    let summary: Vec<(String, String, String, String)> = rows
        .iter()
        .map(|r| (r[0].clone(), r[3].clone(), r[4].clone(), r[5].clone()))
        .collect();
    let expected = [
        ("2", "alice", "1", "7"),
        ("1", "alice", "2", "0"),
        ("0", "alice", "5", "0"),
    ]
    .map(|(a, b, c, d)| (a.into(), b.into(), c.into(), d.into()));
    assert_eq!(summary, expected, "{history}");
    assert!(rows.iter().all(|r| r[2] == "WRITE"), "{history}");
    let newest = s.sql("SHOW HISTORY shop.t LIMIT 1").await.unwrap();
    let newest = &newest[0].batches[0];
    assert_eq!(newest.num_rows(), 1);
    let version = arrow::util::display::array_value_to_string(newest.column(0), 0).unwrap();
    assert_eq!(version, "2");
    let meta = s.sql("SHOW HISTORY meta.products").await.unwrap();
    assert!(meta[0].batches[0].num_rows() >= 2);
    let err = s
        .sql("SHOW HISTORY meta.nope")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("the system tables are"), "{err}");
    let err = s
        .sql("SHOW HISTORY shop.t LIMIT 0")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("above 0"), "{err}");
}

/// A warehouse of layout 1 (before meta.job_runs and the governance tables) is upgraded when
/// opened: the new tables are created and the marker says the current layout; what was there
/// stays.
#[tokio::test]
async fn a_layout_1_warehouse_is_upgraded_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("wh");
    {
        let s = super::session(root.to_str().unwrap()).await;
        s.sql("CREATE DOMAIN orders OWNER 'checkout-team'")
            .await
            .unwrap();
        s.catalog().audit().flush().await.unwrap();
    }
    let marker = root.join("_meta/lakemeta.json");
    let text = std::fs::read_to_string(&marker).unwrap();
    std::fs::write(
        &marker,
        text.replace(
            &format!("\"layout_version\": {LAYOUT_VERSION}"),
            "\"layout_version\": 1",
        ),
    )
    .unwrap();
    // the tables of layouts 2 and 3 were not there yet
    for table in [
        "job_runs",
        "teams",
        "policy",
        "grants",
        "access_requests",
        "audit_log",
    ] {
        std::fs::remove_dir_all(root.join("_meta").join(table)).unwrap();
    }
    // quality_results as layout 1 wrote it: twelve columns, one old row (by Python deltalake)
    let qr = root.join("_meta/quality_results");
    std::fs::remove_dir_all(&qr).unwrap();
    let script = format!(
        r#"
import pyarrow as pa
from deltalake import write_deltalake
ts = pa.timestamp("us", tz="UTC")
schema = pa.schema([
    pa.field("run_id", pa.string(), False), pa.field("product", pa.string(), False),
    pa.field("check_name", pa.string(), False), pa.field("kind", pa.string(), False),
    pa.field("column_name", pa.string(), True), pa.field("status", pa.string(), False),
    pa.field("observed", pa.string(), True), pa.field("expected", pa.string(), True),
    pa.field("failing_rows", pa.int64(), True), pa.field("product_version", pa.int64(), True),
    pa.field("started_at", ts, False), pa.field("duration_ms", pa.int64(), False),
])
row = dict(run_id="r0", product="orders.old", check_name="c", kind="not_null", column_name=None,
           status="pass", observed="0", expected="= 0", failing_rows=0, product_version=1,
           started_at=0, duration_ms=1)
write_deltalake("{}", pa.Table.from_pylist([row], schema=schema), name="quality_results")
"#,
        qr.display()
    );
    let out = std::process::Command::new(super::support::python_tools().join("python"))
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let s = super::session(root.to_str().unwrap()).await;
    assert_eq!(
        super::scalar(&s, "SELECT count(*) FROM meta.job_runs").await,
        "0"
    );
    // the old row is still there, and the new columns were added (empty for it)
    assert_eq!(
        super::scalar(
            &s,
            "SELECT product || ':' || coalesce(method, 'none') FROM meta.quality_results"
        )
        .await,
        "orders.old:none"
    );
    assert_eq!(
        super::scalar(
            &s,
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'quality_results'"
        )
        .await,
        "16"
    );
    assert_eq!(
        super::scalar(&s, "SELECT name FROM meta.domains").await,
        "orders"
    );
    assert_eq!(
        super::scalar(&s, "SELECT count(*) FROM meta.teams").await,
        "0"
    );
    let upgraded = std::fs::read_to_string(&marker).unwrap();
    assert!(
        upgraded.contains(&format!("\"layout_version\": {LAYOUT_VERSION}")),
        "{upgraded}"
    );
}

const BLIND_BATCHES: usize = 55;
const BLIND_EVENTS: usize = 3;

/// An audit event of writer `writer`, batch `batch`, its `i`th.
fn blind_event(writer: usize, batch: usize, i: usize) -> lakemeta::model::AuditEvent {
    lakemeta::model::AuditEvent {
        at: lakemeta::model::now_micros(),
        statement_id: format!("w{writer}-b{batch}-e{i}"),
        principal: format!("writer-{writer}"),
        client_address: None,
        channel: "local".into(),
        kind: "query".into(),
        statement: Some("SELECT 1".into()),
        products_read: Vec::new(),
        columns_read: Vec::new(),
        products_written: Vec::new(),
        decision: "allowed".into(),
        reason: None,
        grant_ids: Vec::new(),
        policy_version: 0,
        rows: Some(1),
        bytes: None,
        duration_ms: 0,
        error: None,
        protections: Vec::new(),
    }
}

/// Writer `writer`'s batches, appended blind one after the other: the versions they got.
async fn append_blind_batches(table: &SystemTable, writer: usize) -> Vec<u64> {
    let mut versions = Vec::new();
    for batch in 0..BLIND_BATCHES {
        let events: Vec<_> = (0..BLIND_EVENTS)
            .map(|i| blind_event(writer, batch, i))
            .collect();
        versions.push(table.append_blind(&events).await.unwrap().unwrap());
    }
    versions
}

/// Two writers append to the audit log blind (without reading the table between commits) at
/// once, as two processes do: every batch lands once, each writer goes past the versions the
/// other took, and a reader that opens the warehouse afterwards reads every row. Returns the
/// highest version committed.
pub(super) async fn blind_appends_from_two_writers(location: WarehouseLocation) -> u64 {
    let open = || async {
        Warehouse::open(location.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let (a, b) = (open().await, open().await);
    let (va, vb) = futures::join!(
        append_blind_batches(a.table(SystemTableKind::AuditLog), 0),
        append_blind_batches(b.table(SystemTableKind::AuditLog), 1)
    );
    let mut all: Vec<u64> = va.iter().chain(&vb).copied().collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(
        all.len(),
        2 * BLIND_BATCHES,
        "every commit has its own version"
    );
    assert!(va.windows(2).all(|w| w[0] < w[1]) && vb.windows(2).all(|w| w[0] < w[1]));

    let reader = open().await;
    let rows: Vec<lakemeta::model::AuditEvent> = reader
        .table(SystemTableKind::AuditLog)
        .read_rows()
        .await
        .unwrap();
    let mut ids: Vec<&str> = rows.iter().map(|r| r.statement_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        rows.len(),
        2 * BLIND_BATCHES * BLIND_EVENTS,
        "no row lost or doubled"
    );
    assert_eq!(ids.len(), rows.len());
    // a writer that appended blind reads its own rows after a refresh
    let table = a.table(SystemTableKind::AuditLog);
    table.refresh().await.unwrap();
    assert_eq!(table.version().await, *all.last().unwrap());
    *all.last().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn blind_audit_appends_from_two_writers_land_once_and_leave_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let location = WarehouseLocation::parse(dir.path().to_str().unwrap()).unwrap();
    let last = blind_appends_from_two_writers(location).await;
    assert!(last >= 99, "{last} commits");
    // every hundredth commit the writer that made it leaves a checkpoint
    assert!(
        dir.path()
            .join("_meta/audit_log/_delta_log/00000000000000000099.checkpoint.parquet")
            .is_file()
    );
}

/// A process keeps a product's data open between statements; another process drops the product
/// and creates it again at the same location (a new Delta table, its versions counted from 0
/// again): the first reads the new table, not the files of the dropped one.
#[tokio::test]
async fn a_product_dropped_and_created_again_by_another_process_is_read_anew() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let here = super::session(root).await;
    here.sql(
        "CREATE DOMAIN shop OWNER 'x'; CREATE TABLE shop.t AS SELECT 1 AS id; \
         INSERT INTO shop.t VALUES (2); INSERT INTO shop.t VALUES (3)",
    )
    .await
    .unwrap();
    assert_eq!(
        super::scalar(&here, "SELECT sum(id) FROM shop.t").await,
        "6"
    );
    let elsewhere = super::session(root).await;
    elsewhere
        .sql("DROP DATA PRODUCT shop.t; CREATE TABLE shop.t AS SELECT 7 AS id")
        .await
        .unwrap();
    assert_eq!(
        super::scalar(&here, "SELECT sum(id) FROM shop.t").await,
        "7"
    );
}
