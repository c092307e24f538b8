//! `OPTIMIZE` and `VACUUM`: compaction keeps every row, vacuum deletes only what no version
//! within the retention needs, a retention below the table's is refused unless forced, and a
//! version vacuumed away says so; who may maintain what; compaction racing writers loses no
//! row. (kill -9 during both: kills.rs.)

use std::path::Path;
use std::sync::Arc;

use lakemeta::model::Principal;
use lakemeta::sql::{Session, SessionOptions};

use super::scalar;

/// The Parquet files under a directory, recursively.
fn parquet_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            if p.is_dir() {
                if p.ends_with("_delta_log") {
                    0
                } else {
                    parquet_files(&p)
                }
            } else {
                usize::from(p.extension().is_some_and(|e| e == "parquet"))
            }
        })
        .sum()
}

/// A column of a one-row answer, as text.
async fn field(s: &Session, sql: &str, column: &str) -> String {
    let out = s.sql(sql).await.unwrap().pop().unwrap();
    let b = &out.batches[0];
    let i = b.schema().index_of(column).unwrap();
    arrow::util::display::array_value_to_string(b.column(i), 0).unwrap()
}

/// A session of alice's on the warehouse at `wh`, with domain `shop` and its table `t` of one
/// row, `id`.
async fn shop_t(wh: &Path, id: i64) -> Session {
    let s = super::session_as(wh.to_str().unwrap(), "alice").await;
    s.sql(&format!(
        "CREATE DOMAIN shop OWNER 'x'; CREATE TABLE shop.t AS SELECT {id} AS id"
    ))
    .await
    .unwrap();
    s
}

