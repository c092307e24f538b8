//! Recording and removing lineage edges in `meta.lineage`.
//!
//! Edges are written by key in place: a change rewrites only the files that hold the edges it
//! touches, and the in-memory graph is updated from the change itself when no other writer
//! committed in between, so a million-edge graph is not read again after every statement.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType, TimeUnit};

use crate::error::Result;
use crate::lineage::LineageGraph;
use crate::model::{LineageEdge, edge_kind};
use crate::storage::SystemTableKind;

use super::{Catalog, CatalogState};

impl Catalog {
    /// Records edges in one commit; an edge that is there already is left as it is. Returns how
    /// many were new.
    pub async fn record_lineage(&self, edges: &[LineageEdge]) -> Result<usize> {
        let state = self.state();
        let near = state.graph_near(&sources_of(edges), &[]).await?;
        let new = absent_edges(&near, edges);
        self.change_lineage(&state, &[], &new).await?;
        Ok(new.len())
    }

    /// Records the edges a statement writing `target` was seen to make. With `replace` (the
    /// product was created or replaced) the captured edges into `target` that `edges` does not
    /// repeat are removed in the same commit: they described its old definition.
    pub async fn record_captured(
        &self,
        target: &str,
        edges: &[LineageEdge],
        replace: bool,
    ) -> Result<()> {
        let state = self.state();
        let graph = state
            .graph_near(&sources_of(edges), &[target.to_string()])
            .await?;
        let remove = if replace {
            stale_edges_into(&graph, target, edges, |e| e.kind == edge_kind::CAPTURED)
        } else {
            Vec::new()
        };
        let add = absent_edges(&graph, edges);
        self.change_lineage(&state, &remove, &add).await
    }

    /// Removes these recorded edges (as read from the catalog) in one commit; an edge that
    /// another writer removed meanwhile is no error.
    pub async fn remove_lineage(&self, edges: &[LineageEdge]) -> Result<()> {
        self.change_lineage(&self.state(), edges, &[]).await
    }

    /// Removes every edge into or out of these products (dropped ones: the graph describes
    /// what is there).
    pub async fn remove_lineage_of(&self, products: &[String]) -> Result<()> {
        let state = self.state();
        let graph = state.graph_near(products, products).await?;
        let mut seen = HashSet::new();
        let edges: Vec<LineageEdge> = products
            .iter()
            .flat_map(|p| graph.edges_of(p))
            .filter(|e| seen.insert(e.identity()))
            .cloned()
            .collect();
        self.change_lineage(&state, &edges, &[]).await
    }

    /// In one commit: removes `remove` and records `add`, which the caller found absent from
    /// the graph of `seen`. Nothing is committed when both are empty.
    pub async fn change_lineage(
        &self,
        seen: &CatalogState,
        remove: &[LineageEdge],
        add: &[LineageEdge],
    ) -> Result<()> {
        if remove.is_empty() && add.is_empty() {
            return Ok(());
        }
        let _writing = self.begin_write();
        let before = seen;
        let version = self
            .warehouse()
            .table(SystemTableKind::Lineage)
            .replace_by_key(
                remove,
                add,
                before.versions.get(&SystemTableKind::Lineage).copied(),
            )
            .await?;
        // nobody else committed in between: the new graph is the old one changed (when the old
        // one was read at all; if not, the next walk reads the table)
        if let Some(v) = version
            && before
                .versions
                .get(&SystemTableKind::Lineage)
                .map(|b| b + 1)
                == Some(v)
            && let Some(graph) = before.lineage_if_read()
        {
            self.lineage_computed(v, Arc::new(graph.with_changes(remove, add)));
        }
        self.reload().await
    }
}

/// The sources of these edges, each once.
pub(crate) fn sources_of(edges: &[LineageEdge]) -> Vec<String> {
    let mut sources: Vec<String> = edges.iter().map(|e| e.source.clone()).collect();
    sources.sort_unstable();
    sources.dedup();
    sources
}

impl CatalogState {
    /// A graph holding at least every edge of this snapshot out of `sources` or into
    /// `targets`: the whole graph when a statement read it already, else just those edges,
    /// read from the files of `meta.lineage` that can hold them (a change to a few products'
    /// lineage does not read a million edges).
    pub async fn graph_near(
        &self,
        sources: &[String],
        targets: &[String],
    ) -> Result<Arc<LineageGraph>> {
        if let Some(graph) = self.lineage_if_read() {
            return Ok(graph);
        }
        let Some((warehouse, version)) = &self.lineage.source else {
            return Ok(Arc::new(LineageGraph::default()));
        };
        let table = warehouse.table(SystemTableKind::Lineage);
        let schema = SystemTableKind::Lineage.schema();
        let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let mut edges = Vec::new();
        for (column, products) in [("source", sources), ("target", targets)] {
            if !products.is_empty() {
                let batches = table
                    .read_matching_at(*version, column, products, &columns)
                    .await?;
                edges.extend(edges_from_batches(&batches)?);
            }
        }
        let mut seen = HashSet::new();
        edges.retain(|e| seen.insert(e.identity()));
        Ok(Arc::new(LineageGraph::new(edges)))
    }
}

