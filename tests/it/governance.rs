//! Governance on the paths the SQL files cannot take: Flight SQL calls as several users (reads
//! refused with `permission_denied`, the server's side doors closed, prepared statements checked
//! again when they run, bulk ingest, tickets of another user), a revocation made by another
//! process holding for a server started before it, the plan check, `apply` checked against its
//! principal, and the audit log refusing statements while it cannot be written.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{AsArray, RecordBatch};
use arrow_flight::sql::client::FlightSqlServiceClient;
use arrow_flight::sql::{CommandGetTables, CommandStatementIngest, TableDefinitionOptions};
use futures::TryStreamExt;
use lakemeta::catalog::Catalog;
use lakemeta::cli::demo::build_example_mesh;
use lakemeta::model::Principal;
use lakemeta::server::{ServeOptions, bind};
use lakemeta::sql::{Session, SessionOptions};
use lakemeta::storage::{Warehouse, WarehouseLocation};
use tonic::Code;
use tonic::transport::Channel;

use super::flight::{LIMITS, client, query, spawn_serve, start, text, users_file_of};

const PASSWORD: &str = "correct horse";

/// The example mesh (teams, policy, products with data) in a new warehouse at `path`, built by
/// its admin; the catalog.
async fn example_mesh(path: &std::path::Path) -> Arc<Catalog> {
    let location = WarehouseLocation::parse(path.to_str().unwrap()).unwrap();
    let wh = Arc::new(Warehouse::open(location).await.unwrap());
    let catalog = Arc::new(Catalog::open(wh).await.unwrap());
    let admin = Session::with_catalog(
        Arc::clone(&catalog),
        SessionOptions::new(Principal::new("admin")),
    )
    .await
    .unwrap();
    build_example_mesh(&admin).await.unwrap();
    catalog
}

/// A client logged in as `user`.
async fn login(url: &str, user: &str) -> FlightSqlServiceClient<Channel> {
    let mut c = client(url).await;
    c.handshake(user, PASSWORD).await.unwrap();
    c
}

/// The first column of the first row, as text.
fn first(batches: &[RecordBatch]) -> String {
    let column =
        arrow::compute::cast(batches[0].column(0), &arrow::datatypes::DataType::Utf8).unwrap();
    column.as_string::<i32>().value(0).to_string()
}

/// The first column of every row, as text.
fn strings(batches: &[RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        let column = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).unwrap();
        out.extend(
            column
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(str::to_string),
        );
    }
    out
}

fn denied(err: &str) -> bool {
    err.contains(Code::PermissionDenied.description()) && err.contains("permission denied")
}

/// The sessions of one catalog (every call of a server) share the data products they open: a
/// product the admin's statement opened is not opened again for bob's, and sharing it gives bob
/// nothing his grants do not: his read of a PII column is refused, and once his request is
/// approved (not unmasked) he reads the admin's provider through his own masks.
#[tokio::test]
async fn sessions_share_opened_products_and_each_passes_its_own_gate() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = example_mesh(dir.path()).await;
    let profiles = lakemeta::model::ProductName::new("users", "user_profiles");
    let opened = |c: &Catalog| c.tables().providers(std::slice::from_ref(&profiles));
    let as_user = |name: &str| {
        Session::with_catalog(
            Arc::clone(&catalog),
            SessionOptions::new(Principal::new(name)),
        )
    };
    let admin = as_user("admin").await.unwrap();
    let raw = super::scalar(&admin, "SELECT email FROM users.user_profiles LIMIT 1").await;
    assert!(raw.contains('@') && !raw.contains("***"), "{raw}");
    let provider = Arc::clone(&opened(&catalog)[&profiles]);

    let bob = as_user("bob").await.unwrap();
    let err = bob
        .sql("SELECT email FROM users.user_profiles")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("permission denied") && err.contains("bob"),
        "{err}"
    );
    assert!(
        Arc::ptr_eq(&provider, &opened(&catalog)[&profiles]),
        "bob's statement opened the product again"
    );
    let request = super::scalar(
        &bob,
        "REQUEST ACCESS TO users.user_profiles BECAUSE 'the report'",
    )
    .await;
    let carol = as_user("carol").await.unwrap();
    carol
        .sql(&format!("APPROVE REQUEST {request}"))
        .await
        .unwrap();
    // granted, not unmasked: the shared provider, read through bob's masks
    assert_eq!(
        super::scalar(&bob, "SELECT count(*) FROM users.user_profiles").await,
        "500"
    );
    let masked = super::scalar(&bob, "SELECT email FROM users.user_profiles LIMIT 1").await;
    assert!(masked.contains("***"), "bob read a raw email: {masked}");
    assert!(Arc::ptr_eq(&provider, &opened(&catalog)[&profiles]));
}

