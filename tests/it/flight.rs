//! The Flight SQL server with a real Flight SQL client (arrow-flight's
//! `FlightSqlServiceClient`) over loopback.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::RecordBatch;
use arrow_flight::sql::client::FlightSqlServiceClient;
use futures::TryStreamExt;
use lakemeta::catalog::Catalog;
use lakemeta::server::{Limits, ServeOptions, bind, hash_password};
use lakemeta::storage::{Warehouse, WarehouseLocation};
use tonic::Code;
use tonic::transport::Channel;

/// The limits of the servers under test.
pub(super) const LIMITS: Limits = Limits {
    max_queries: 4,
    query_memory: 256 << 20,
    server_memory: 1 << 30,
    max_open_per_user: 1000,
};

/// A server on 127.0.0.1 (port chosen by the system) over a fresh warehouse with user
/// alice/wonderland; it stops when the returned sender is dropped.
pub(super) async fn server(dir: &std::path::Path) -> (String, tokio::sync::oneshot::Sender<()>) {
    server_over(catalog_in(&dir.join("wh")).await, dir).await
}

/// A server like [`server`] over `catalog`, its users file in `dir`.
pub(super) async fn server_over(
    catalog: Arc<Catalog>,
    dir: &std::path::Path,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let users = users_file(dir, "alice", "wonderland");
    let options = ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        users: Some(users),
        no_auth: false,
        token_ttl: Duration::from_secs(60),
        tls: None,
        limits: LIMITS,
        allowed_locations: Vec::new(),
    };
    let bound = bind(catalog, &options).await.unwrap();
    let (addr, stop, _running) = start(bound);
    (format!("http://{addr}"), stop)
}

/// A users file in `dir` with one user and the argon2 hash of its password.
fn users_file(dir: &std::path::Path, name: &str, password: &str) -> std::path::PathBuf {
    users_file_of(dir, &[name], password)
}

/// A users file in `dir` with these users, all with the same password.
pub(super) fn users_file_of(
    dir: &std::path::Path,
    names: &[&str],
    password: &str,
) -> std::path::PathBuf {
    let users = dir.join("users.yaml");
    let hash = hash_password(password).unwrap();
    let mut text = String::from("users:\n");
    for name in names {
        text.push_str(&format!(
            "  - name: {name}\n    password_hash: \"{hash}\"\n"
        ));
    }
    std::fs::write(&users, text).unwrap();
    users
}

/// The catalog of a new warehouse at `path`.
async fn catalog_in(path: &std::path::Path) -> Arc<Catalog> {
    let location = WarehouseLocation::parse(path.to_str().unwrap()).unwrap();
    let wh = Warehouse::open(location).await.unwrap();
    Arc::new(Catalog::open(Arc::new(wh)).await.unwrap())
}

/// Why `bind` refuses `options`.
async fn refusal(catalog: &Arc<Catalog>, options: &ServeOptions) -> String {
    match bind(Arc::clone(catalog), options).await {
        Ok(_) => panic!("bind accepted {options:?}"),
        Err(e) => e.to_string(),
    }
}

/// A server on 127.0.0.1 without authentication, held to `limits`.
fn loopback(limits: Limits) -> ServeOptions {
    ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        users: None,
        no_auth: true,
        token_ttl: Duration::from_secs(60),
        tls: None,
        limits,
        allowed_locations: Vec::new(),
    }
}

/// Runs a bound server until the returned sender is dropped: its address, the sender, and the
/// task that ends when the server has stopped.
pub(super) fn start(
    bound: lakemeta::server::Bound,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<lakemeta::error::Result<()>>,
) {
    let addr = bound.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(bound.run(async move {
        let _ = stopped.await;
    }));
    (addr, stop, running)
}

