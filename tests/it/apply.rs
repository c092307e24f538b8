use std::path::Path;

use lakemeta::contracts::{apply_specs, load_path, plan_specs};
use lakemeta::storage::SystemTableKind;

const MESH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mesh");

#[tokio::test]
async fn applying_the_mesh_twice_changes_nothing_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let s = super::session(dir.path().to_str().unwrap()).await;
    let specs = load_path(Path::new(MESH)).unwrap();
    let first = apply_specs(s.catalog(), &specs, &s.state(), s.principal())
        .await
        .unwrap();
    assert_eq!(first.changes.domains.len(), 3);
    assert_eq!(first.changes.products.len(), 9);
    let versions: Vec<u64> = {
        let mut v = Vec::new();
        for k in SystemTableKind::ALL {
            v.push(s.warehouse().table(k).version().await);
        }
        v
    };
    let second = apply_specs(s.catalog(), &specs, &s.state(), s.principal())
        .await
        .unwrap();
    assert!(second.changes.is_empty());
    assert!(!second.committed);
    assert_eq!(second.lines(), vec!["no changes".to_string()]);
    for (k, before) in SystemTableKind::ALL.iter().zip(versions) {
        assert_eq!(
            s.warehouse().table(*k).version().await,
            before,
            "{k:?} got a commit"
        );
    }
    assert_eq!(
        super::scalar(
            &s,
            "SELECT contract_version FROM meta.products WHERE name = 'orders_fact'"
        )
        .await,
        "1.0.0"
    );
    assert_eq!(
        super::scalar(&s, "SELECT count(*) FROM meta.contracts").await,
        "9"
    );
    assert_eq!(
        super::scalar(
            &s,
            "SELECT sla_freshness_minutes FROM meta.products WHERE name = 'orders_fact'"
        )
        .await,
        "15"
    );
}

#[tokio::test]
async fn dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = super::session(dir.path().to_str().unwrap()).await;
    let specs = load_path(Path::new(MESH)).unwrap();
    let plan = plan_specs(s.catalog(), &specs, &s.state()).await.unwrap();
    assert_eq!(plan.changes.products.len(), 9);
    assert_eq!(
        super::scalar(&s, "SELECT count(*) FROM meta.products").await,
        "0"
    );
    assert!(!dir.path().join("orders").exists());
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[tokio::test]
async fn bad_specs_name_file_line_and_field_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = super::session(dir.path().join("wh").to_str().unwrap()).await;
    let specs_dir = dir.path().join("specs");
    std::fs::create_dir(&specs_dir).unwrap();
    write(
        &specs_dir,
        "a_domain.yaml",
        "apiVersion: lakemeta/v1\nkind: Domain\nname: shop\nowner: team\n",
    );
    let contract = std::fs::read_to_string(Path::new(MESH).join("contracts/orders_fact.yaml"))
        .unwrap()
        .replace("physicalType: decimal(12,2)", "physicalType: money");
    let f = write(&specs_dir, "b_contract.yaml", &contract);
    let err = load_path(&specs_dir).unwrap_err().to_string();
    let line = contract.lines().position(|l| l.contains("money")).unwrap() + 1;
    assert!(
        err.starts_with(&format!(
            "{}:{line}: schema[0].properties[2].physicalType: unknown type 'money'",
            f.display()
        )),
        "{err}"
    );

    write(
        &specs_dir,
        "b_contract.yaml",
        "apiVersion: v3.0.2\nkind: DataContract\nid: x\nversion: [1\n",
    );
    let err = load_path(&specs_dir).unwrap_err().to_string();
    assert!(
        err.contains("b_contract.yaml:5: (document): did not find expected"),
        "{err}"
    );

    // unknown domain: nothing of the apply is written, not even the valid domain spec
    let unknown =
        std::fs::read_to_string(Path::new(MESH).join("contracts/orders_fact.yaml")).unwrap();
    write(&specs_dir, "b_contract.yaml", &unknown);
    let specs = load_path(&specs_dir).unwrap();
    let err = apply_specs(s.catalog(), &specs, &s.state(), s.principal())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("domain: unknown domain 'orders'"), "{err}");
    assert_eq!(
        super::scalar(&s, "SELECT count(*) FROM meta.domains").await,
        "0"
    );
}

#[tokio::test]
async fn a_contract_that_does_not_match_its_table_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = super::session(dir.path().join("wh").to_str().unwrap()).await;
    s.sql(
        "CREATE DOMAIN orders OWNER 'checkout-team'; \
           CREATE TABLE orders.orders_fact AS SELECT 'o1' AS order_id",
    )
    .await
    .unwrap();
    let specs = load_path(&Path::new(MESH).join("contracts/orders_fact.yaml")).unwrap();
    let err = apply_specs(s.catalog(), &specs, &s.state(), s.principal())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the contract does not match the table"),
        "{err}"
    );
    assert!(
        err.contains("column 'user_id' (string) is in the contract but not in the table"),
        "{err}"
    );
    assert_eq!(
        super::scalar(&s, "SELECT contract_version FROM meta.products").await,
        ""
    );
}