#[tokio::test(flavor = "multi_thread")]
async fn flight_sql_callers_pass_the_same_gate_on_every_call() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let catalog = example_mesh(&wh).await;
    let users = users_file_of(dir.path(), &["admin", "alice", "bob", "carol"], PASSWORD);
    let options = ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        users: Some(users),
        no_auth: false,
        token_ttl: Duration::from_secs(600),
        tls: None,
        limits: LIMITS,
        allowed_locations: Vec::new(),
    };
    let bound = bind(Arc::clone(&catalog), &options).await.unwrap();
    let (addr, _stop, _running) = start(bound);
    let url = format!("http://{addr}");
    let mut bob = login(&url, "bob").await;
    let mut carol = login(&url, "carol").await;
    let mut admin = login(&url, "admin").await;

    // an open product reads; a pii one is refused with permission_denied and how to ask
    let out = query(&mut bob, "SELECT count(*) FROM orders.orders_fact")
        .await
        .unwrap();
    assert_eq!(first(&out), "2000");
    let err = query(&mut bob, "SELECT email FROM users.user_profiles")
        .await
        .unwrap_err();
    assert!(denied(&err), "{err}");
    assert!(
        err.contains("ask with REQUEST ACCESS TO users.user_profiles BECAUSE"),
        "{err}"
    );
    // discovery stays open: bob sees the product and its columns
    let tables = bob
        .get_tables(CommandGetTables {
            db_schema_filter_pattern: Some("users".into()),
            include_schema: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let ticket = tables.endpoint[0].ticket.clone().unwrap();
    let listed: Vec<RecordBatch> = bob
        .do_get(ticket)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(text(&listed).contains("user_profiles"), "{}", text(&listed));

    // bob asks, carol (growth-team) approves, bob reads
    let out = query(
        &mut bob,
        "REQUEST ACCESS TO users.user_profiles BECAUSE 'churn model' FOR 30 DAYS",
    )
    .await
    .unwrap();
    let request = first(&out);
    assert!(request.starts_with("req_"), "{}", text(&out));
    query(&mut carol, &format!("APPROVE REQUEST {request}"))
        .await
        .unwrap();
    let out = query(&mut bob, "SELECT count(*) FROM users.user_profiles")
        .await
        .unwrap();
    assert_eq!(first(&out), "500");

    // a prepared statement is checked again each time it runs: revoked in between, refused
    let mut prepared = bob
        .prepare("SELECT count(*) FROM users.user_profiles".into(), None)
        .await
        .unwrap();
    let info = prepared.execute().await.unwrap();
    let ticket = info.endpoint[0].ticket.clone().unwrap();
    let rows: Vec<RecordBatch> = bob
        .do_get(ticket)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(first(&rows), "500");
    // ... and a result planned before a revocation is not sent after it
    let planned = bob
        .execute("SELECT count(*) FROM users.user_profiles".into(), None)
        .await
        .unwrap();
    let waiting = planned.endpoint[0].ticket.clone().unwrap();
    query(
        &mut carol,
        "REVOKE SELECT ON users.user_profiles FROM USER bob",
    )
    .await
    .unwrap();
    let err = prepared.execute().await.unwrap_err().to_string();
    assert!(denied(&err), "{err}");
    let err = match bob.do_get(waiting).await {
        Ok(stream) => stream
            .try_collect::<Vec<_>>()
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default(),
        Err(e) => e.to_string(),
    };
    assert!(denied(&err), "{err}");

    // another user cannot redeem bob's ticket
    let info = bob
        .execute("SELECT count(*) FROM orders.orders_fact".into(), None)
        .await
        .unwrap();
    let ticket = info.endpoint[0].ticket.clone().unwrap();
    let err = carol
        .do_get(ticket.clone())
        .await
        .err()
        .map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains(Code::NotFound.description())),
        "{err:?}"
    );
    let rows: Vec<RecordBatch> = bob
        .do_get(ticket)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(first(&rows), "2000");

    // writes are the owners': bob may not append to orders, by SQL or by bulk ingest
    let err = query(
        &mut bob,
        "INSERT INTO orders.orders_fact VALUES ('o-9', 'u-00001', 1.0, 'pending', now())",
    )
    .await
    .unwrap_err();
    assert!(denied(&err), "{err}");
    assert!(
        err.contains("orders.orders_fact is owned by orders-team"),
        "{err}"
    );
    let batch = RecordBatch::try_from_iter([(
        "x",
        Arc::new(arrow::array::Int64Array::from(vec![1])) as arrow::array::ArrayRef,
    )])
    .unwrap();
    let ingest = CommandStatementIngest {
        table_definition_options: Some(TableDefinitionOptions {
            if_not_exist: arrow_flight::sql::TableNotExistOption::Create.into(),
            if_exists: arrow_flight::sql::TableExistsOption::Append.into(),
        }),
        table: "bobs_table".into(),
        schema: Some("orders".into()),
        ..Default::default()
    };
    let err = bob
        .execute_ingest(ingest, futures::stream::iter([Ok(batch)]))
        .await
        .unwrap_err()
        .to_string();
    assert!(denied(&err), "{err}");

    // the server's side doors are closed to every client, the admin's too
    let outside = dir.path().join("stolen.parquet");
    for (sql, rule) in [
        (
            format!("COPY (SELECT 1 AS x) TO '{}'", outside.display()),
            "COPY … TO writes files on the server's machine",
        ),
        (
            "SET datafusion.execution.batch_size = 1".to_string(),
            "SET and RESET change the server's settings",
        ),
        (
            "RESET datafusion.execution.batch_size".to_string(),
            "SET and RESET change the server's settings",
        ),
        (
            format!(
                "CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{}'",
                dir.path().display()
            ),
            "CREATE EXTERNAL TABLE would read files outside the catalog",
        ),
        (
            "CREATE DATA PRODUCT orders.secrets LOCATION '/etc/hostname' FORMAT csv".to_string(),
            "--allow-location PREFIX (LAKEMETA_ALLOW_LOCATION)",
        ),
        (
            "CREATE VIEW v AS SELECT 1".to_string(),
            "is not served over Flight SQL",
        ),
    ] {
        let err = query(&mut admin, &sql).await.unwrap_err();
        assert!(denied(&err), "{sql}: {err}");
        assert!(err.contains(rule), "{sql}: {err}");
    }
    assert!(!outside.exists(), "COPY wrote a file on the server");
    let err = admin
        .execute_update(format!("COPY (SELECT 1) TO '{}'", outside.display()), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(denied(&err), "{err}");
    assert!(!outside.exists(), "COPY wrote a file on the server");

    // a refused handshake is audited too
    let mut guesser = client(&url).await;
    assert!(guesser.handshake("bob", "wrong").await.is_err());

    // the audit log holds every call: who, from where, what, and the decision
    let out = query(
        &mut admin,
        "SELECT DISTINCT kind || ':' || decision FROM meta.audit_log WHERE channel = 'flight' \
         AND client_address LIKE '127.0.0.1:%'",
    )
    .await
    .unwrap();
    let seen = strings(&out);
    for expected in [
        "Handshake:allowed",
        "Handshake:denied",
        "GetTables:allowed",
        "approve_request:allowed",
        "ingest:denied",
        "prepare:allowed",
        "query:allowed",
        "query:denied",
        "copy:denied",
        "set:denied",
        "reset:denied",
        "create_data_product:denied",
    ] {
        assert!(
            seen.iter().any(|s| s == expected),
            "{expected} missing: {seen:?}"
        );
    }
    // bob sees only his own rows
    let out = query(&mut bob, "SELECT DISTINCT principal FROM meta.audit_log")
        .await
        .unwrap();
    assert_eq!(text(&out).matches("| bob").count(), 1, "{}", text(&out));
    assert!(!text(&out).contains("carol"), "{}", text(&out));
}