#[tokio::test]
async fn optimize_compacts_and_vacuum_deletes_only_what_no_kept_version_needs() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let s = shop_t(&wh, 1).await;
    for i in 2..=10 {
        s.sql(&format!("INSERT INTO shop.t VALUES ({i})"))
            .await
            .unwrap();
    }
    let location = scalar(&s, "SELECT location FROM meta.products WHERE name = 't'").await;
    let data = url::Url::parse(&location).unwrap().to_file_path().unwrap();
    assert!(data.starts_with(wh.join("shop")), "{location}");
    assert_eq!(parquet_files(&data), 10);
    // meta.products holds the table as lakemeta last measured it: at creation, one file
    let measured = "SELECT file_count, size_bytes > 0 AS sized, last_maintained IS NULL AS never, \
                    updated_at FROM meta.products WHERE name = 't'";
    assert_eq!(field(&s, measured, "file_count").await, "1");
    assert_eq!(field(&s, measured, "sized").await, "true");
    assert_eq!(field(&s, measured, "never").await, "true");
    let updated = field(&s, measured, "updated_at").await;

    let optimize = "OPTIMIZE shop.t";
    assert_eq!(field(&s, optimize, "files_removed").await, "10");
    // … and after each maintenance, which is not a change of the product
    assert_eq!(field(&s, measured, "file_count").await, "1");
    assert_eq!(field(&s, measured, "never").await, "false");
    assert_eq!(field(&s, measured, "updated_at").await, updated);
    let describe = s.sql("DESCRIBE PRODUCT shop.t").await.unwrap();
    let describe = arrow::util::pretty::pretty_format_batches(&describe[0].batches)
        .unwrap()
        .to_string();
    assert!(
        describe.lines().any(|l| l.contains("| storage ")
            && l.contains("| 1 file, ")
            && l.contains(" (maintained 20")),
        "{describe}"
    );
    assert_eq!(parquet_files(&data), 11);
    assert_eq!(scalar(&s, "SELECT count(*) FROM shop.t").await, "10");
    assert_eq!(scalar(&s, "SELECT sum(id) FROM shop.t").await, "55");
    let newest = s.sql("SHOW HISTORY shop.t LIMIT 1").await.unwrap();
    let newest = arrow::util::pretty::pretty_format_batches(&newest[0].batches)
        .unwrap()
        .to_string();
    assert!(
        newest.contains("OPTIMIZE") && newest.contains("alice"),
        "{newest}"
    );
    // nothing left to compact
    assert_eq!(field(&s, optimize, "files_removed").await, "0");

    // the default retention (a week) keeps the replaced files
    assert_eq!(field(&s, "VACUUM shop.t", "files_deleted").await, "0");
    assert_eq!(field(&s, "VACUUM shop.t", "retain_hours").await, "168");
    let err = s
        .sql("VACUUM shop.t RETAIN 0 HOURS")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "VACUUM shop.t RETAIN 0 HOURS is shorter than the table's retention of 168 hours"
        ) && err.contains("add FORCE"),
        "{err}"
    );
    assert_eq!(parquet_files(&data), 11);
    let dry = "VACUUM shop.t RETAIN 0 HOURS DRY RUN FORCE";
    assert_eq!(field(&s, dry, "files_deleted").await, "10");
    assert_eq!(field(&s, dry, "dry_run").await, "true");
    assert_eq!(parquet_files(&data), 11);
    assert_eq!(
        field(&s, "VACUUM shop.t RETAIN 0 HOURS FORCE", "files_deleted").await,
        "10"
    );
    assert_eq!(parquet_files(&data), 1);
    assert_eq!(scalar(&s, "SELECT sum(id) FROM shop.t").await, "55");
    // the one file left is the one meta.products measured
    let only = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "parquet"))
        .unwrap();
    assert_eq!(
        scalar(&s, "SELECT size_bytes FROM meta.products WHERE name = 't'").await,
        std::fs::metadata(only).unwrap().len().to_string()
    );
    // the versions before the compaction are gone with their files
    let err = s
        .sql("SELECT * FROM shop.t VERSION AS OF 3")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("version 3 of shop.t can no longer be read: 4 of its 4 data files are gone"),
        "{err}"
    );
    let latest = field(&s, "SHOW HISTORY shop.t LIMIT 1", "version").await;
    assert_eq!(
        scalar(
            &s,
            &format!("SELECT count(*) FROM shop.t VERSION AS OF {latest}")
        )
        .await,
        "10"
    );

    // Z-order, and its unknown column
    s.sql("INSERT INTO shop.t VALUES (11)").await.unwrap();
    assert_eq!(
        field(&s, "OPTIMIZE shop.t ZORDER BY (id)", "files_removed").await,
        "2"
    );
    let err = s
        .sql("OPTIMIZE shop.t ZORDER BY (nope)")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "ZORDER BY names column 'nope', which shop.t does not have; its columns are id"
        ),
        "{err}"
    );

    // the system tables
    let products = scalar(&s, "SELECT count(*) FROM meta.products").await;
    s.sql("OPTIMIZE meta.products; VACUUM meta.products")
        .await
        .unwrap();
    assert_eq!(
        scalar(&s, "SELECT count(*) FROM meta.products").await,
        products
    );
    let err = s.sql("OPTIMIZE meta.nope").await.unwrap_err().to_string();
    assert!(err.contains("the stored system tables are"), "{err}");

    // an external product is not lakemeta's to maintain
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    s.sql(&format!(
        "COPY (SELECT 1 AS id) TO '{}/part.parquet'; \
         CREATE DATA PRODUCT shop.files LOCATION '{}/' FORMAT parquet",
        files.display(),
        files.display()
    ))
    .await
    .unwrap();
    for sql in ["OPTIMIZE shop.files", "VACUUM shop.files"] {
        let err = s.sql(sql).await.unwrap_err().to_string();
        assert!(
            err.contains("shop.files is an external product (parquet at")
                && err.contains("lakemeta does not own its files"),
            "{sql}: {err}"
        );
    }
    for (sql, says) in [
        (
            "VACUUM shop.t RETAIN x HOURS",
            "a number of hours after RETAIN",
        ),
        ("VACUUM shop.t RETAIN 1", "Expected: HOURS"),
        ("OPTIMIZE shop.t ZORDER BY id", "Expected: ("),
    ] {
        let err = s.sql(sql).await.unwrap_err().to_string();
        assert!(err.contains(says), "{sql}: {err}");
    }
}

/// Compaction is for the owner team and the platform admins; a system table's for the admins.
#[tokio::test]
async fn maintenance_is_for_owners_and_admins() {
    let dir = tempfile::tempdir().unwrap();
    let admin = super::session_as(dir.path().to_str().unwrap(), "admin").await;
    let specs = lakemeta::contracts::load_path(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/mesh"
    )))
    .unwrap();
    lakemeta::contracts::apply_specs(admin.catalog(), &specs, &admin.state(), admin.principal())
        .await
        .unwrap();
    let bob = Session::with_catalog(
        Arc::clone(admin.catalog()),
        SessionOptions::new(Principal::new("bob")),
    )
    .await
    .unwrap();
    for (sql, says) in [
        (
            "OPTIMIZE orders.orders_fact",
            "orders.orders_fact is owned by orders-team; bob is not a member",
        ),
        (
            "VACUUM orders.orders_fact",
            "orders.orders_fact is owned by orders-team; bob is not a member",
        ),
        (
            "OPTIMIZE meta.audit_log",
            "OPTIMIZE meta.audit_log is for platform admins; bob is not one",
        ),
    ] {
        let err = bob.sql(sql).await.unwrap_err();
        assert!(err.is_denial(), "{sql}: {err}");
        assert!(err.to_string().contains(says), "{sql}: {err}");
    }
    admin
        .sql("OPTIMIZE orders.orders_fact; VACUUM meta.audit_log")
        .await
        .unwrap();
}