pub(super) async fn client(url: &str) -> FlightSqlServiceClient<Channel> {
    let channel = Channel::from_shared(url.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap();
    FlightSqlServiceClient::new(channel)
}

pub(super) async fn query(
    c: &mut FlightSqlServiceClient<Channel>,
    sql: &str,
) -> Result<Vec<RecordBatch>, String> {
    let info = c
        .execute(sql.to_string(), None)
        .await
        .map_err(|e| e.to_string())?;
    let mut batches = Vec::new();
    for endpoint in info.endpoint {
        let ticket = endpoint.ticket.expect("a ticket");
        let stream = c.do_get(ticket).await.map_err(|e| e.to_string())?;
        batches.extend(
            stream
                .try_collect::<Vec<_>>()
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    Ok(batches)
}

pub(super) fn text(batches: &[RecordBatch]) -> String {
    arrow::util::pretty::pretty_format_batches(batches)
        .unwrap()
        .to_string()
}

/// A client address that keeps failing the handshake is refused for a while — the right
/// password too — with a status that says so (the default bound: 10 failures a minute).
#[tokio::test]
async fn failed_handshakes_throttle_the_address() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _stop) = server(dir.path()).await;
    let mut guesser = client(&url).await;
    for _ in 0..10 {
        let err = guesser
            .handshake("alice", "rabbit")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(Code::Unauthenticated.description()), "{err}");
    }
    let err = guesser
        .handshake("alice", "wonderland")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(Code::ResourceExhausted.description())
            && err.contains("too many failed sign-ins from this address"),
        "{err}"
    );
}

#[tokio::test]
async fn queries_ddl_and_errors_over_flight_sql() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _stop) = server(dir.path()).await;

    // no handshake, a wrong password: unauthenticated, and nothing that helps a guesser
    let mut anonymous = client(&url).await;
    let err = query(&mut anonymous, "SELECT 1").await.unwrap_err();
    assert!(err.contains(Code::Unauthenticated.description()), "{err}");
    let err = anonymous
        .handshake("alice", "rabbit")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains(Code::Unauthenticated.description()), "{err}");
    let err2 = anonymous
        .handshake("bob", "rabbit")
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err, err2,
        "a wrong user and a wrong password must read alike"
    );

    let mut c = client(&url).await;
    c.handshake("alice", "wonderland").await.unwrap();
    // DDL through a query, as DB-API clients send it: its message comes back as a row
    let out = query(&mut c, "CREATE DOMAIN shop OWNER 'shop-team'")
        .await
        .unwrap();
    assert!(text(&out).contains("CREATE DOMAIN shop"), "{}", text(&out));
    query(
        &mut c,
        "CREATE TABLE shop.sales AS SELECT * FROM (VALUES (1, 9.5), (2, 20.0)) AS t(id, amount)",
    )
    .await
    .unwrap();
    let out = query(
        &mut c,
        "SELECT count(*) AS n, sum(amount) AS total FROM shop.sales",
    )
    .await
    .unwrap();
    assert_eq!(
        text(&out),
        "+---+-------+\n| n | total |\n+---+-------+\n| 2 | 29.5  |\n+---+-------+"
    );
    // the statements ran as alice
    // nested view types (the system tables' lists and structs) are sent as plain types too
    let info = c
        .execute("SELECT tags, columns FROM meta.products".into(), None)
        .await
        .unwrap();
    let announced = format!("{:?}", info.clone().try_decode_schema().unwrap());
    let out = query(&mut c, "SELECT tags, columns FROM meta.products")
        .await
        .unwrap();
    let sent = format!("{:?}", out[0].schema());
    assert!(!announced.contains("View"), "{announced}");
    assert_eq!(announced, sent);
    let out = query(&mut c, "SELECT updated_by FROM meta.domains")
        .await
        .unwrap();
    assert!(text(&out).contains("alice"), "{}", text(&out));

    let err = query(&mut c, "SELECT * FROM shop.nope").await.unwrap_err();
    assert!(err.contains(Code::NotFound.description()), "{err}");
    let err = query(&mut c, "SELEC 1").await.unwrap_err();
    assert!(err.contains(Code::InvalidArgument.description()), "{err}");
    // an unsupported request is unimplemented, and says what to do instead
    let err = c.begin_transaction().await.unwrap_err().to_string();
    assert!(err.contains(Code::Unimplemented.description()), "{err}");
    assert!(err.contains("lakemeta has no transactions"), "{err}");
    assert!(
        !err.contains(".rs:"),
        "a message carries a source location: {err}"
    );
}