/// A server started before a revocation, made by another process, refuses the very next
/// statement that would need the revoked grant.
#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_by_another_process_holds_for_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    drop(example_mesh(&wh).await);
    let users = users_file_of(dir.path(), &["bob"], PASSWORD);
    let (mut server, addr) = spawn_serve(&wh, &users, &[]);
    let url = format!("http://{addr}");
    let mut bob = login(&url, "bob").await;
    let cli = |user: &str, sql: &str| {
        let out = super::bin()
            .args(["-w", wh.to_str().unwrap(), "-u", user, "sql", "-c", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let profiles = "SELECT count(*) FROM users.user_profiles";
    assert!(denied(&query(&mut bob, profiles).await.unwrap_err()));
    query(
        &mut bob,
        "REQUEST ACCESS TO users.user_profiles BECAUSE 'segment audit'",
    )
    .await
    .unwrap();
    cli("carol", "GRANT SELECT ON users.user_profiles TO USER bob");
    assert_eq!(first(&query(&mut bob, profiles).await.unwrap()), "500");
    cli(
        "carol",
        "REVOKE SELECT ON users.user_profiles FROM USER bob",
    );
    let err = query(&mut bob, profiles).await.unwrap_err();
    assert!(denied(&err), "{err}");
    std::process::Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(server.wait().unwrap().code(), Some(0));
}

/// The check every plan passes: a scan of stored data outside the gate is refused, naming the
/// operator; the same data read through a session passes.
#[tokio::test]
async fn a_plan_that_reads_files_outside_the_gate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.parquet");
    let ctx = datafusion::prelude::SessionContext::new();
    ctx.sql(&format!(
        "COPY (SELECT 1 AS x) TO '{}' STORED AS PARQUET",
        file.display()
    ))
    .await
    .unwrap()
    .collect()
    .await
    .unwrap();
    let plan = ctx
        .read_parquet(
            file.to_str().unwrap(),
            datafusion::prelude::ParquetReadOptions::default(),
        )
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    let err = lakemeta::governance::verify_plan(&plan)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "permission denied: the plan reads data through DataSourceExec without \
             passing lakemeta's access gate"
        ),
        "{err}"
    );
    // values written in the statement hold no stored data
    let values = ctx
        .sql("SELECT * FROM (VALUES (1), (2)) AS t(x)")
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    lakemeta::governance::verify_plan(&values).unwrap();
    // a product read through a session passes the gate (and is marked so)
    let s = super::session(dir.path().join("wh").to_str().unwrap()).await;
    s.sql(&format!(
        "CREATE DOMAIN d OWNER 't'; CREATE DATA PRODUCT d.t LOCATION '{}' FORMAT parquet",
        file.display()
    ))
    .await
    .unwrap();
    let out = s.sql("EXPLAIN SELECT x FROM d.t").await.unwrap();
    let plan = arrow::util::pretty::pretty_format_batches(&out[0].batches)
        .unwrap()
        .to_string();
    assert!(plan.contains("GovernedScanExec: table=d.t"), "{plan}");
}

