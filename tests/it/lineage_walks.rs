//! A process's first walk of the lineage graph reads only the edges it follows: hop by hop,
//! the files of `meta.lineage` that can hold the edges out of the products reached so far. It
//! finds what a walk of the whole graph finds, in every direction and at column level, and it
//! does not touch a file of edges it never follows (here: one removed from the disk); nor does
//! recording new edges.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lakemeta::catalog::Catalog;
use lakemeta::lineage::{Direction, Reached};
use lakemeta::model::{LineageEdge, edge_kind};
use lakemeta::storage::{Warehouse, WarehouseLocation};

async fn open(root: &str) -> Catalog {
    let wh = Warehouse::open(WarehouseLocation::parse(root).unwrap())
        .await
        .unwrap();
    Catalog::open(Arc::new(wh)).await.unwrap()
}

fn edge(source: &str, target: &str, columns: Option<(&str, &str)>) -> LineageEdge {
    LineageEdge {
        source: source.into(),
        target: target.into(),
        source_column: columns.map(|c| c.0.to_string()),
        target_column: columns.map(|c| c.1.to_string()),
        kind: edge_kind::DECLARED.into(),
        statement: None,
        created_at: 0,
        created_by: "tester".into(),
    }
}

/// The edges out of the products of domain `d` (layer `l` of a-b-c-d, or the separate chain
/// of e): each product reads two of the layer before, one of them column by column.
fn edges_out_of(d: char) -> Vec<LineageEdge> {
    let next = match d {
        'a' => 'b',
        'b' => 'c',
        'c' => 'd',
        'e' => 'e',
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    for i in 0..40 {
        let s = format!("{d}.p{i:02}");
        let t = |k: usize| format!("{next}.p{:02}", (i + k) % 40);
        if d == 'e' {
            if i < 39 {
                out.push(edge(&s, &t(1), None));
            }
            continue;
        }
        out.push(edge(&s, &t(0), None));
        out.push(edge(&s, &t(0), Some(("id", "id"))));
        out.push(edge(&s, &t(0), Some(("amount", "total"))));
        out.push(edge(&s, &t(7), None));
    }
    out
}

/// What a walk reached, comparable across walks: product, column and depth.
fn reached(r: &[Reached]) -> BTreeSet<(String, Option<String>, u32)> {
    r.iter()
        .map(|x| (x.product.clone(), x.column.clone(), x.depth))
        .collect()
}

/// The data file of `meta.lineage` whose edges go out of domain `d`.
fn file_of(root: &str, d: char) -> PathBuf {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let dir = Path::new(root).join("_meta").join("lineage");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .filter(|p| {
            let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(p).unwrap())
                .unwrap()
                .build()
                .unwrap();
            reader.map(|b| b.unwrap()).any(|b| {
                let source = b.column(b.schema().index_of("source").unwrap()).clone();
                let source =
                    arrow::compute::cast(&source, &arrow::datatypes::DataType::Utf8).unwrap();
                use arrow::array::{Array, AsArray};
                let source = source.as_string::<i32>();
                (0..source.len()).any(|i| source.value(i).starts_with(&format!("{d}.")))
            })
        })
        .collect();
    assert_eq!(
        files.len(),
        1,
        "one file holds the edges out of {d}: {files:?}"
    );
    files.into_iter().next().unwrap()
}

#[tokio::test]
async fn a_first_walk_reads_only_the_edges_it_follows_and_finds_what_the_whole_graph_finds() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("wh").to_string_lossy().into_owned();
    let writer = open(&root).await;
    // one commit per domain: each file of the table holds the edges out of one domain
    for d in ['e', 'c', 'a', 'b'] {
        let edges = edges_out_of(d);
        assert_eq!(writer.record_lineage(&edges).await.unwrap(), edges.len());
    }
    let whole = open(&root).await.state().lineage().await.unwrap();
    let walks: Vec<(&str, Option<&str>, Direction, Option<u32>)> = vec![
        ("a.p00", None, Direction::Downstream, None),
        ("a.p03", None, Direction::Downstream, Some(2)),
        ("b.p10", None, Direction::Downstream, Some(0)),
        ("a.p05", Some("amount"), Direction::Downstream, None),
        ("a.p05", Some("id"), Direction::Downstream, Some(1)),
        ("d.p20", None, Direction::Upstream, None),
        ("d.p20", Some("total"), Direction::Upstream, Some(2)),
        ("e.p00", None, Direction::Downstream, None),
        ("x.nowhere", None, Direction::Downstream, None),
    ];
    for (product, column, direction, depth) in &walks {
        let expected = match column {
            None => whole.walk(product, *direction, *depth),
            Some(c) => whole.walk_column(product, c, *direction, *depth),
        };
        // a new process: its first walk reads hop by hop
        let first = open(&root)
            .await
            .state()
            .walk(product, *column, *direction, *depth)
            .await
            .unwrap();
        assert_eq!(
            reached(&first),
            reached(&expected),
            "{direction} from {product} {column:?} within {depth:?}"
        );
        assert!(
            first.iter().all(|r| r.path.len() == r.depth as usize + 1),
            "every path has a node per hop: {first:?}"
        );
    }
    assert_eq!(
        whole.walk("e.p00", Direction::Downstream, None).len(),
        39,
        "the chain of e is walked to its end"
    );

    // the edges out of e are never followed from a: without their file, a first walk from a
    // still answers, while reading the whole graph fails
    std::fs::remove_file(file_of(&root, 'e')).unwrap();
    let fresh = open(&root).await.state();
    let first = fresh
        .walk("a.p00", None, Direction::Downstream, None)
        .await
        .unwrap();
    assert_eq!(
        reached(&first),
        reached(&whole.walk("a.p00", Direction::Downstream, None))
    );
    assert!(
        first
            .iter()
            .any(|r| r.product.starts_with("d.") && r.depth == 3),
        "the walk went through b and c to d: {first:?}"
    );
    let again = fresh.walk("a.p00", None, Direction::Downstream, None).await;
    assert!(
        again.is_err(),
        "a second walk on the snapshot reads the whole graph, which now lacks a file"
    );
    assert!(open(&root).await.state().lineage().await.is_err());

    // recording edges out of a reads only the files that can hold edges out of a: an edge
    // that is there already is found there, a new one is added
    let recorder = open(&root).await;
    let known = edges_out_of('a').remove(0);
    assert_eq!(recorder.record_lineage(&[known]).await.unwrap(), 0);
    let new = edge("a.p00", "d.p39", None);
    assert_eq!(recorder.record_lineage(&[new]).await.unwrap(), 1);
    let first = open(&root)
        .await
        .state()
        .walk("a.p00", None, Direction::Downstream, Some(1))
        .await
        .unwrap();
    assert!(
        first.iter().any(|r| r.product == "d.p39" && r.depth == 1),
        "{first:?}"
    );
}