/// Compactions racing INSERTs: every INSERT's row is there once, and a compaction that lost a
/// race says so and wrote nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_racing_inserts_loses_and_doubles_no_row() {
    let dir = tempfile::tempdir().unwrap();
    let writer = shop_t(dir.path(), 0).await;
    let compactor = Session::with_catalog(
        Arc::clone(writer.catalog()),
        SessionOptions::new(Principal::new("alice")),
    )
    .await
    .unwrap();
    const INSERTS: i64 = 30;
    let inserts = tokio::spawn(async move {
        let mut done = 0;
        for i in 1..=INSERTS {
            match writer
                .sql(&format!("INSERT INTO shop.t VALUES ({i})"))
                .await
            {
                Ok(_) => done += i,
                Err(e) => eprintln!("INSERT {i}: {e}"),
            }
        }
        done
    });
    let (mut compacted, mut raced) = (0, 0);
    while !inserts.is_finished() {
        match compactor.sql("OPTIMIZE shop.t").await {
            Ok(_) => compacted += 1,
            Err(e) => {
                let text = e.to_string();
                assert!(
                    text.contains("was changed by another writer while this operation ran"),
                    "{text}"
                );
                raced += 1;
            }
        }
    }
    let inserted = inserts.await.unwrap();
    eprintln!("compactions: {compacted} done, {raced} lost a race");
    assert!(compacted > 0);
    assert_eq!(
        scalar(&compactor, "SELECT sum(id) FROM shop.t").await,
        inserted.to_string()
    );
    assert_eq!(
        scalar(
            &compactor,
            "SELECT count(*) - count(DISTINCT id) FROM shop.t"
        )
        .await,
        "0"
    );
}

/// Compactions racing writes that replace the rows (`CREATE OR REPLACE TABLE … AS`): a
/// compaction of files a replacement removed must not bring their rows back, and a
/// replacement's catalog commit does not fail because a compaction recorded its measurement of
/// the product's table meanwhile (every write here must succeed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_racing_replacements_brings_no_replaced_row_back() {
    let dir = tempfile::tempdir().unwrap();
    let writer = shop_t(dir.path(), 0).await;
    let compactor = Session::with_catalog(
        Arc::clone(writer.catalog()),
        SessionOptions::new(Principal::new("alice")),
    )
    .await
    .unwrap();
    let writes = tokio::spawn(async move {
        for i in 1..=6 {
            writer
                .sql(&format!(
                    "INSERT INTO shop.t VALUES ({i}); INSERT INTO shop.t VALUES ({}); \
                     CREATE OR REPLACE TABLE shop.t AS SELECT {} AS id",
                    i + 100,
                    i + 1000
                ))
                .await
                .unwrap();
        }
    });
    let (mut compacted, mut raced) = (0, 0);
    while !writes.is_finished() {
        match compactor.sql("OPTIMIZE shop.t").await {
            Ok(_) => compacted += 1,
            Err(e) => {
                let text = e.to_string();
                assert!(
                    text.contains("was changed by another writer while this operation ran"),
                    "{text}"
                );
                raced += 1;
            }
        }
    }
    writes.await.unwrap();
    eprintln!("compactions: {compacted} done, {raced} lost a race");
    assert_eq!(
        scalar(
            &compactor,
            "SELECT string_agg(CAST(id AS VARCHAR), ',') FROM shop.t"
        )
        .await,
        "1006"
    );
}