/// `apply` checks every spec against its principal before it writes anything; a refusal names
/// the file and the rule, and re-applying what is there is no change for anyone.
#[test]
fn apply_checks_every_spec_against_its_principal() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let wh = wh.to_str().unwrap();
    let mesh = dir.path().join("mesh");
    copy_dir(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mesh")),
        &mesh,
    );
    let run = |user: &str, args: &[&str]| {
        let out = super::bin()
            .args(["-w", wh, "-u", user])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let mesh_arg = mesh.to_str().unwrap();
    // the first apply turns governance on (before it, everyone may do everything)
    let (code, out, err) = run("someone", &["apply", mesh_arg]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("+ team orders-team (1 member)"), "{out}");
    assert!(
        out.contains("+ team platform-admins (1 member, platform admins)"),
        "{out}"
    );
    assert!(
        out.contains("~ policy: sensitive tags [pii, financial, health, personal]"),
        "{out}"
    );
    // applying the same specs again changes nothing, whoever asks
    let (code, out, _) = run("bob", &["apply", mesh_arg]);
    assert_eq!((code, out.trim()), (0, "no changes"));

    // bob changes a contract of orders: refused, with the file, and nothing written
    let contract = mesh.join("contracts/orders_fact.yaml");
    edit(&contract, |t| {
        t.replace("purpose: ", "purpose: Edited by bob. ")
    });
    let contracts = || {
        let sql = "SELECT count(*) FROM meta.contracts";
        run("admin", &["sql", "--format", "csv", "-c", sql]).1
    };
    let before = contracts();
    for dry in [true, false] {
        let mut args = vec!["apply", mesh_arg];
        if dry {
            args.push("--dry-run");
        }
        let (code, _, err) = run("bob", &args);
        assert_eq!(code, 2);
        assert!(
            err.contains(
                "orders_fact.yaml:7: domain: permission denied: orders.orders_fact is owned by \
                 orders-team; bob is not a member"
            ),
            "{err}"
        );
    }
    let after = contracts();
    assert_eq!(before, after);
    // alice of orders-team may
    let (code, out, err) = run("alice", &["apply", mesh_arg]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("~ product orders.orders_fact: contract text"),
        "{out}"
    );

    // teams and the policy are the admins'
    let teams = mesh.join("governance/teams.yaml");
    edit(&teams, |t| {
        t.replace("members: [dave]", "members: [dave, alice]")
    });
    let (code, _, err) = run("alice", &["apply", mesh_arg]);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "teams.yaml:5: teams: permission denied: the teams can be changed by platform \
             admins (platform-admins) only; alice is not one"
        ),
        "{err}"
    );
    let (code, out, err) = run("admin", &["apply", mesh_arg, "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("~ team inventory-team: + alice"), "{out}");

    // a domain owned by a team the Teams spec does not declare is refused, at its line
    let orders = mesh.join("domains/orders.yaml");
    edit(&orders, |t| {
        t.replace("owner: orders-team", "owner: sales-team")
    });
    let (code, _, err) = run("admin", &["apply", mesh_arg]);
    assert_eq!(code, 2);
    assert!(err.contains("orders.yaml:4: owner:"), "{err}");
    assert!(
        err.contains(
            "domain orders is owned by 'sales-team', which is not a team of the Teams spec"
        ),
        "{err}"
    );
    // and so is a Teams spec that leaves out a team that still owns a domain
    edit(&orders, |t| {
        t.replace("owner: sales-team", "owner: orders-team")
    });
    edit(&teams, |t| {
        t.replace("  - name: inventory-team\n", "  - name: stock-team\n")
    });
    let (code, _, err) = run("admin", &["apply", mesh_arg]);
    assert_eq!(code, 2);
    assert!(err.contains("teams.yaml:"), "{err}");
    assert!(
        err.contains("domain inventory is owned by 'inventory-team'"),
        "{err}"
    );

    // every apply is audited, the refused ones too
    let (_, out, _) = run(
        "admin",
        &[
            "sql",
            "--format",
            "csv",
            "-c",
            "SELECT principal, kind, decision FROM meta.audit_log WHERE kind LIKE 'apply%' \
             ORDER BY at",
        ],
    );
    assert!(out.contains("bob,apply,denied"), "{out}");
    assert!(out.contains("bob,apply_dry_run,denied"), "{out}");
    assert!(out.contains("alice,apply,allowed"), "{out}");
}

/// While the audit log cannot be written, every statement is refused (none runs unaudited);
/// once it can, what it held is written and statements run again.
#[tokio::test]
async fn statements_are_refused_while_the_audit_log_cannot_be_written() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("wh");
    let s = super::session(root.to_str().unwrap()).await;
    s.sql("SELECT 1").await.unwrap();
    s.catalog().audit().flush().await.unwrap();
    // the audit log's Delta log becomes a file: commits to it fail
    let log = root.join("_meta/audit_log/_delta_log");
    let aside = root.join("_meta/audit_log/_delta_log.aside");
    std::fs::rename(&log, &aside).unwrap();
    std::fs::write(&log, b"not a directory").unwrap();
    s.sql("SELECT 2 AS lost_unless_written_later")
        .await
        .unwrap();
    let err = s.catalog().audit().flush().await.unwrap_err().to_string();
    assert!(err.contains("the audit log cannot be written"), "{err}");
    let err = s.sql("SELECT 3").await.unwrap_err().to_string();
    assert!(
        err.contains("lakemeta refuses statements rather than run them unaudited"),
        "{err}"
    );
    // storage is back: the held event is written, statements run
    std::fs::remove_file(&log).unwrap();
    std::fs::rename(&aside, &log).unwrap();
    s.catalog().audit().flush().await.unwrap();
    assert_eq!(
        super::scalar(
            &s,
            "SELECT count(*) FROM meta.audit_log WHERE statement LIKE '%lost_unless_written_later%'"
        )
        .await,
        "1"
    );
}

