use std::collections::BTreeSet;

/// Eight processes each make fifty commits to the same system table at once (every one a
/// keyed upsert of `meta.domains`); all succeed, and nothing is lost or duplicated.
#[test]
fn eight_processes_fifty_commits_each() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let init = super::bin()
        .args(["-w", wh.to_str().unwrap(), "init"])
        .output()
        .unwrap();
    assert!(init.status.success());
    let children: Vec<_> = (0..8)
        .map(|p| {
            let script: String = (0..50)
                .map(|i| format!("CREATE DOMAIN d_{p}_{i} OWNER 'team{p}';\n"))
                .collect();
            let file = dir.path().join(format!("p{p}.sql"));
            std::fs::write(&file, script).unwrap();
            super::bin()
                .args([
                    "-w",
                    wh.to_str().unwrap(),
                    "sql",
                    "-f",
                    file.to_str().unwrap(),
                ])
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
        .args([
            "-w",
            wh.to_str().unwrap(),
            "sql",
            "--format",
            "csv",
            "-c",
            "SELECT name FROM meta.domains",
        ])
        .output()
        .unwrap();
    let names: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect();
    let unique: BTreeSet<_> = names.iter().cloned().collect();
    assert_eq!(names.len(), 400, "every commit landed exactly once");
    assert_eq!(unique.len(), 400);
}

/// Two writers editing the same row: the second ends in a conflict naming it.
#[tokio::test]
async fn a_true_conflict_names_the_row() {
    use lakemeta::catalog::{ChangeSummary, DomainChange};
    let dir = tempfile::tempdir().unwrap();
    let loc = dir.path().to_str().unwrap();
    let a = super::session(loc).await;
    let b = super::session(loc).await;
    a.sql("CREATE DOMAIN orders OWNER 'one'").await.unwrap();
    b.catalog().refresh().await.unwrap();
    let seen = b.catalog().state().domains["orders"].clone();
    // a changes the row after b read it
    let mut first = seen.clone();
    first.owner_team = "two".into();
    a.catalog()
        .commit(
            &ChangeSummary {
                domains: vec![DomainChange::Update {
                    before: seen.clone(),
                    after: first,
                }],
                ..Default::default()
            },
            a.principal(),
        )
        .await
        .unwrap();
    let mut second = seen.clone();
    second.owner_team = "three".into();
    let err = b
        .catalog()
        .commit(
            &ChangeSummary {
                domains: vec![DomainChange::Update {
                    before: seen,
                    after: second,
                }],
                ..Default::default()
            },
            b.principal(),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("conflict: domains row 'orders' was changed by another writer"),
        "{err}"
    );
    assert_eq!(
        super::scalar(&b, "SELECT owner_team FROM meta.domains").await,
        "two"
    );
}

/// Two `apply`s of the same specs at once: each ends in success or in a one-line conflict
/// error, the warehouse holds the whole mesh once, and applying again changes nothing.
#[test]
fn two_applies_at_once() {
    let mesh = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mesh");
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let wh = wh.to_str().unwrap();
    assert!(
        super::bin()
            .args(["-w", wh, "init"])
            .status()
            .unwrap()
            .success()
    );
    let children: Vec<_> = (0..2)
        .map(|_| {
            super::bin()
                .args(["-w", wh, "apply", mesh])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || stderr.contains("was changed by another writer"),
            "{stderr}"
        );
        assert!(stderr.lines().count() <= 1, "{stderr}");
    }
    let again = super::bin()
        .args(["-w", wh, "apply", mesh])
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&again.stdout), "no changes\n");
    let out = super::bin()
        .args(["-w", wh, "sql", "--format", "csv", "-c"])
        .arg("SELECT (SELECT count(*) FROM meta.domains) AS d, (SELECT count(*) FROM meta.products) AS p, (SELECT count(*) FROM meta.contracts) AS c")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "d,p,c\n3,9,9\n");
}

/// Two writers that both saw the graph without an edge record it: the second finds the table
/// moved, replaces by key instead of appending, and the edge is there once. Removing edges the
/// other writer removed first is no error.
#[tokio::test]
async fn two_writers_record_the_same_edge_once() {
    use lakemeta::model::{LineageEdge, edge_kind};
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().to_str().unwrap();
    let a = super::session(wh).await;
    let b = super::session(wh).await;
    let edge = |source: &str, target: &str| LineageEdge {
        source: source.into(),
        target: target.into(),
        source_column: Some("id".into()),
        target_column: None,
        kind: edge_kind::DECLARED.into(),
        statement: None,
        created_at: 0,
        created_by: "tester".into(),
    };
    let both = [edge("x.a", "x.b"), edge("x.b", "x.c")];
    assert_eq!(a.catalog().record_lineage(&both[..1]).await.unwrap(), 1);
    // b has not seen a's commit: both edges look new to it
    assert_eq!(b.catalog().record_lineage(&both).await.unwrap(), 2);
    assert_eq!(
        super::scalar(&a, "SELECT count(*) FROM meta.lineage").await,
        "2"
    );
    assert_eq!(
        super::scalar(
            &b,
            "SELECT count(*) FROM meta.lineage WHERE source = 'x.a' AND target = 'x.b'"
        )
        .await,
        "1"
    );
    a.catalog().remove_lineage(&both[..1]).await.unwrap();
    b.catalog().remove_lineage(&both).await.unwrap();
    assert_eq!(
        super::scalar(&a, "SELECT count(*) FROM meta.lineage").await,
        "0"
    );
    assert_eq!(
        a.catalog().state().lineage().await.unwrap().edges().len(),
        0
    );
}