/// Two compactions of the same files at once: one compacts, the other fails saying so (or
/// finds nothing left), and no row is kept twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_compactions_keep_one_copy_of_each_row() {
    let dir = tempfile::tempdir().unwrap();
    let a = shop_t(dir.path(), 0).await;
    let b = Session::with_catalog(
        Arc::clone(a.catalog()),
        SessionOptions::new(Principal::new("alice")),
    )
    .await
    .unwrap();
    let mut rows = 1;
    let mut conflicts = 0;
    for round in 0..6 {
        for i in 0..4 {
            a.sql(&format!(
                "INSERT INTO shop.t VALUES ({})",
                round * 10 + i + 1
            ))
            .await
            .unwrap();
            rows += 1;
        }
        let (x, y) = tokio::join!(a.sql("OPTIMIZE shop.t"), b.sql("OPTIMIZE shop.t"));
        for r in [x, y] {
            if let Err(e) = r {
                assert!(
                    e.to_string()
                        .contains("was changed by another writer while this operation ran"),
                    "{e}"
                );
                conflicts += 1;
            }
        }
        assert_eq!(
            scalar(&a, "SELECT count(*) FROM shop.t").await,
            rows.to_string(),
            "round {round}"
        );
    }
    eprintln!("racing compactions: {conflicts} of 12 failed on the other's claim");
}

/// `lakemeta maintain` compacts and vacuums every managed product and system table, a line per
/// table as it goes; the nightly job runs the same statement; `MAINTAIN DOMAIN` keeps to one
/// domain.
#[tokio::test]
async fn lakemeta_maintain_reports_each_table_as_it_goes() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    {
        let s = super::session(wh.to_str().unwrap()).await;
        s.sql(
            "CREATE DOMAIN shop OWNER 'x'; CREATE DOMAIN crm OWNER 'x'; \
             CREATE TABLE shop.a AS SELECT 1 AS id; INSERT INTO shop.a VALUES (2); \
             INSERT INTO shop.a VALUES (3); CREATE TABLE crm.b AS SELECT 1 AS id; \
             INSERT INTO crm.b VALUES (2)",
        )
        .await
        .unwrap();
        let out = s.sql("MAINTAIN DOMAIN crm").await.unwrap();
        let b = &out[0].batches[0];
        assert_eq!(b.num_rows(), 1);
        assert_eq!(field(&s, "MAINTAIN crm.b", "files_compacted").await, "0");
        let err = s.sql("MAINTAIN DOMAIN nope").await.unwrap_err().to_string();
        assert!(err.contains("unknown domain"), "{err}");
    }
    let out = super::bin()
        .arg("-w")
        .arg(&wh)
        .args(["maintain", "--format", "csv"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("shop.a: 3 files compacted into 1, 0 deleted"),
        "{stderr}"
    );
    {
        let s = super::session(wh.to_str().unwrap()).await;
        assert_eq!(
            scalar(
                &s,
                "SELECT count(*) FROM meta.products WHERE file_count = 1 \
                 AND last_maintained > now() - INTERVAL '1 hour'"
            )
            .await,
            "2"
        );
    }
    assert!(stderr.contains("meta.products: "), "{stderr}");
    assert!(
        stdout.starts_with("table,files_compacted,files_written,files_deleted,seconds,error"),
        "{stdout}"
    );
    // the nightly job
    let job = concat!(env!("CARGO_MANIFEST_DIR"), "/sql/jobs/maintain_nightly.sql");
    let out = super::bin()
        .arg("-w")
        .arg(&wh)
        .args(["run", job])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every directory name under `dir` (recursively), the Delta log left out.
fn directories(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() && !p.ends_with("_delta_log") {
            found.push(p.file_name().unwrap().to_string_lossy().into_owned());
            found.extend(directories(&p));
        }
    }
    found.sort();
    found
}

/// The directory of product `name`'s table.
async fn table_dir(s: &Session, name: &str) -> std::path::PathBuf {
    let location = scalar(
        s,
        &format!("SELECT location FROM meta.products WHERE name = '{name}'"),
    )
    .await;
    url::Url::parse(&location).unwrap().to_file_path().unwrap()
}

/// The partition columns of the one product, as `meta.products` lists them.
async fn partitioned_by(s: &Session) -> String {
    scalar(
        s,
        "SELECT array_to_string(partition_by, ',') FROM meta.products",
    )
    .await
}