/// `lakemeta serve` warns when it serves a warehouse without teams (governance off).
#[test]
fn serve_warns_when_governance_is_off() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut server = super::bin()
        .args([
            "-w",
            dir.path().join("wh").to_str().unwrap(),
            "serve",
            "--no-auth",
        ])
        .args(["--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    server.wait().unwrap();
    assert!(
        first.starts_with("serving Flight SQL on grpc://"),
        "{first}"
    );
    assert!(
        second.contains("warning: governance is off — no Teams spec has been applied"),
        "{second}"
    );
}

fn edit(path: &std::path::Path, f: impl Fn(String) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, f(text)).unwrap();
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The same rules through a real ADBC client from Python, as bob and as carol
/// (`tests/python/governance_adbc.py`).
#[test]
fn adbc_as_two_users_from_python() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let built = super::bin()
        .args(["-w", wh.to_str().unwrap(), "demo"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let users = users_file_of(dir.path(), &["bob", "carol"], PASSWORD);
    let (mut server, addr) = spawn_serve(&wh, &users, &[]);
    let outside = dir.path().join("outside.parquet");
    let out = std::process::Command::new(super::support::python_tools().join("python"))
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/governance_adbc.py"
        ))
        .args([
            &format!("grpc://{addr}"),
            PASSWORD,
            outside.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    server.wait().unwrap();
    assert!(
        out.status.success(),
        "the ADBC governance suite failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}

/// The README's walk through the example mesh, run as written: bob is refused, asks, carol
/// approves, bob reads, the admin reads it all in the audit log.
#[test]
fn the_readme_walk_through_runs_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("### A walk through the example mesh")
        .nth(1)
        .expect("the README has the walk-through");
    let script = section
        .split("```sh\n")
        .nth(1)
        .and_then(|s| s.split("\n```").next())
        .expect("a sh block");
    let dir = tempfile::tempdir().unwrap();
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_lakemeta"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env_remove("LAKEMETA_USER")
        .env_remove("LAKEMETA_WAREHOUSE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(
            "error: permission denied: users.user_profiles is tagged pii and bob holds no grant; \
             ask with REQUEST ACCESS TO users.user_profiles BECAUSE '…'"
        ),
        "{stderr}"
    );
    assert!(stdout.contains("| req_"), "{stdout}");
    assert!(stdout.contains("APPROVE req_"), "{stdout}");
    assert!(stdout.contains("| 500      |"), "{stdout}");
    for line in [
        "| bob       | query",
        "| bob       | request_access",
        "| carol     | approve_request",
    ] {
        assert!(stdout.contains(line), "{line} missing:\n{stdout}");
    }
    assert!(stdout.contains("| denied   |"), "{stdout}");
}

/// A request nobody decided in time has expired: it cannot be approved, reads as `expired`, and
/// the requester may ask again.
#[tokio::test]
async fn an_expired_request_cannot_be_decided() {
    use lakemeta::model::{AccessRequest, RequestStatus, now_micros};
    use lakemeta::storage::RowChange;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("wh");
    let admin = super::session_as(root.to_str().unwrap(), "admin").await;
    let specs = lakemeta::contracts::load_path(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/slt/governance"
    )))
    .unwrap();
    lakemeta::contracts::apply_specs(admin.catalog(), &specs, &admin.state(), admin.principal())
        .await
        .unwrap();
    let day = 86_400_000_000i64;
    let now = now_micros();
    let old = AccessRequest {
        request_id: "req_zz0ld".into(),
        product: "users.user_profiles".into(),
        requester: "bob".into(),
        reason: "a report".into(),
        privilege: "select".into(),
        days: None,
        status: RequestStatus::Pending,
        requested_at: now - 10 * day,
        expires_at: now - 3 * day,
        decided_by: None,
        decided_at: None,
        decision_reason: None,
        grant_id: None,
    };
    admin
        .catalog()
        .commit_access(
            &[RowChange::Upsert {
                expected: None,
                row: old,
            }],
            &[],
        )
        .await
        .unwrap();
    let carol = Session::with_catalog(
        Arc::clone(admin.catalog()),
        SessionOptions::new(Principal::new("carol")),
    )
    .await
    .unwrap();
    let err = carol
        .sql("APPROVE REQUEST req_zz0ld")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("request req_zz0ld expired on") && err.contains("bob may ask again"),
        "{err}"
    );
    assert_eq!(
        super::scalar(
            &carol,
            "SELECT status FROM meta.access_requests WHERE request_id = 'req_zz0ld'"
        )
        .await,
        "expired"
    );
    let bob = Session::with_catalog(
        Arc::clone(admin.catalog()),
        SessionOptions::new(Principal::new("bob")),
    )
    .await
    .unwrap();
    assert_eq!(
        super::scalar(&bob, "SELECT access FROM search_catalog('profiles')").await,
        "requestable"
    );
    bob.sql("REQUEST ACCESS TO users.user_profiles BECAUSE 'the report, again'")
        .await
        .unwrap();
    assert_eq!(
        super::scalar(
            &bob,
            "SELECT access LIKE 'requested (req_%)' FROM search_catalog('profiles')"
        )
        .await,
        "true"
    );
}

