//! Recording and removing lineage edges in `meta.lineage`.

use crate::error::Result;
use crate::model::LineageEdge;
use crate::storage::{Keyed, RowChange, SystemTableKind};

use super::Catalog;

impl Keyed for LineageEdge {
    fn key(&self) -> String {
        self.identity()
    }

    /// The same two ends and kind are the same edge, whenever and by whom it was recorded.
    fn same_content(&self, _other: &Self) -> bool {
        true
    }
}

impl Catalog {
    /// Records edges in one commit; an edge that is there already is left as it is. Returns how
    /// many were new.
    pub async fn record_lineage(&self, edges: &[LineageEdge]) -> Result<usize> {
        let state = self.state();
        let new = edges
            .iter()
            .filter(|e| {
                let id = e.identity();
                !state
                    .lineage
                    .edges_of(&e.source)
                    .any(|k| k.identity() == id)
            })
            .count();
        let changes: Vec<_> = edges
            .iter()
            .map(|e| RowChange::Ensure { row: e.clone() })
            .collect();
        self.commit_lineage(&changes).await?;
        Ok(new)
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
        let keep: std::collections::HashSet<String> =
            edges.iter().map(LineageEdge::identity).collect();
        let mut changes: Vec<RowChange<LineageEdge>> = Vec::new();
        if replace {
            let state = self.state();
            changes.extend(
                state
                    .lineage
                    .edges_of(target)
                    .filter(|e| {
                        e.target == target
                            && e.kind == crate::model::edge_kind::CAPTURED
                            && !keep.contains(&e.identity())
                    })
                    .map(|e| RowChange::Delete {
                        expected: e.clone(),
                    }),
            );
        }
        changes.extend(edges.iter().map(|e| RowChange::Ensure { row: e.clone() }));
        self.commit_lineage(&changes).await
    }

    /// Removes these recorded edges (as read from the catalog) in one commit. An edge that
    /// another writer changed or removed meanwhile ends in a conflict and nothing is removed.
    pub async fn remove_lineage(&self, edges: &[LineageEdge]) -> Result<()> {
        let changes: Vec<_> = edges
            .iter()
            .map(|e| RowChange::Delete {
                expected: e.clone(),
            })
            .collect();
        self.commit_lineage(&changes).await
    }

    /// One commit to `meta.lineage`, shielded from interrupts, then a fresh snapshot.
    async fn commit_lineage(&self, changes: &[RowChange<LineageEdge>]) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let _writing = self.begin_write();
        self.warehouse()
            .table(SystemTableKind::Lineage)
            .apply_changes(changes)
            .await?;
        self.reload().await
    }
}
