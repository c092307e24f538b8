//! Masks and row filters on the paths the SQL files cannot check: what `EXPLAIN` and `EXPLAIN
//! ANALYZE` show, Flight SQL (a prepared statement executed after its grant of raw values was
//! revoked), the mask key across reopenings and warehouses, a policy that cannot be applied
//! failing closed, and `apply` refusing a bad policy with nothing written. The fixture is the
//! leak suite's (tests/slt/masks/).

use std::sync::Arc;
use std::time::Duration;

use arrow::array::RecordBatch;
use futures::TryStreamExt;
use lakemeta::model::Principal;
use lakemeta::server::{ServeOptions, bind};
use lakemeta::sql::{Session, SessionOptions};

use super::flight::{LIMITS, client, query, start, users_file_of};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/slt/masks");

const ROWS: &str = "INSERT INTO crm.customers VALUES \
    ('c1', 'ann@example.com', '+1-555-0101', '123-45-6789', 'Main St 12', DATE '1990-05-17', 'eu', 100), \
    ('c2', 'ben@example.com', '+1-555-0102', '123-45-6789', 'Elm Rd 3', DATE '1985-11-02', 'eu', 250), \
    ('c5', 'eve@example.com', '+1-555-0105', '555-55-5555', 'Pine Ct 1', DATE '2001-03-09', 'eu', 5000000)";

/// The fixture applied by `admin` to a new warehouse at `root`, with rows; the admin's session.
async fn customers(root: &std::path::Path) -> Session {
    let admin = super::session_as(root.to_str().unwrap(), "admin").await;
    let specs = lakemeta::contracts::load_path(std::path::Path::new(FIXTURE)).unwrap();
    lakemeta::contracts::apply_specs(admin.catalog(), &specs, &admin.state(), admin.principal())
        .await
        .unwrap();
    admin.sql(ROWS).await.unwrap();
    admin
}

async fn as_user(admin: &Session, who: &str) -> Session {
    Session::with_catalog(
        Arc::clone(admin.catalog()),
        SessionOptions::new(Principal::new(who)),
    )
    .await
    .unwrap()
}

/// Every value of a statement's output, as text, one line per row.
async fn lines(s: &Session, sql: &str) -> String {
    let out = s.sql(sql).await.unwrap().pop().unwrap();
    arrow::util::pretty::pretty_format_batches(&out.batches)
        .unwrap()
        .to_string()
}

/// The first column of every row, as text.
fn strings(batches: &[RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        let column = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).unwrap();
        let column = arrow::array::AsArray::as_string::<i32>(&column);
        out.extend(column.iter().flatten().map(str::to_string));
    }
    out
}

#[tokio::test]
async fn explain_names_the_masks_but_no_literal_key_or_hidden_count() {
    let dir = tempfile::tempdir().unwrap();
    let admin = customers(&dir.path().join("wh")).await;
    let frank = as_user(&admin, "frank").await;
    for sql in [
        "EXPLAIN SELECT email, ssn FROM crm.customers WHERE balance > 5",
        "EXPLAIN ANALYZE SELECT email, ssn FROM crm.customers WHERE balance > 5",
        "EXPLAIN VERBOSE SELECT email, ssn FROM crm.customers WHERE balance > 5",
    ] {
        let plan = lines(&frank, sql).await;
        assert!(
            plan.contains("GovernedScanExec: table=crm.customers, protected [")
                && plan.contains("email: mask email")
                && plan.contains("ssn: mask hash")
                && plan.contains("row filter")
                && plan.contains("policy v1"),
            "{sql}:\n{plan}"
        );
        // the policy's literal, the functions it calls, the raw scan under the gate (and its
        // row count before filtering)
        for hidden in [
            "1000000",
            "principal_attribute",
            "DataSourceExec",
            "FilterExec: region",
        ] {
            assert!(!plan.contains(hidden), "{sql} shows {hidden}:\n{plan}");
        }
    }
    let describe = lines(&frank, "DESCRIBE PRODUCT crm.customers").await;
    assert!(
        describe.contains("masked, 5 columns masked, rows filtered by a row filter, policy v1")
            && describe.contains("string, not null as stored, nullable as you read it, classified email, masked for you (email)"),
        "{describe}"
    );
    // the owner reads through no mask: an open scan, statistics and pushed filters allowed
    let alice = as_user(&admin, "alice").await;
    let plan = lines(&alice, "EXPLAIN SELECT email FROM crm.customers").await;
    assert!(
        plan.contains("GovernedScanExec: table=crm.customers") && !plan.contains("protected"),
        "{plan}"
    );
}

