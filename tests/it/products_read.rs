//! A new process reads `meta.products` file by file: the products' names when it opens the
//! catalog, a file's other columns when one of its products is first used (or, for an impact
//! analysis, the files of every product it reached, side by side). Whichever file holds a
//! product and however many commits wrote the table, every product reads as it was written.

use std::collections::BTreeMap;
use std::sync::Arc;

use lakemeta::catalog::{Catalog, ChangeSummary, DomainChange, ProductChange};
use lakemeta::model::{Column, DataProduct, Domain, Principal};
use lakemeta::sql::{Session, SessionOptions};
use lakemeta::storage::{Warehouse, WarehouseLocation};

async fn open(root: &str) -> Arc<Catalog> {
    let wh = Warehouse::open(WarehouseLocation::parse(root).unwrap())
        .await
        .unwrap();
    Arc::new(Catalog::open(Arc::new(wh)).await.unwrap())
}

fn product(domain: &str, i: usize) -> DataProduct {
    DataProduct {
        domain: domain.into(),
        name: format!("p{i:02}"),
        kind: "external".into(),
        location: format!("file:///lake/{domain}/p{i:02}/"),
        format: "delta".into(),
        owner: format!("team_{domain}_{}", i % 3),
        description: format!("product {i} of {domain}"),
        tags: if i.is_multiple_of(4) {
            vec!["pii".into()]
        } else {
            vec![]
        },
        sla_freshness_minutes: Some(i as i64 + 1),
        columns: (0..3)
            .map(|n| Column {
                name: format!("c{n}_{i}"),
                data_type: "string".into(),
                nullable: n > 0,
                ordinal: n,
                ..Column::default()
            })
            .collect(),
        ..DataProduct::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_process_reads_every_product_as_written_from_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let writer = open(root).await;
    let who = Principal::new("tester");
    // one commit per domain: meta.products holds a file per domain
    for d in ["a", "b", "c", "d"] {
        writer
            .commit(
                &ChangeSummary {
                    domains: vec![DomainChange::Create(Domain::new(d, format!("team_{d}")))],
                    products: (0..30)
                        .map(|i| ProductChange::Create(product(d, i)))
                        .collect(),
                    ..Default::default()
                },
                &who,
            )
            .await
            .unwrap();
    }
    // a change rewrites the rows of its product
    let before = product("b", 7);
    let mut after = before.clone();
    after.owner = "new_owner".into();
    after.description = "changed".into();
    writer
        .commit(
            &ChangeSummary {
                products: vec![ProductChange::Update { before, after }],
                ..Default::default()
            },
            &who,
        )
        .await
        .unwrap();
    // a chain through every domain: a.pNN -> b.pNN -> c.pNN -> d.pNN
    let mut edges = Vec::new();
    for i in 0..30 {
        for (s, t) in [("a", "b"), ("b", "c"), ("c", "d")] {
            edges.push(crate::declared_edge(
                &format!("{s}.p{i:02}"),
                &format!("{t}.p{i:02}"),
            ));
        }
    }
    writer.record_lineage(&edges).await.unwrap();
    let written: Vec<DataProduct> = writer
        .state()
        .products
        .values()
        .map(|p| DataProduct::clone(p))
        .collect();
    assert_eq!(written.len(), 120);
    let files = std::fs::read_dir(dir.path().join("_meta").join("products"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "parquet")
        })
        .count();
    assert!(files >= 4, "meta.products holds {files} files");

    // a new process: an impact analysis first (the files of the reached products decoded
    // together), then every product one by one
    let cold = open(root).await;
    let session = Session::with_catalog(
        Arc::clone(&cold),
        SessionOptions::new(Principal::new("tester")),
    )
    .await
    .unwrap();
    let out = session
        .sql("SELECT product, owner, sla_freshness_minutes FROM impact_analysis('a.p07', 5)")
        .await
        .unwrap()
        .pop()
        .unwrap();
    let mut got = BTreeMap::new();
    for b in &out.batches {
        for row in 0..b.num_rows() {
            let cell = |c: usize| arrow::util::display::array_value_to_string(b.column(c), row);
            got.insert(cell(0).unwrap(), (cell(1).unwrap(), cell(2).unwrap()));
        }
    }
    let want: BTreeMap<String, (String, String)> = ["b.p07", "c.p07", "d.p07"]
        .into_iter()
        .map(|n| {
            let p = written
                .iter()
                .find(|p| p.qualified_name().to_string() == n)
                .unwrap();
            let sla = p.sla_freshness_minutes.unwrap().to_string();
            (n.to_string(), (p.owner.clone(), sla))
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(got["b.p07"].0, "new_owner");

    let state = cold.state();
    assert_eq!(state.products.len(), written.len());
    for p in &written {
        assert_eq!(**state.products[&p.qualified_name()], *p, "{}", p.name);
    }
}
