//! Writes to the catalog cost the change, not the table: a new product appends one small file,
//! a changed or removed one rewrites only the file that holds it, and the snapshot a commit
//! works out in memory is the one a new process reads from disk. Compacting a system table
//! sorts it by key into few files and keeps every row, and commits merge the small files they
//! leave before there are many.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lakemeta::catalog::{Catalog, ChangeSummary, DomainChange, ProductChange};
use lakemeta::model::{DataProduct, Domain, Principal, ProductName};
use lakemeta::storage::{Warehouse, WarehouseLocation};

use super::scalar;

/// The data files of a Delta table with their sizes (not its log).
fn data_files(table: &Path) -> BTreeMap<PathBuf, u64> {
    std::fs::read_dir(table)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().extension().is_some_and(|x| x == "parquet"))
        .map(|e| (e.path(), e.metadata().unwrap().len()))
        .collect()
}

/// A product whose description does not compress, so that a few thousand of them fill several
/// files.
fn product(i: usize) -> DataProduct {
    use sha2::{Digest, Sha256};
    let noise: String = (0..6)
        .map(|k| {
            Sha256::digest(format!("{i}-{k}").as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        })
        .collect();
    DataProduct {
        domain: "shop".into(),
        name: format!("p{i:05}"),
        location: format!("file:///lake/shop/p{i:05}/"),
        kind: "managed".into(),
        format: "delta".into(),
        owner: "team-shop".into(),
        description: noise,
        ..DataProduct::default()
    }
}

async fn open(root: &str) -> Catalog {
    let wh = Warehouse::open(WarehouseLocation::parse(root).unwrap())
        .await
        .unwrap();
    Catalog::open(Arc::new(wh)).await.unwrap()
}

async fn commit(catalog: &Catalog, products: Vec<ProductChange>) {
    let changes = ChangeSummary {
        products,
        ..Default::default()
    };
    catalog
        .commit(&changes, &Principal::new("alice"))
        .await
        .unwrap();
}

fn domain() -> ChangeSummary {
    ChangeSummary {
        domains: vec![DomainChange::Create(Domain::new("shop", "team-shop"))],
        ..Default::default()
    }
}

/// A query's answer as a table of text.
async fn text(s: &lakemeta::sql::Session, sql: &str) -> String {
    let out = s.sql(sql).await.unwrap().pop().unwrap();
    arrow::util::pretty::pretty_format_batches(&out.batches)
        .unwrap()
        .to_string()
}

/// `OPTIMIZE meta.products`: the files it replaced.
async fn optimize(s: &lakemeta::sql::Session) -> u64 {
    let out = s
        .sql("OPTIMIZE meta.products")
        .await
        .unwrap()
        .pop()
        .unwrap();
    let b = &out.batches[0];
    let removed = b.column(b.schema().index_of("files_removed").unwrap());
    arrow::util::display::array_value_to_string(removed, 0)
        .unwrap()
        .parse()
        .unwrap()
}

/// A new warehouse with domain `shop`: its directory (kept while it lives), root and catalog.
async fn shop() -> (tempfile::TempDir, String, Catalog) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("wh").to_string_lossy().into_owned();
    let catalog = open(&root).await;
    catalog
        .commit(&domain(), &Principal::new("alice"))
        .await
        .unwrap();
    (dir, root, catalog)
}

#[tokio::test]
async fn a_change_to_one_product_rewrites_only_the_file_that_holds_it() {
    let (_dir, root, catalog) = shop().await;
    const N: usize = 8000;
    commit(
        &catalog,
        (0..N).map(|i| ProductChange::Create(product(i))).collect(),
    )
    .await;
    let table = Path::new(&root).join("_meta/products");
    let bulk = data_files(&table);
    let total: u64 = bulk.values().sum();
    assert!(
        bulk.len() >= 3,
        "{N} products should fill several files of the system tables' size, got {bulk:?}"
    );

    // a changed product: one file rewritten, the others untouched
    let name = ProductName::new("shop", "p01234");
    let before = catalog.state().product(&name).unwrap().clone();
    let mut after = before.clone();
    after.description = "changed".into();
    commit(&catalog, vec![ProductChange::Update { before, after }]).await;
    let now = data_files(&table);
    let written: Vec<u64> = now
        .iter()
        .filter(|(p, _)| !bulk.contains_key(*p))
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(written.len(), 1, "one file rewritten: {written:?}");
    assert!(
        written[0] * 2 < total,
        "the change wrote {} bytes of a {total}-byte table",
        written[0]
    );

    // a new product: one small file appended
    let seen = data_files(&table);
    commit(&catalog, vec![ProductChange::Create(product(N))]).await;
    let appended: Vec<u64> = data_files(&table)
        .iter()
        .filter(|(p, _)| !seen.contains_key(*p))
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(appended.len(), 1);
    assert!(appended[0] < 20_000, "{appended:?}");

    // a removed product
    let gone = catalog
        .state()
        .product(&ProductName::new("shop", "p00007"))
        .unwrap()
        .clone();
    commit(&catalog, vec![ProductChange::Delete(gone)]).await;

    // the snapshot worked out after each commit is what a new process reads
    let fresh = open(&root).await;
    assert_eq!(*catalog.state().products, *fresh.state().products);
    let mine = catalog.state();
    assert_eq!(mine.products.len(), N);
    assert_eq!(mine.product(&name).unwrap().description, "changed");
    assert!(mine.product(&ProductName::new("shop", "p00007")).is_err());

    // a stale change is still refused: the row moved on since `before` was read
    let stale = product(1234);
    let err = fresh
        .commit(
            &ChangeSummary {
                products: vec![ProductChange::Update {
                    before: stale.clone(),
                    after: stale,
                }],
                ..Default::default()
            },
            &Principal::new("alice"),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("shop.p01234"), "{err}");
}