#[tokio::test]
async fn serving_without_users_needs_no_auth_and_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog_in(dir.path()).await;
    let mut options = ServeOptions {
        listen: "0.0.0.0:0".parse().unwrap(),
        no_auth: false,
        ..loopback(LIMITS)
    };
    let err = refusal(&catalog, &options).await;
    assert!(err.contains("--users FILE"), "{err}");
    options.no_auth = true;
    let err = refusal(&catalog, &options).await;
    assert!(err.contains("loopback only"), "{err}");
    options.listen = "127.0.0.1:0".parse().unwrap();
    let bound = bind(catalog, &options).await.unwrap();
    let (addr, stop, running) = start(bound);
    let url = format!("http://{addr}");
    let mut c = client(&url).await;
    let out = query(&mut c, "SELECT 41 + 1 AS answer").await.unwrap();
    assert!(text(&out).contains("42"));
    drop(stop);
    running.await.unwrap().unwrap();
}

/// `lakemeta serve` as its own process, a Python ADBC client (from the test venv) against it,
/// then SIGTERM: the server stops cleanly with exit code 0.
#[test]
fn adbc_from_python_against_lakemeta_serve() {
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(dir.path(), "analyst", "open sesame");
    let (mut server, addr) = spawn_serve(&dir.path().join("wh"), &users, &[]);
    // a second server whose tokens live one second, for the expired-token case
    let (mut expiring, expiring_addr) =
        spawn_serve(&dir.path().join("wh2"), &users, &["--token-ttl", "1"]);
    let python = super::support::python_tools().join("python");
    let out = std::process::Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/flight_adbc.py"
        ))
        .args([
            &format!("grpc://{addr}"),
            "analyst",
            "open sesame",
            &format!("grpc://{expiring_addr}"),
        ])
        .output()
        .unwrap();
    for s in [&server, &expiring] {
        let stopped = std::process::Command::new("kill")
            .args(["-TERM", &s.id().to_string()])
            .status()
            .unwrap();
        assert!(stopped.success());
    }
    let status = server.wait().unwrap();
    expiring.wait().unwrap();
    assert!(
        out.status.success(),
        "the ADBC suite failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
    assert_eq!(
        status.code(),
        Some(0),
        "the server did not stop cleanly on SIGTERM"
    );
}