/// A contract written elsewhere names its team as its organisation does ("Data Protection
/// Office"), not as a team of the warehouse's Teams spec: it is applied, owned by `--owner`
/// when given, else by the owner of its domain, and the plan says which and why.
#[tokio::test(flavor = "multi_thread")]
async fn a_contract_naming_a_team_the_teams_spec_lacks_gets_an_owner_and_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = example_mesh(dir.path()).await;
    let admin = Session::with_catalog(
        Arc::clone(&catalog),
        SessionOptions::new(Principal::new("admin")),
    )
    .await
    .unwrap();
    let contract = "apiVersion: v3.1.0\nkind: DataContract\nid: refunds\nversion: 1.0.0\n\
                    status: active\nname: refunds\nteam:\n  name: Data Protection Office\n\
                    schema:\n  - name: refunds\n    properties:\n      - name: refund_id\n\
                    \x20       logicalType: string\n";
    let file = dir.path().join("refunds.odcs.yaml");
    std::fs::write(&file, contract).unwrap();
    for (owner, expected_owner, why) in [
        (None, "orders-team", "the owner of domain orders"),
        (Some("growth-team"), "growth-team", "named by --owner"),
    ] {
        let mut specs = lakemeta::contracts::load_path(&file).unwrap();
        lakemeta::contracts::fill_defaults(&mut specs, Some("orders"), owner).unwrap();
        let plan =
            lakemeta::contracts::plan_specs(&catalog, &specs, &admin.state(), admin.principal())
                .await
                .unwrap()
                .lines()
                .join("\n");
        assert!(
            plan.contains(&format!(
                "team 'Data Protection Office' is not a team of the Teams spec: orders.refunds is \
                 owned by {expected_owner}, {why}"
            )),
            "{plan}"
        );
        assert!(plan.contains("domain orders from --domain"), "{plan}");
    }
    lakemeta::contracts::apply_specs(
        &catalog,
        &{
            let mut specs = lakemeta::contracts::load_path(&file).unwrap();
            lakemeta::contracts::fill_defaults(&mut specs, Some("orders"), None).unwrap();
            specs
        },
        &admin.state(),
        admin.principal(),
    )
    .await
    .unwrap();
    assert_eq!(
        super::scalar(
            &admin,
            "SELECT owner FROM meta.products WHERE name = 'refunds'"
        )
        .await,
        "orders-team"
    );
}
