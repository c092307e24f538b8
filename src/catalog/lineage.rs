//! Recording and removing lineage edges in `meta.lineage`.

use crate::error::{Error, Result};
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
        let known: std::collections::HashSet<String> = state
            .lineage
            .edges()
            .iter()
            .map(LineageEdge::identity)
            .collect();
        let new = edges
            .iter()
            .filter(|e| !known.contains(&e.identity()))
            .count();
        let changes: Vec<_> = edges
            .iter()
            .map(|e| RowChange::Ensure { row: e.clone() })
            .collect();
        self.commit_lineage(&changes).await?;
        Ok(new)
    }

    /// Removes the recorded edges with these identities (see [`LineageEdge::identity`]) in one
    /// commit. An identity that names no edge is an error and nothing is removed.
    pub async fn remove_lineage(&self, identities: &[String]) -> Result<usize> {
        let state = self.state();
        let mut changes = Vec::new();
        for id in identities {
            let Some(edge) = state.lineage.edges().iter().find(|e| &e.identity() == id) else {
                return Err(Error::invalid(format!(
                    "there is no lineage edge {id}; SELECT * FROM meta.lineage lists the edges"
                )));
            };
            changes.push(RowChange::Delete {
                expected: edge.clone(),
            });
        }
        self.commit_lineage(&changes).await?;
        Ok(changes.len())
    }

    /// One commit to `meta.lineage`, shielded from interrupts, then a fresh snapshot.
    async fn commit_lineage(&self, changes: &[RowChange<LineageEdge>]) -> Result<()> {
        let _writing = self.begin_write();
        self.warehouse()
            .table(SystemTableKind::Lineage)
            .apply_changes(changes)
            .await?;
        self.reload().await
    }
}