/// `CREATE TABLE … PARTITIONED BY (…) AS`: a Delta table partitioned by the named columns,
/// which `meta.products` records and later writes keep; a column the query does not make, or a
/// replacement that would change the partitioning, is refused and changes nothing.
#[tokio::test]
async fn create_table_partitioned_by_lays_out_the_table_by_its_columns() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let s = super::session_as(wh.to_str().unwrap(), "alice").await;
    s.sql(
        "CREATE DOMAIN shop OWNER 'x'; \
         CREATE TABLE shop.sales PARTITIONED BY (Region) AS \
         SELECT * FROM (VALUES (1, 'eu', 2.5), (2, 'us', 4.0), (3, 'eu', 1.0)) t(id, region, amount); \
         INSERT INTO shop.sales VALUES (4, 'apac', 9.0)",
    )
    .await
    .unwrap();
    assert_eq!(partitioned_by(&s).await, "region");
    let table = table_dir(&s, "sales").await;
    assert_eq!(
        directories(&table),
        ["region=apac", "region=eu", "region=us"]
    );
    assert_eq!(
        scalar(&s, "SELECT sum(amount) FROM shop.sales WHERE region = 'eu'").await,
        "3.5"
    );
    // the contract lakemeta writes for it says so, as ODCS does
    let state = s.catalog().state();
    let product = &state.products[&lakemeta::model::ProductName::new("shop", "sales")];
    let contract = lakemeta::contracts::export_contract(product).unwrap();
    let region = &contract[contract.find("name: region").unwrap()..];
    let region = &region[..region.find("- name:").unwrap_or(region.len())];
    assert!(
        region.contains("partitioned: true") && region.contains("partitionKeyPosition: 1"),
        "{contract}"
    );

    let refused = |sql: &'static str, expected: [&'static str; 2]| {
        let s = &s;
        async move {
            let e = s.sql(sql).await.unwrap_err().to_string();
            assert!(expected.iter().all(|x| e.contains(x)), "{sql}: {e}");
        }
    };
    refused(
        "CREATE TABLE shop.other PARTITIONED BY (day) AS SELECT 1 AS id, 'x' AS name",
        ["'day'", "id, name"],
    )
    .await;
    refused(
        "CREATE OR REPLACE TABLE shop.sales PARTITIONED BY (id) AS SELECT 1 AS id, 'eu' AS region",
        ["partitioned by region", "DROP DATA PRODUCT"],
    )
    .await;
    assert_eq!(scalar(&s, "SELECT count(*) FROM meta.products").await, "1");
    assert_eq!(scalar(&s, "SELECT count(*) FROM shop.sales").await, "4");
    // a replacement keeps the partitioning it does not name
    s.sql("CREATE OR REPLACE TABLE shop.sales AS SELECT 5 AS id, 'eu' AS region, 1.0 AS amount")
        .await
        .unwrap();
    assert_eq!(partitioned_by(&s).await, "region");
}

const POLICY_DOMAIN: &str = "apiVersion: lakemeta/v1
kind: Domain
name: shop
owner: shop-team
storage:
  retentionDays: 2
  targetFileSize: 64MiB
";

/// A contract of `name` in domain shop, partitioned by `region`, with `extra` custom properties.
fn policy_contract(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: v3.1.0
kind: DataContract
id: shop-{name}
version: 1.0.0
status: active
domain: shop
dataProduct: {name}
team:
  name: shop-team
schema:
  - name: {name}
    logicalType: object
    properties:
      - name: id
        physicalType: bigint
        required: true
      - name: region
        physicalType: string
        partitioned: true
        partitionKeyPosition: 1
customProperties:
  - property: accessPatterns
    value: [batch]
{extra}"
    )
}