#[tokio::test]
async fn the_hash_mask_is_stable_in_a_warehouse_and_differs_between_warehouses() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("wh");
    let admin = customers(&root).await;
    let sql = "SELECT ssn FROM crm.customers WHERE customer_id = 'c1'";
    let first = super::scalar(&as_user(&admin, "frank").await, sql).await;
    drop(admin);
    // another process opening the same warehouse hashes the same
    let again = super::session_as(root.to_str().unwrap(), "frank").await;
    assert_eq!(super::scalar(&again, sql).await, first);
    let key = std::fs::read(root.join("_meta/mask.key")).unwrap();
    assert_eq!(key.len(), 32);
    // another warehouse has another key
    let other = customers(&dir.path().join("other")).await;
    assert_ne!(
        super::scalar(&as_user(&other, "frank").await, sql).await,
        first
    );
}

#[tokio::test]
async fn a_policy_that_cannot_be_applied_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let admin = customers(&dir.path().join("wh")).await;
    // a SQL mask that plans on text but not on the DATE column it is given
    let policy = dir.path().join("policy.yaml");
    std::fs::write(
        &policy,
        std::fs::read_to_string(format!("{FIXTURE}/policy.yaml"))
            .unwrap()
            .replace("birth_date: year", "birth_date: { sql: \"upper(value)\" }"),
    )
    .unwrap();
    let specs = lakemeta::contracts::load_path(&policy).unwrap();
    lakemeta::contracts::apply_specs(admin.catalog(), &specs, &admin.state(), admin.principal())
        .await
        .unwrap();
    let frank = as_user(&admin, "frank").await;
    let err = frank
        .sql("SELECT customer_id, birth_date FROM crm.customers")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "crm.customers cannot be read: its access policy (version 2) cannot be applied"
        ) && err.contains("column birth_date")
            && err.contains("a platform admin fixes the Policy spec"),
        "{err}"
    );
    assert!(!err.contains("1990"), "{err}");
    // the columns it does not mask still read
    assert_eq!(
        super::scalar(&frank, "SELECT count(email) FROM crm.customers").await,
        "2"
    );
}

#[tokio::test]
async fn apply_refuses_a_bad_policy_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let admin = customers(&dir.path().join("wh")).await;
    let base = std::fs::read_to_string(format!("{FIXTURE}/policy.yaml")).unwrap();
    let cases = [
        (
            base.replace("ssn: hash", "ssn: { sql: \"length(value)\" }"),
            "policy.yaml:8: masks.ssn: the mask `length(value)` returns Int32, not text",
        ),
        (
            base.replace("region = principal", "regionx = principal"),
            "rowFilters[0].predicate: the predicate names column 'regionx', which crm.customers \
             does not have",
        ),
        (
            base.replace("product: crm.customers", "product: crm.nope"),
            "rowFilters[0].product: unknown data product crm.nope",
        ),
        (
            base.replace("  ssn: hash\n", "  iban: hash\n"),
            "masks.iban: unknown classification 'iban'",
        ),
    ];
    for (text, expected) in cases {
        let err = refused_apply(&admin, &dir.path().join("policy.yaml"), &text).await;
        assert!(err.contains(expected), "expected {expected}, got {err}");
        assert_eq!(
            super::scalar(&admin, "SELECT max(version) FROM meta.policy").await,
            "1"
        );
    }

    // a contract's own row filter is checked as the policy's: it parses and names its columns
    let base = std::fs::read_to_string(format!("{FIXTURE}/leads.yaml")).unwrap();
    let cases = [
        (
            base.replace("region = principal", "regionx = principal")
                .replace("version: 1.0.0", "version: 1.1.0"),
            "customProperties: the rowFilter names column 'regionx', which crm.leads does not \
             have (it has lead_id, contact, callback, region)",
        ),
        (
            base.replace("region = principal", "region = = principal")
                .replace("version: 1.0.0", "version: 1.1.0"),
            "customProperties[0].value: the row filter `region = = principal_attribute('region')` \
             is not a SQL expression",
        ),
    ];
    for (text, expected) in cases {
        let err = refused_apply(&admin, &dir.path().join("leads.yaml"), &text).await;
        assert!(err.contains(expected), "expected {expected}, got {err}");
        assert_eq!(
            super::scalar(
                &admin,
                "SELECT row_filter || ' / ' || contract_version FROM meta.products WHERE name = 'leads'"
            )
            .await,
            "region = principal_attribute('region') / 1.0.0"
        );
    }
}