#[tokio::test]
async fn compacting_the_catalog_sorts_it_into_few_files_and_keeps_every_row() {
    let (_dir, root, catalog) = shop().await;
    // one product per commit, in an order that is not the key's
    for i in (0..30).rev() {
        commit(&catalog, vec![ProductChange::Create(product(i))]).await;
    }
    let table = Path::new(&root).join("_meta/products");
    assert_eq!(data_files(&table).len(), 30);
    let s = super::session_as(&root, "alice").await;
    let everything = "SELECT name, description FROM meta.products ORDER BY name";
    let rows_before = text(&s, everything).await;

    assert_eq!(optimize(&s).await, 30);
    assert_eq!(scalar(&s, "SELECT count(*) FROM meta.products").await, "30");
    assert_eq!(text(&s, everything).await, rows_before);
    // sorted by key: read back in file order, the names come in order
    let fresh = open(&root).await;
    let names: Vec<String> = fresh
        .warehouse()
        .table(lakemeta::storage::SystemTableKind::Products)
        .read_rows::<DataProduct>()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    // nothing left to compact: a second run commits nothing
    assert_eq!(optimize(&s).await, 0);

    // many more changes: the commits themselves merge the small files they leave
    for i in 100..170 {
        commit(&catalog, vec![ProductChange::Create(product(i))]).await;
    }
    let removed = optimize(&s).await;
    assert!(removed < 40, "70 commits left {removed} files");
    assert_eq!(
        scalar(&s, "SELECT count(*) FROM meta.products").await,
        "100"
    );
    let fresh = open(&root).await;
    assert_eq!(fresh.state().products.len(), 100);
}

/// The lineage graph is read when a statement first walks it, not when the catalog opens — and
/// then at the version of the snapshot that walks it: a snapshot taken before another
/// process's commit still answers with the edges of its own version after this process caught
/// up with that commit.
#[tokio::test]
async fn a_snapshot_first_walked_after_a_newer_commit_reads_the_lineage_of_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("wh").to_string_lossy().into_owned();
    let edge = crate::declared_edge;
    let writer = open(&root).await;
    assert_eq!(
        writer.record_lineage(&[edge("x.a", "x.b")]).await.unwrap(),
        1
    );

    let reader = open(&root).await;
    let before = reader.state();
    assert_eq!(
        writer.record_lineage(&[edge("x.b", "x.c")]).await.unwrap(),
        1
    );
    assert!(
        reader.refresh().await.unwrap(),
        "the reader saw the new commit"
    );
    let now = reader.state();

    let targets = |g: &lakemeta::lineage::LineageGraph| {
        let mut t: Vec<String> = g.edges().iter().map(|e| e.target.clone()).collect();
        t.sort();
        t
    };
    assert_eq!(targets(&before.lineage().await.unwrap()), ["x.b"]);
    assert_eq!(targets(&now.lineage().await.unwrap()), ["x.b", "x.c"]);
    // the snapshot keeps what it read: walked again, it answers the same
    assert_eq!(targets(&before.lineage().await.unwrap()), ["x.b"]);
}