/// The edges of `edges` (each once) that the graph does not hold yet.
pub fn absent_edges(graph: &LineageGraph, edges: &[LineageEdge]) -> Vec<LineageEdge> {
    let mut seen = HashSet::new();
    edges
        .iter()
        .filter(|e| {
            let id = e.identity();
            !graph.edges_of(&e.source).any(|k| k.identity() == id) && seen.insert(id)
        })
        .cloned()
        .collect()
}

/// The recorded edges into `target` chosen by `ours` that `wanted` does not repeat: what a new
/// definition of `target`'s sources makes stale.
pub fn stale_edges_into(
    graph: &LineageGraph,
    target: &str,
    wanted: &[LineageEdge],
    ours: impl Fn(&LineageEdge) -> bool,
) -> Vec<LineageEdge> {
    let keep: HashSet<String> = wanted.iter().map(LineageEdge::identity).collect();
    graph
        .edges_of(target)
        .filter(|e| e.target == target && ours(e) && !keep.contains(&e.identity()))
        .cloned()
        .collect()
}

/// The string columns of a batch, whichever string layout the scan gave them.
enum Strings<'a> {
    Plain(&'a arrow::array::StringArray),
    Large(&'a arrow::array::LargeStringArray),
    View(&'a arrow::array::StringViewArray),
}

impl<'a> Strings<'a> {
    fn of(batch: &'a RecordBatch, name: &str) -> Result<Self> {
        use arrow::array::AsArray;
        let column = batch.column_by_name(name).ok_or_else(|| {
            crate::error::Error::invalid(format!("meta.lineage has no column {name}"))
        })?;
        Ok(match column.data_type() {
            DataType::Utf8 => Strings::Plain(column.as_string::<i32>()),
            DataType::LargeUtf8 => Strings::Large(column.as_string::<i64>()),
            DataType::Utf8View => Strings::View(column.as_string_view()),
            other => {
                return Err(crate::error::Error::invalid(format!(
                    "meta.lineage column {name} is {other}, not a string"
                )));
            }
        })
    }

    fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            Strings::Plain(a) => a.is_valid(i).then(|| a.value(i)),
            Strings::Large(a) => a.is_valid(i).then(|| a.value(i)),
            Strings::View(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }
}

/// The edges of `meta.lineage` read straight from its columns (a million edges load several
/// times faster than through a generic row decoder). The key columns must be there; a read
/// of only those (a walk's) leaves the statement, author and time empty.
pub(crate) fn edges_from_batches(batches: &[RecordBatch]) -> Result<Vec<LineageEdge>> {
    use arrow::array::AsArray;
    use arrow::datatypes::TimestampMicrosecondType;
    let mut edges = Vec::with_capacity(batches.iter().map(|b| b.num_rows()).sum());
    for b in batches {
        let source = Strings::of(b, "source")?;
        let target = Strings::of(b, "target")?;
        let source_column = Strings::of(b, "source_column")?;
        let target_column = Strings::of(b, "target_column")?;
        let kind = Strings::of(b, "kind")?;
        let unread = |name: &str| b.column_by_name(name).is_none();
        let statement = (!unread("statement"))
            .then(|| Strings::of(b, "statement"))
            .transpose()?;
        let created_by = (!unread("created_by"))
            .then(|| Strings::of(b, "created_by"))
            .transpose()?;
        let created_at = b
            .column_by_name("created_at")
            .map(|c| arrow::compute::cast(c, &DataType::Timestamp(TimeUnit::Microsecond, None)))
            .transpose()?;
        let created_at = created_at
            .as_ref()
            .map(|c| c.as_primitive::<TimestampMicrosecondType>());
        let text = |s: &Strings, i: usize| s.get(i).unwrap_or_default().to_string();
        for i in 0..b.num_rows() {
            edges.push(LineageEdge {
                source: text(&source, i),
                target: text(&target, i),
                source_column: source_column.get(i).map(str::to_string),
                target_column: target_column.get(i).map(str::to_string),
                kind: text(&kind, i),
                statement: statement
                    .as_ref()
                    .and_then(|s| s.get(i))
                    .map(str::to_string),
                created_at: created_at
                    .filter(|c| c.is_valid(i))
                    .map_or(0, |c| c.value(i)),
                created_by: created_by.as_ref().map(|s| text(s, i)).unwrap_or_default(),
            });
        }
    }
    Ok(edges)
}