/// The error of applying `text`, written to `file`, as `admin` (loading or applying must fail).
async fn refused_apply(admin: &Session, file: &std::path::Path, text: &str) -> String {
    std::fs::write(file, text).unwrap();
    match lakemeta::contracts::load_path(file) {
        Err(e) => e.to_string(),
        Ok(specs) => lakemeta::contracts::apply_specs(
            admin.catalog(),
            &specs,
            &admin.state(),
            admin.principal(),
        )
        .await
        .unwrap_err()
        .to_string(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn flight_sql_reads_masked_and_a_prepared_statement_loses_raw_values_on_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let admin = customers(&dir.path().join("wh")).await;
    let users = users_file_of(dir.path(), &["alice", "frank"], "pw");
    let options = ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        users: Some(users),
        no_auth: false,
        token_ttl: Duration::from_secs(600),
        tls: None,
        limits: LIMITS,
        allowed_locations: Vec::new(),
    };
    let bound = bind(Arc::clone(admin.catalog()), &options).await.unwrap();
    let (addr, _stop, _running) = start(bound);
    let url = format!("http://{addr}");
    let mut frank = client(&url).await;
    frank.handshake("frank", "pw").await.unwrap();
    let mut alice = client(&url).await;
    alice.handshake("alice", "pw").await.unwrap();

    // GetTables with schemas: each caller is told the schema they read — the masked columns
    // nullable for frank (a mask may give NULL), as declared for alice of the owner team
    let frank_schema = table_schema(&mut frank, "crm", "customers").await;
    let alice_schema = table_schema(&mut alice, "crm", "customers").await;
    assert!(frank_schema.field_with_name("email").unwrap().is_nullable());
    assert!(!alice_schema.field_with_name("email").unwrap().is_nullable());
    let read = query(&mut frank, "SELECT * FROM crm.customers")
        .await
        .unwrap();
    assert_eq!(
        read[0].schema().fields(),
        frank_schema.fields(),
        "GetTables and a query disagree on the schema frank reads"
    );

    let sql = "SELECT email FROM crm.customers ORDER BY customer_id";
    let out = query(&mut frank, sql).await.unwrap();
    assert_eq!(strings(&out), ["a***@example.com", "b***@example.com"]);
    // a past version, through the same gate
    let out = query(
        &mut frank,
        "SELECT email FROM crm.customers VERSION AS OF 1 ORDER BY customer_id",
    )
    .await
    .unwrap();
    assert_eq!(strings(&out), ["a***@example.com", "b***@example.com"]);
    query(
        &mut alice,
        "GRANT SELECT UNMASKED ON crm.customers TO USER frank",
    )
    .await
    .unwrap();
    let mut prepared = frank.prepare(sql.into(), None).await.unwrap();
    let info = prepared.execute().await.unwrap();
    assert_eq!(
        fetch(&mut frank, info).await,
        ["ann@example.com", "ben@example.com"]
    );
    query(
        &mut alice,
        "REVOKE SELECT UNMASKED ON crm.customers FROM USER frank",
    )
    .await
    .unwrap();
    let info = prepared.execute().await.unwrap();
    assert_eq!(
        fetch(&mut frank, info).await,
        ["a***@example.com", "b***@example.com"]
    );
}

/// The schema GetTables (with schemas) gives a client for `schema.table`.
async fn table_schema(
    c: &mut arrow_flight::sql::client::FlightSqlServiceClient<tonic::transport::Channel>,
    schema: &str,
    table: &str,
) -> arrow::datatypes::Schema {
    let info = c
        .get_tables(arrow_flight::sql::CommandGetTables {
            db_schema_filter_pattern: Some(schema.into()),
            table_name_filter_pattern: Some(table.into()),
            include_schema: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let rows: Vec<RecordBatch> = c
        .do_get(info.endpoint[0].ticket.clone().unwrap())
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let batch = arrow::compute::concat_batches(&rows[0].schema(), &rows).unwrap();
    assert_eq!(batch.num_rows(), 1, "GetTables for {schema}.{table}");
    let bytes =
        arrow::array::AsArray::as_binary::<i32>(batch.column_by_name("table_schema").unwrap())
            .value(0)
            .to_vec();
    arrow::ipc::convert::try_schema_from_ipc_buffer(&bytes).unwrap()
}

/// The first column of the rows of an executed statement, as text.
async fn fetch(
    c: &mut arrow_flight::sql::client::FlightSqlServiceClient<tonic::transport::Channel>,
    info: arrow_flight::FlightInfo,
) -> Vec<String> {
    let rows: Vec<RecordBatch> = c
        .do_get(info.endpoint[0].ticket.clone().unwrap())
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    strings(&rows)
}

/// The text of every commit in the Delta log of product `name`.
async fn delta_log_text(s: &Session, name: &str) -> String {
    let location = super::scalar(
        s,
        &format!("SELECT location FROM meta.products WHERE name = '{name}'"),
    )
    .await;
    let log = url::Url::parse(&location)
        .unwrap()
        .to_file_path()
        .unwrap()
        .join("_delta_log");
    let mut text = String::new();
    for entry in std::fs::read_dir(&log).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            text.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
    text
}

/// The Delta log of a managed product, declared by a contract or copied from one with
/// `CREATE TABLE … AS`, keeps statistics of its unclassified columns and none of its PII ones.
#[tokio::test]
async fn the_delta_log_of_a_managed_product_holds_no_pii() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("wh");
    let admin = customers(&root).await;
    admin
        .sql("CREATE TABLE crm.customers_copy AS SELECT * FROM crm.customers")
        .await
        .unwrap();
    for product in ["customers", "customers_copy"] {
        let text = delta_log_text(&admin, product).await;
        // statistics of the unclassified columns are kept (the region, the balances) ...
        assert!(
            text.contains("minValues") && text.contains("5000000"),
            "{product}: {text}"
        );
        // ... of the classified ones none
        for value in [
            "ann@example.com",
            "eve@example.com",
            "+1-555-0101",
            "123-45-6789",
            "Main St",
            "1990-05-17",
        ] {
            assert!(
                !text.contains(value),
                "the log of {product} holds {value}:\n{text}"
            );
        }
    }
}

#[tokio::test]
async fn classify_proposes_classifications_from_names_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("wh");
    let admin = customers(&root).await;
    admin
        .sql(
            "CREATE TABLE analytics.leads AS SELECT * FROM (VALUES \
             ('l1', 'kim@example.net', '4111 1111 1111 1111', 'DE'), \
             ('l2', 'lee@example.net', '5500 0000 0000 0004', 'FR')) AS t(lead_id, contact, card, country)",
        )
        .await
        .unwrap();
    drop(admin);
    let classify = |who: &str, product: &str| {
        super::bin()
            .args([
                "-w",
                root.to_str().unwrap(),
                "--user",
                who,
                "classify",
                product,
            ])
            .output()
            .unwrap()
    };
    let out = classify("admin", "analytics.leads");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("# analytics.leads: 2 rows sampled")
            && text.contains(
                "- name: contact\n  classification: email  # 2 of 2 sampled values look like email\n"
            )
            && text.contains(
                "- name: card\n  classification: credit_card  # 2 of 2 sampled values look like \
                 credit_card\n"
            )
            && !text.contains("lead_id")
            && !text.contains("country"),
        "{text}"
    );
    let out = classify("alice", "crm.customers");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "classification: email  # 3 of 3 sampled values look like email; classified so already"
        ),
        "{text}"
    );
    // an analyst reads the customers masked: classifying them would need the raw values
    let out = classify("frank", "crm.customers");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "classify reads all of crm.customers and its raw values, and frank reads it masked"
        ),
        "{err}"
    );
}