/// A new product is appended as the next version without the writer reading the table back,
/// and two processes appending at once each land once: the one that finds its version taken
/// reads what the other wrote and commits after it, and a product the other created first is
/// a conflict, not a second row. The appends leave readers a checkpoint as ordinary commits do,
/// and the writer itself, a reader of a past version and a new process all see every product
/// once.
#[tokio::test]
async fn appends_of_two_processes_each_land_once_and_readers_see_them() {
    let (_dir, root, a) = shop().await;
    let b = open(&root).await;
    let products = |c: &Catalog| {
        let mut names: Vec<String> = c.state().products.keys().map(|n| n.to_string()).collect();
        names.sort();
        names
    };
    let start = a
        .warehouse()
        .table(lakemeta::storage::SystemTableKind::Products);
    let before = start.version().await;

    commit(&a, vec![ProductChange::Create(product(1))]).await;
    assert_eq!(start.version().await, before + 1);
    // the table's own rows catch up with the append when they are read
    let rows = start.read_rows::<DataProduct>().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].name, "p00001");
    // b still holds the version before: its append finds that version taken
    commit(&b, vec![ProductChange::Create(product(2))]).await;
    assert_eq!(products(&b), ["shop.p00001", "shop.p00002"]);
    let again = ChangeSummary {
        products: vec![ProductChange::Create(product(1))],
        ..Default::default()
    };
    let err = b
        .commit(&again, &Principal::new("alice"))
        .await
        .expect_err("a product another process created first");
    assert!(err.to_string().contains("p00001"), "{err}");
    // a, behind b now, appends again
    commit(&a, vec![ProductChange::Create(product(3))]).await;
    assert_eq!(products(&a), ["shop.p00001", "shop.p00002", "shop.p00003"]);

    // enough appends for a merge of the small files they leave: the merge keeps every row
    for i in 10..45 {
        commit(&a, vec![ProductChange::Create(product(i))]).await;
    }
    let log = Path::new(&root).join("_meta/products/_delta_log");
    let merges = std::fs::read_dir(&log)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| {
            let commit = std::fs::read_to_string(p).unwrap();
            commit.contains(r#""operation":"OPTIMIZE""#) && commit.contains(r#""remove""#)
        })
        .count();
    assert_eq!(
        merges,
        1,
        "one merge of the small files in {}",
        log.display()
    );
    let s = super::session_as(&root, "alice").await;
    assert_eq!(scalar(&s, "SELECT count(*) FROM meta.products").await, "38");
    let doubled = "SELECT count(*) - count(DISTINCT name) FROM meta.products";
    assert_eq!(scalar(&s, doubled).await, "0");
    let past = format!(
        "SELECT count(*) FROM meta.products VERSION AS OF {}",
        before + 1
    );
    assert_eq!(scalar(&s, &past).await, "1");
    let fresh = open(&root).await;
    assert_eq!(products(&fresh), products(&a));
    assert_eq!(fresh.state().products.len(), 38);
    let rows = fresh
        .warehouse()
        .table(lakemeta::storage::SystemTableKind::Products)
        .read_rows::<DataProduct>()
        .await
        .unwrap();
    assert_eq!(rows.len(), 38);

    // a merge 100 versions after the last checkpoint leaves readers a new one to start from
    let checkpoints = || {
        std::fs::read_dir(&log)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains(".checkpoint.")
            })
            .count()
    };
    let before = checkpoints();
    for i in 100..200 {
        commit(&a, vec![ProductChange::Create(product(i))]).await;
    }
    assert!(
        checkpoints() > before,
        "no new checkpoint in {}",
        log.display()
    );
    let fresh = open(&root).await;
    assert_eq!(fresh.state().products.len(), 138);
    assert_eq!(products(&fresh), products(&a));
}

/// Contract versions are appended as products change, each checked against the contract history
/// as this process last wrote it (merged files and appended ones alike): a version the history
/// already holds is not recorded again, a new one is, and a new process reads the same history.
#[tokio::test]
async fn a_contract_version_is_recorded_once_whichever_file_holds_it() {
    let (_dir, root, catalog) = shop().await;
    let with_contract = |i: usize, version: &str| DataProduct {
        contract_version: version.into(),
        contract_spec: format!("apiVersion: v3.0.2\nid: p{i:05}\nversion: {version}\n"),
        ..product(i)
    };
    // one commit each: the first 32 contract rows are merged into one file, the rest stay small
    for i in 0..40 {
        commit(
            &catalog,
            vec![ProductChange::Create(with_contract(i, "1.0.0"))],
        )
        .await;
    }
    let again = |i: usize, version: &str| {
        let name = ProductName::new("shop", format!("p{i:05}"));
        (
            catalog.state().product(&name).unwrap().clone(),
            with_contract(i, version),
        )
    };
    // removed and registered again with the same contract: one merged row, one appended
    for i in [3, 39] {
        let (before, after) = again(i, "1.0.0");
        commit(&catalog, vec![ProductChange::Delete(before)]).await;
        commit(&catalog, vec![ProductChange::Create(after)]).await;
    }
    // a new version of each is recorded
    for i in [3, 39] {
        let (before, after) = again(i, "2.0.0");
        commit(&catalog, vec![ProductChange::Update { before, after }]).await;
    }
    drop(catalog);
    let s = super::session(&root).await;
    assert_eq!(
        scalar(&s, "SELECT count(*) FROM meta.contracts").await,
        "42"
    );
    for p in ["shop.p00003", "shop.p00039"] {
        assert_eq!(
            text(
                &s,
                &format!(
                    "SELECT version FROM meta.contracts WHERE product = '{p}' ORDER BY version"
                )
            )
            .await,
            "+---------+\n| version |\n+---------+\n| 1.0.0   |\n| 2.0.0   |\n+---------+",
            "{p}"
        );
    }
}