/// `lakemeta serve` on 127.0.0.1 (a port the system chooses) over `wh` with `users`, and the
/// address it listens on. Its stderr is drained by a thread, so its call traces never block it.
pub(super) fn spawn_serve(
    wh: &std::path::Path,
    users: &std::path::Path,
    extra: &[&str],
) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut server = super::bin()
        .args([
            "-w",
            wh.to_str().unwrap(),
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--users")
        .arg(users)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // the server says where it listens once it does (no sleeping, no polling)
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("serving Flight SQL on grpc://")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    (server, addr)
}

/// TLS from certificate and key files: a client that trusts the certificate queries; one
/// without TLS does not get through.
#[tokio::test]
async fn tls_from_certificate_and_key_files() {
    let dir = tempfile::tempdir().unwrap();
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, signing_key.serialize_pem()).unwrap();
    let catalog = catalog_in(&dir.path().join("wh")).await;
    let mut options = ServeOptions {
        tls: Some((key_file.clone(), key_file.clone())),
        ..loopback(LIMITS)
    };
    let err = refusal(&catalog, &options).await;
    assert!(err.contains("holds no PEM certificate"), "{err}");
    options.tls = Some((cert_file, key_file));
    let bound = bind(catalog, &options).await.unwrap();
    let (addr, _stop, _running) = start(bound);
    let port = addr.port();
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(cert.pem()))
        .domain_name("localhost");
    let channel = Channel::from_shared(format!("https://127.0.0.1:{port}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut c = FlightSqlServiceClient::new(channel);
    let out = query(&mut c, "SELECT 'over tls' AS how").await.unwrap();
    assert!(text(&out).contains("over tls"));
    let mut plain = client(&format!("http://127.0.0.1:{port}")).await;
    assert!(query(&mut plain, "SELECT 1").await.is_err());
}

/// The rows of a FlightInfo's first endpoint, as a table.
async fn rows_of(
    c: &mut FlightSqlServiceClient<Channel>,
    info: arrow_flight::FlightInfo,
) -> String {
    let ticket = info.endpoint[0].ticket.clone().unwrap();
    let batches: Vec<RecordBatch> = c.do_get(ticket).await.unwrap().try_collect().await.unwrap();
    text(&batches)
}

/// Primary and foreign keys come from the example mesh's contracts (`orders.orders_fact` is
/// keyed by `order_id`, its `user_id` references `users.user_profiles`, and
/// `orders.payments_fact.order_id` references it); the type table describes lakemeta's types.
#[tokio::test]
async fn keys_come_from_contracts_and_types_are_described() {
    use arrow_flight::sql::{
        CommandGetCrossReference, CommandGetExportedKeys, CommandGetImportedKeys,
        CommandGetPrimaryKeys, CommandGetXdbcTypeInfo,
    };
    let dir = tempfile::tempdir().unwrap();
    let s = super::session(dir.path().join("wh").to_str().unwrap()).await;
    let mesh = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mesh"));
    let specs = lakemeta::contracts::load_path(mesh).unwrap();
    lakemeta::contracts::apply_specs(s.catalog(), &specs, &s.state(), s.principal())
        .await
        .unwrap();
    let bound = bind(Arc::clone(s.catalog()), &loopback(LIMITS))
        .await
        .unwrap();
    let (addr, _stop, _running) = start(bound);
    let url = format!("http://{addr}");
    let mut c = client(&url).await;
    let primary = |schema: Option<&str>, table: &str| CommandGetPrimaryKeys {
        catalog: None,
        db_schema: schema.map(str::to_string),
        table: table.to_string(),
    };
    let info = c
        .get_primary_keys(primary(Some("orders"), "orders_fact"))
        .await
        .unwrap();
    let out = rows_of(&mut c, info).await;
    assert!(
        out.contains("| lakemeta     | orders         | orders_fact | order_id    |          | 1            |"),
        "{out}"
    );
    let info = c
        .get_primary_keys(primary(Some("orders"), "nope"))
        .await
        .unwrap();
    let none = rows_of(&mut c, info).await;
    assert!(!none.contains("order_id"), "{none}");

    // the keys orders_fact holds, and the keys that point at it
    let info = c
        .get_imported_keys(CommandGetImportedKeys {
            catalog: None,
            db_schema: Some("orders".into()),
            table: "orders_fact".into(),
        })
        .await
        .unwrap();
    let imported = rows_of(&mut c, info).await;
    let line = |t: &str| {
        t.lines()
            .filter(|l| l.starts_with("| lakemeta"))
            .map(|l| {
                l.split('|')
                    .map(str::trim)
                    .filter(|f| !f.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        line(&imported),
        vec![
            "lakemeta users user_profiles user_id lakemeta orders orders_fact user_id 1 orders_fact_user_id_fkey 3 3"
        ],
        "{imported}"
    );
    let info = c
        .get_exported_keys(CommandGetExportedKeys {
            catalog: None,
            db_schema: None,
            table: "orders_fact".into(),
        })
        .await
        .unwrap();
    let exported = rows_of(&mut c, info).await;
    assert_eq!(
        line(&exported),
        vec![
            "lakemeta orders orders_fact order_id lakemeta orders payments_fact order_id 1 payments_fact_order_id_fkey 3 3"
        ],
        "{exported}"
    );
    let cross = |pk: &str, fk: &str| CommandGetCrossReference {
        pk_catalog: None,
        pk_db_schema: Some("orders".into()),
        pk_table: pk.into(),
        fk_catalog: None,
        fk_db_schema: Some("orders".into()),
        fk_table: fk.into(),
    };
    let info = c
        .get_cross_reference(cross("orders_fact", "payments_fact"))
        .await
        .unwrap();
    assert_eq!(line(&rows_of(&mut c, info).await), line(&exported));
    let info = c
        .get_cross_reference(cross("payments_fact", "orders_fact"))
        .await
        .unwrap();
    assert!(line(&rows_of(&mut c, info).await).is_empty());

    // every type, and one asked for by its XDBC code (VARCHAR = 12)
    let info = c
        .get_xdbc_type_info(CommandGetXdbcTypeInfo { data_type: None })
        .await
        .unwrap();
    let all = rows_of(&mut c, info).await;
    for t in [
        "BIGINT",
        "DOUBLE",
        "DECIMAL",
        "VARCHAR",
        "BOOLEAN",
        "DATE",
        "TIMESTAMP",
    ] {
        assert!(all.contains(&format!("| {t} ")), "{t} missing: {all}");
    }
    let info = c
        .get_xdbc_type_info(CommandGetXdbcTypeInfo {
            data_type: Some(12),
        })
        .await
        .unwrap();
    let varchar = rows_of(&mut c, info).await;
    assert!(
        varchar.contains("| VARCHAR ") && !varchar.contains("BIGINT"),
        "{varchar}"
    );
}

/// One statement at a time and 32 MiB per query: a second statement is refused while the first
/// runs, the first stops when its client goes away (and frees its slot), a query that cannot
/// spill fails with resource_exhausted, and a sort larger than the limit spills and finishes.
#[tokio::test]
async fn limits_refuse_and_a_disconnect_cancels_the_query() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog_in(dir.path()).await;
    let limits = Limits {
        max_queries: 1,
        query_memory: 32 << 20,
        server_memory: 64 << 20,
        max_open_per_user: 3,
    };
    let bound = bind(catalog, &loopback(limits)).await.unwrap();
    let (addr, _stop, _running) = start(bound);
    let url = format!("http://{addr}");

    // a query that would run for hours: its stream is open, no row has come yet
    let mut first = client(&url).await;
    let info = first
        .execute(
            "SELECT count(*) FROM generate_series(1, 1000000000000)".into(),
            None,
        )
        .await
        .unwrap();
    let ticket = info.endpoint[0].ticket.clone().unwrap();
    let running = first.do_get(ticket).await.unwrap();
    let mut second = client(&url).await;
    let err = query(&mut second, "SELECT 1").await.unwrap_err();
    assert!(err.contains(Code::ResourceExhausted.description()), "{err}");
    assert!(err.contains("--max-queries"), "{err}");

    // the first client goes away: its query stops and its slot is free again (the server
    // learns of the disconnect asynchronously: ask again, for at most 20 s)
    drop(running);
    drop(first);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        match query(&mut second, "SELECT 7 AS n").await {
            Ok(out) => {
                assert!(text(&out).contains('7'));
                break;
            }
            Err(e) if e.contains(Code::ResourceExhausted.description()) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the abandoned query still holds its slot"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }

    // more memory than the limit, in an operator that cannot spill
    let err = query(
        &mut second,
        "SELECT array_length(array_agg(x)) FROM generate_series(1, 10000000) AS t(x)",
    )
    .await
    .unwrap_err();
    assert!(err.contains(Code::ResourceExhausted.description()), "{err}");
    // a sort of about 100 MiB spills and finishes
    let out = query(
        &mut second,
        "SELECT count(*) AS n, min(rn) AS lo FROM (SELECT row_number() OVER (ORDER BY x DESC) \
         AS rn FROM (SELECT x * 7919 % 1000003 AS x FROM generate_series(1, 6000000) AS t(x)))",
    )
    .await
    .unwrap();
    assert!(text(&out).contains("| 6000000 | 1  |"), "{}", text(&out));

    // one user holds at most 3 prepared statements and 3 unfetched results (the limit here)
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(second.prepare("SELECT 1".into(), None).await.unwrap());
    }
    let err = second
        .prepare("SELECT 2".into(), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(Code::ResourceExhausted.description()) && err.contains("--max-open-per-user"),
        "{err}"
    );
    open.pop().unwrap().close().await.unwrap();
    open.push(second.prepare("SELECT 2".into(), None).await.unwrap());
    let mut tickets = Vec::new();
    for n in 0..3 {
        let info = second.execute(format!("SELECT {n}"), None).await.unwrap();
        tickets.push(info.endpoint[0].ticket.clone().unwrap());
    }
    let err = query(&mut second, "SELECT 3").await.unwrap_err();
    assert!(
        err.contains(Code::ResourceExhausted.description()) && err.contains("results waiting"),
        "{err}"
    );
    // fetching one frees its place
    let rows: Vec<RecordBatch> = second
        .do_get(tickets.pop().unwrap())
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rows.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    assert!(text(&query(&mut second, "SELECT 4").await.unwrap()).contains('4'));
}

/// All running queries share one pool (`--server-memory`), each taking at most its own limit
/// (`--query-memory`): while one query holds most of the pool (a hash join's build side, its
/// probe side streaming for hours), a second query within its own limit is refused, naming the
/// shared pool; once the first client goes away, the same query runs. A server whose pool is
/// smaller than one query's limit is refused at start.
#[tokio::test]
async fn running_queries_share_the_server_memory() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog_in(dir.path()).await;
    let limits = Limits {
        max_queries: 2,
        query_memory: 24 << 20,
        server_memory: 32 << 20,
        max_open_per_user: 10,
    };
    let small = Limits {
        server_memory: 16 << 20,
        ..limits
    };
    let err = refusal(&catalog, &loopback(small)).await;
    assert!(
        err.contains("--server-memory 16.0 MiB is less than --query-memory 24.0 MiB"),
        "{err}"
    );
    let bound = bind(catalog, &loopback(limits)).await.unwrap();
    let (addr, _stop, _running) = start(bound);
    let url = format!("http://{addr}");
    // about 22 MiB that cannot spill
    let second_query =
        "SELECT array_length(array_agg(x)) AS n FROM generate_series(1, 3000000) AS t(x)";

    // the second query alone fits its limit
    let mut second = client(&url).await;
    let out = query(&mut second, second_query).await.unwrap();
    assert!(text(&out).contains("3000000"), "{}", text(&out));

    let mut first = client(&url).await;
    let info = first
        .execute(
            // the build side (the first, about 20 MiB) is held while the probe side streams
            "SELECT count(*) FROM generate_series(1, 1000000) AS b(y) \
             JOIN generate_series(1, 1000000000000) AS a(x) ON a.x = b.y"
                .into(),
            None,
        )
        .await
        .unwrap();
    let ticket = info.endpoint[0].ticket.clone().unwrap();
    let holding = first.do_get(ticket).await.unwrap();

    // the build side is read as the first query starts: until it holds its memory the second
    // query may still run (ask again, for at most 20 s)
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let refused = loop {
        match query(&mut second, second_query).await {
            Ok(_) => assert!(
                std::time::Instant::now() < deadline,
                "the second query kept running beside the first"
            ),
            Err(e) => break e,
        }
    };
    assert!(
        refused.contains(Code::ResourceExhausted.description())
            && refused.contains("--server-memory"),
        "{refused}"
    );

    drop(holding);
    drop(first);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        match query(&mut second, second_query).await {
            Ok(out) => {
                assert!(text(&out).contains("3000000"), "{}", text(&out));
                break;
            }
            Err(e) if e.contains("--server-memory") => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the abandoned query still holds its memory"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

/// The examples for notebooks work as written: the plain script and every code cell of the
/// notebook, against `lakemeta serve` over the example mesh (built by `lakemeta demo`).
#[test]
fn the_python_examples_query_the_example_mesh() {
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
    // the example mesh's platform admin: the examples record checks of every product
    let users = users_file(dir.path(), "admin", "open sesame");
    let (mut server, addr) = spawn_serve(&wh, &users, &[]);
    let python = super::support::python_tools().join("python");
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/python");
    let run = |args: &[&str]| {
        std::process::Command::new(&python)
            .args(args)
            .env("LAKEMETA_FLIGHT_URI", format!("grpc://{addr}"))
            .env("LAKEMETA_FLIGHT_USER", "admin")
            .env("LAKEMETA_FLIGHT_PASSWORD", "open sesame")
            .output()
            .unwrap()
    };
    let script = run(&[&format!("{examples}/explore_mesh.py")]);
    let notebook = run(&[
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/run_notebook.py"),
        &format!("{examples}/explore_mesh.ipynb"),
    ]);
    std::process::Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    server.wait().unwrap();
    for (name, out) in [("script", script), ("notebook", notebook)] {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "the {name} failed:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // search found orders_fact, impact reached payments_fact, checks were recorded
        for expected in [
            "orders.orders_fact",
            "orders.payments_fact",
            "users.user_segments",
            "not_null(order_id)",
            "inventory.stock_levels",
        ] {
            assert!(
                stdout.contains(expected),
                "the {name} shows no {expected}:\n{stdout}"
            );
        }
    }
}

/// A Flight SQL bulk ingest of `batches` into `domain.table` by `user`, through the server at
/// `url`: the product is created when it is not there and `if_exists` says what happens when it
/// is. The rows the server says it took, or the status it refused with.
pub(super) async fn ingest(
    url: &str,
    (user, password): (&str, &str),
    (domain, table): (&str, &str),
    if_exists: arrow_flight::sql::TableExistsOption,
    batches: Vec<RecordBatch>,
) -> Result<i64, tonic::Status> {
    use arrow_flight::error::FlightError;
    use arrow_flight::sql::{CommandStatementIngest, TableDefinitionOptions, TableNotExistOption};
    let status = |e: FlightError| match e {
        FlightError::Tonic(status) => *status,
        other => tonic::Status::unknown(other.to_string()),
    };
    let mut c = client(url).await;
    c.handshake(user, password).await.map_err(status)?;
    let command = CommandStatementIngest {
        table_definition_options: Some(TableDefinitionOptions {
            if_not_exist: TableNotExistOption::Create.into(),
            if_exists: if_exists.into(),
        }),
        table: table.into(),
        schema: Some(domain.into()),
        ..Default::default()
    };
    c.execute_ingest(command, futures::stream::iter(batches.into_iter().map(Ok)))
        .await
        .map_err(status)
}

/// Batches of 10,000 rows of one column `id`, counting from 0 to `rows`.
pub(super) fn id_batches(rows: i64) -> Vec<RecordBatch> {
    use arrow::array::{ArrayRef, Int64Array};
    (0..(rows + 9_999) / 10_000)
        .map(|i| {
            let ids: Vec<i64> = (i * 10_000..((i + 1) * 10_000).min(rows)).collect();
            let ids = Arc::new(Int64Array::from(ids)) as ArrayRef;
            RecordBatch::try_from_iter([("id", ids)]).unwrap()
        })
        .collect()
}

/// A bulk ingest streams its rows into a new product's table as they arrive: the product is
/// made with every row, in a table of its own under its domain's directory.
#[tokio::test]
async fn an_ingest_streams_its_rows_into_a_new_product() {
    use arrow_flight::sql::TableExistsOption;
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let s = super::session_as(wh.to_str().unwrap(), "alice").await;
    s.sql("CREATE DOMAIN shop OWNER 'x'").await.unwrap();
    let (url, _stop) = server_over(Arc::clone(s.catalog()), dir.path()).await;
    let taken = ingest(
        &url,
        ("alice", "wonderland"),
        ("shop", "feed"),
        TableExistsOption::Fail,
        id_batches(250_000),
    )
    .await
    .unwrap();
    assert_eq!(taken, 250_000);
    let again = super::session(wh.to_str().unwrap()).await;
    assert_eq!(
        super::scalar(&again, "SELECT count(*) || ' ' || sum(id) FROM shop.feed").await,
        format!("250000 {}", (0..250_000i64).sum::<i64>())
    );
    let tables: Vec<String> = std::fs::read_dir(wh.join("shop"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        tables.len() == 1 && tables[0].starts_with("feed-"),
        "{tables:?}"
    );
}