/// A past version is read through today's policy: masks, row filters, denials; a past version
/// with a column the product no longer has (so today's policy cannot classify it) is for those
/// who read raw values only. Past grants and requests are for admins.
#[tokio::test]
async fn past_versions_are_read_under_todays_policy() {
    let dir = tempfile::tempdir().unwrap();
    let admin = customers(&dir.path().join("wh")).await;
    let version = |s: Session| async move {
        let out = s.sql("SHOW HISTORY crm.customers LIMIT 1").await.unwrap();
        arrow::util::display::array_value_to_string(out[0].batches[0].column(0), 0).unwrap()
    };
    let with_three = version(as_user(&admin, "admin").await).await;
    admin
        .sql(
            "INSERT INTO crm.customers VALUES \
             ('c6', 'fay@example.com', '+1-555-0106', '111-11-1111', 'Ash Ln 4', DATE '1999-09-09', 'eu', 1)",
        )
        .await
        .unwrap();
    let frank = as_user(&admin, "frank").await;
    let past = format!("crm.customers VERSION AS OF {with_three}");
    assert_eq!(
        lines(&frank, &format!("SELECT customer_id, email, ssn = '123-45-6789' AS raw FROM {past} ORDER BY 1")).await,
        lines(&frank, "SELECT customer_id, email, ssn = '123-45-6789' AS raw FROM crm.customers WHERE customer_id <> 'c6' ORDER BY 1").await,
    );
    let masked = lines(&frank, &format!("SELECT email FROM {past}")).await;
    assert!(
        masked.contains("a***@example.com") && !masked.contains("ann@"),
        "{masked}"
    );
    // the row filter: frank's region, balances under 1,000,000 (c5 is hidden)
    assert_eq!(
        super::scalar(&frank, &format!("SELECT count(*) FROM {past}")).await,
        "2"
    );
    assert_eq!(
        super::scalar(&admin, &format!("SELECT count(*) FROM {past}")).await,
        "3"
    );
    // bob is in no team: no region, no rows
    let bob = as_user(&admin, "bob").await;
    assert_eq!(
        super::scalar(&bob, &format!("SELECT count(*) FROM {past}")).await,
        "0"
    );

    // a version with a column today's product does not have
    let alice = as_user(&admin, "alice").await;
    alice
        .sql(
            "CREATE TABLE crm.contacts AS SELECT customer_id, region, upper(email) AS contact \
             FROM crm.customers; \
             CREATE OR REPLACE TABLE crm.contacts AS SELECT customer_id, region FROM crm.customers",
        )
        .await
        .unwrap();
    admin
        .sql("GRANT SELECT ON crm.contacts TO USER frank")
        .await
        .unwrap();
    let old = "SELECT count(*) FROM crm.contacts VERSION AS OF 0";
    let err = frank.sql(old).await.unwrap_err();
    assert!(err.is_denial(), "{err}");
    assert!(
        err.to_string().contains(
            "this version of crm.contacts has columns the product no longer has (contact)"
        ),
        "{err}"
    );
    assert_eq!(super::scalar(&alice, old).await, "4");
    assert_eq!(
        super::scalar(&frank, "SELECT count(*) FROM crm.contacts VERSION AS OF 1").await,
        "4"
    );

    // past grants and requests are for admins
    let err = frank
        .sql("SELECT * FROM meta.access_requests VERSION AS OF 0")
        .await
        .unwrap_err();
    assert!(
        err.is_denial() && err.to_string().contains("are for platform admins"),
        "{err}"
    );
    admin
        .sql("SELECT * FROM meta.access_requests VERSION AS OF 0")
        .await
        .unwrap();
}
