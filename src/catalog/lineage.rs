//! Recording and removing lineage edges in `meta.lineage`.
//!
//! Edges are written by key in place: a change rewrites only the files that hold the edges it
//! touches, and the in-memory graph is updated from the change itself when no other writer
//! committed in between, so a million-edge graph is not read again after every statement.

use std::collections::HashSet;
use std::sync::Arc;

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
        let new = absent_edges(&state.lineage, edges);
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
        let remove = if replace {
            stale_edges_into(&state.lineage, target, edges, |e| {
                e.kind == edge_kind::CAPTURED
            })
        } else {
            Vec::new()
        };
        let add = absent_edges(&state.lineage, edges);
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
        let mut seen = HashSet::new();
        let edges: Vec<LineageEdge> = products
            .iter()
            .flat_map(|p| state.lineage.edges_of(p))
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
        if let Some(v) = version
            && before
                .versions
                .get(&SystemTableKind::Lineage)
                .map(|b| b + 1)
                == Some(v)
        {
            // nobody else committed in between: the new graph is the old one changed
            self.lineage_computed(v, Arc::new(before.lineage.with_changes(remove, add)));
        }
        self.reload().await
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
