use std::sync::Arc;

use lakemeta::model::Principal;
use lakemeta::sql::{Session, SessionOptions};
use lakemeta::storage::{Warehouse, WarehouseLocation};

use super::support::{s3, s3_warehouse};

async fn s3_session(url: &str) -> Session {
    let location = WarehouseLocation::parse(url)
        .unwrap()
        .with_options(s3().env());
    let wh = Warehouse::open(location).await.unwrap();
    Session::open(Arc::new(wh), SessionOptions::new(Principal::new("tester")))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_warehouse_on_s3_is_created_written_and_reopened() {
    let url = s3_warehouse("basic");
    let s = s3_session(&url).await;
    s.sql(
        "CREATE DOMAIN orders OWNER 'checkout-team'; \
           CREATE TABLE orders.t AS SELECT * FROM (VALUES (1), (2)) AS v(id); \
           INSERT INTO orders.t VALUES (3)",
    )
    .await
    .unwrap();
    let again = s3_session(&url).await;
    assert_eq!(
        super::scalar(&again, "SELECT sum(id) FROM orders.t").await,
        "6"
    );
    // a managed product's table lies in its domain's directory, under a name of its own
    let location = super::scalar(&again, "SELECT location FROM meta.products").await;
    let id = location
        .strip_prefix(&format!("{url}/orders/t-"))
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("{location}"));
    assert!(
        id.len() == 12 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{location}"
    );
}

/// Two processes commit to the same system table on S3 at once; Delta's conditional PUT and
/// lakemeta's retries let every commit land once.
#[test]
fn two_concurrent_writers_on_s3() {
    let url = s3_warehouse("writers");
    let env = s3().env();
    let dir = tempfile::tempdir().unwrap();
    let init = super::bin()
        .envs(&env)
        .args(["-w", &url, "init"])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let children: Vec<_> = (0..2)
        .map(|p| {
            let script: String = (0..25)
                .map(|i| format!("CREATE DOMAIN w{p}_{i} OWNER 'team';\n"))
                .collect();
            let file = dir.path().join(format!("w{p}.sql"));
            std::fs::write(&file, script).unwrap();
            super::bin()
                .envs(&env)
                .args(["-w", &url, "sql", "-f", file.to_str().unwrap()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = super::bin()
        .envs(&env)
        .args([
            "-w",
            &url,
            "sql",
            "--format",
            "csv",
            "-c",
            "SELECT count(DISTINCT name) AS n, count(*) AS c FROM meta.domains",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "n,c\n50,50\n");
}

#[tokio::test]
async fn no_server_is_a_clear_error() {
    // a port nothing listens on: bound, then released
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut env = std::collections::HashMap::new();
    env.insert(
        "AWS_ENDPOINT_URL".to_string(),
        format!("http://127.0.0.1:{port}"),
    );
    env.insert("AWS_ALLOW_HTTP".to_string(), "true".to_string());
    env.insert("AWS_ACCESS_KEY_ID".to_string(), "x".to_string());
    env.insert("AWS_SECRET_ACCESS_KEY".to_string(), "y".to_string());
    env.insert("AWS_REGION".to_string(), "us-east-1".to_string());
    let location = WarehouseLocation::parse("s3://lake/nowhere")
        .unwrap()
        .with_options(env);
    let err = Warehouse::open(location).await.unwrap_err().to_string();
    assert!(
        err.starts_with("warehouse s3://lake/nowhere: cannot access the storage"),
        "{err}"
    );
    assert!(err.contains("check AWS_ENDPOINT_URL"), "{err}");
}

/// The storage policy of a domain of an S3 warehouse gives its role the domain's prefix of the
/// warehouse and nothing else.
#[test]
fn a_domain_storage_policy_names_its_prefix_only() {
    let url = s3_warehouse("policy");
    let env = s3().env();
    let run = |args: &[&str]| {
        super::bin()
            .envs(&env)
            .args(["-w", &url])
            .args(args)
            .output()
            .unwrap()
    };
    let made = run(&["sql", "-c", "CREATE DOMAIN orders OWNER 'orders-team'"]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let out = run(&["domain", "storage-policy", "orders", "--format", "aws-iam"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let policy: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let prefix = format!("{}/orders/", url.trim_start_matches("s3://lake/"));
    assert_eq!(policy["Statement"][0]["Resource"], "arn:aws:s3:::lake");
    assert_eq!(
        policy["Statement"][0]["Condition"]["StringLike"]["s3:prefix"][1],
        format!("{prefix}*")
    );
    assert_eq!(
        policy["Statement"][1]["Resource"],
        format!("arn:aws:s3:::lake/{prefix}*")
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("_meta"), "{text}");
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(
        note.contains("attach to the storage role of orders-team"),
        "{note}"
    );
    // an unknown domain lists the known ones
    let out = run(&["domain", "storage-policy", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("unknown domain 'nope'; known domains: orders")
    );
}

/// Blind appends to the audit log from two writers at once on S3 (conditional PUTs).
#[tokio::test(flavor = "multi_thread")]
async fn blind_audit_appends_from_two_writers_on_s3() {
    let location = WarehouseLocation::parse(&s3_warehouse("blind"))
        .unwrap()
        .with_options(s3().env());
    super::warehouse::blind_appends_from_two_writers(location).await;
}