/// A storage policy: the domain spec's `storage` block for its products, a contract's
/// `retentionDays` and `targetFileSize` for its own, `partitioned` properties for the table's
/// layout. The tables are created so; a changed policy is set on the table by the next
/// maintenance, and VACUUM keeps files as long as the policy says.
#[tokio::test]
async fn storage_policies_of_domains_and_contracts_lay_out_and_keep_tables() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    std::fs::write(specs.join("shop.yaml"), POLICY_DOMAIN).unwrap();
    std::fs::write(specs.join("plain.yaml"), policy_contract("plain", "")).unwrap();
    std::fs::write(
        specs.join("kept.yaml"),
        policy_contract(
            "kept",
            "  - property: retentionDays\n    value: 10\n  - property: targetFileSize\n    value: 2MiB\n",
        ),
    )
    .unwrap();
    let s = super::session_as(wh.to_str().unwrap(), "admin").await;
    let apply = |s: &Session| {
        let specs = lakemeta::contracts::load_path(&specs).unwrap();
        let (catalog, state, principal) =
            (Arc::clone(s.catalog()), s.state(), s.principal().clone());
        async move {
            lakemeta::contracts::apply_specs(&catalog, &specs, &state, &principal)
                .await
                .unwrap()
        }
    };
    apply(&s).await;
    assert_eq!(
        scalar(
            &s,
            "SELECT retention_days || ' ' || target_file_size FROM meta.domains"
        )
        .await,
        "2 67108864"
    );
    assert_eq!(
        scalar(
            &s,
            "SELECT array_to_string(partition_by, ',') || ' ' || retention_days || ' ' || \
             target_file_size FROM meta.products WHERE name = 'kept'"
        )
        .await,
        "region 10 2097152"
    );
    // the tables were created with the policy: their own, else their domain's
    for (name, retention, size) in [
        ("plain", "interval 2 days", "67108864"),
        ("kept", "interval 10 days", "2097152"),
    ] {
        let log = std::fs::read_to_string(
            table_dir(&s, name)
                .await
                .join("_delta_log/00000000000000000000.json"),
        )
        .unwrap();
        assert!(
            log.contains(&format!(
                "\"delta.deletedFileRetentionDuration\":\"{retention}\""
            )) && log.contains(&format!("\"delta.targetFileSize\":\"{size}\""))
                && log.contains("\"partitionColumns\":[\"region\"]"),
            "{name}: {log}"
        );
    }
    assert_eq!(field(&s, "VACUUM shop.plain", "retain_hours").await, "48");
    assert_eq!(field(&s, "VACUUM shop.kept", "retain_hours").await, "240");
    // the domain keeps files longer now: the next maintenance sets it on the table
    std::fs::write(
        specs.join("shop.yaml"),
        POLICY_DOMAIN.replace("retentionDays: 2", "retentionDays: 5"),
    )
    .unwrap();
    apply(&s).await;
    assert_eq!(field(&s, "VACUUM shop.plain", "retain_hours").await, "120");
    assert_eq!(field(&s, "VACUUM shop.kept", "retain_hours").await, "240");
    let history = s
        .sql("SHOW HISTORY shop.plain")
        .await
        .unwrap()
        .pop()
        .unwrap();
    let history = arrow::util::pretty::pretty_format_batches(&history.batches)
        .unwrap()
        .to_string();
    assert!(history.contains("SET TBLPROPERTIES"), "{history}");

    // a policy a table cannot keep is refused at its place, and nothing is applied
    std::fs::write(
        specs.join("shop.yaml"),
        POLICY_DOMAIN.replace("targetFileSize: 64MiB", "targetFileSize: 10KiB"),
    )
    .unwrap();
    let e = lakemeta::contracts::load_path(&specs)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("storage.targetFileSize") && e.contains("at least 1MiB"),
        "{e}"
    );
}

/// Copies the files under `from` to `to`, each last modified `age` ago.
fn copy_aged(from: &Path, to: &Path, age: std::time::Duration) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_aged(&p, &target, age);
        } else {
            std::fs::copy(&p, &target).unwrap();
            std::fs::File::options()
                .write(true)
                .open(&target)
                .unwrap()
                .set_modified(std::time::SystemTime::now() - age)
                .unwrap();
        }
    }
}

/// `MAINTAIN` of everything deletes the tables that creations cut off before the catalog took
/// them left in a domain's directory, once untouched for longer than the retention; a product's
/// table, a recent one (a creation may still be writing it) and what lakemeta did not name are
/// kept.
#[tokio::test]
async fn maintain_deletes_tables_of_no_product_once_older_than_the_retention() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let s = shop_t(&wh, 1).await;
    let table = table_dir(&s, "t").await;
    let day = std::time::Duration::from_secs(86_400);
    let shop = wh.join("shop");
    copy_aged(&table, &shop.join("ghost-0123456789ab"), day * 8);
    copy_aged(&table, &shop.join("fresh-0123456789ab"), day);
    copy_aged(&table, &shop.join("notes"), day * 30);
    let out = s.sql("MAINTAIN").await.unwrap().pop().unwrap();
    let shown = arrow::util::pretty::pretty_format_batches(&out.batches)
        .unwrap()
        .to_string();
    assert!(
        shown.contains("ghost-0123456789ab/ (the table of no product)"),
        "{shown}"
    );
    assert!(!shop.join("ghost-0123456789ab").exists());
    for kept in ["fresh-0123456789ab", "notes"] {
        assert!(shop.join(kept).exists(), "{kept} was deleted");
    }
    assert!(table.exists());
    assert_eq!(scalar(&s, "SELECT count(*) FROM shop.t").await, "1");
}
