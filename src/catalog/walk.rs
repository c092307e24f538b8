//! Walks of the lineage graph that read only the edges they follow.
//!
//! The first walk on a snapshot whose graph has not been read reads `meta.lineage` hop by hop:
//! the edges out of (downstream) or into (upstream) the products reached so far, at the
//! snapshot's version, and walks the part of the graph that makes. The table is kept sorted by
//! source, so a downstream hop reads the few files its products fall in. A second walk on the
//! same snapshot (a server, a script of statements) reads the whole graph once, and it and every
//! later walk run in memory.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use super::CatalogState;
use super::lineage::edges_from_batches;
use crate::error::Result;
use crate::lineage::{Direction, LineageGraph, Reached};
use crate::model::LineageEdge;
use crate::storage::SystemTableKind;

/// The columns of `meta.lineage` a walk reads.
const WALK_COLUMNS: [&str; 5] = ["source", "target", "source_column", "target_column", "kind"];

/// Hops read one at a time before the whole graph is read instead (a walk without a depth
/// limit through a long chain would otherwise read the table once per hop).
const MAX_HOPS_READ: u32 = 12;

/// Products a hop may start from before the whole graph is read instead (a hop from this many
/// products reads most of the table anyway).
const MAX_FRONTIER: usize = 20_000;

impl CatalogState {
    /// Every product (or column, from `product.column`) reachable from `product` in
    /// `direction` within `max_depth` hops, as [`LineageGraph::walk`] and
    /// [`LineageGraph::walk_column`] find them; see the module notes for what is read.
    pub async fn walk(
        &self,
        product: &str,
        column: Option<&str>,
        direction: Direction,
        max_depth: Option<u32>,
    ) -> Result<Vec<Reached>> {
        let earlier = self.lineage.walks.fetch_add(1, Ordering::Relaxed);
        let graph = match self.lineage_if_read() {
            Some(graph) => graph,
            None if earlier > 0 => self.lineage().await?,
            None => match self.edges_within(product, direction, max_depth).await? {
                Some(edges) => std::sync::Arc::new(LineageGraph::new(edges)),
                None => self.lineage().await?,
            },
        };
        Ok(match column {
            None => graph.walk(product, direction, max_depth),
            Some(c) => graph.walk_column(product, c, direction, max_depth),
        })
    }

    /// The edges a walk from `product` can follow: read hop by hop, each hop the edges out of
    /// (into, upstream) the products the one before reached first. `None` when the walk reaches
    /// far enough that reading the whole graph is the cheaper way.
    async fn edges_within(
        &self,
        product: &str,
        direction: Direction,
        max_depth: Option<u32>,
    ) -> Result<Option<Vec<LineageEdge>>> {
        let Some((warehouse, version)) = &self.lineage.source else {
            return Ok(Some(Vec::new()));
        };
        let table = warehouse.table(SystemTableKind::Lineage);
        let key = match direction {
            Direction::Downstream => "source",
            Direction::Upstream => "target",
        };
        let mut seen: HashSet<String> = HashSet::from([product.to_string()]);
        let mut frontier = vec![product.to_string()];
        let mut edges = Vec::new();
        let mut hops = 0;
        let started = std::time::Instant::now();
        while !frontier.is_empty() && max_depth.is_none_or(|m| hops < m) {
            if hops >= MAX_HOPS_READ || frontier.len() > MAX_FRONTIER {
                return Ok(None);
            }
            let batches = table
                .read_matching_at(*version, key, &frontier, &WALK_COLUMNS)
                .await?;
            let found = edges_from_batches(&batches)?;
            frontier = found
                .iter()
                .map(|e| match direction {
                    Direction::Downstream => &e.target,
                    Direction::Upstream => &e.source,
                })
                .filter(|p| seen.insert(p.to_string()))
                .cloned()
                .collect();
            edges.extend(found);
            hops += 1;
        }
        tracing::debug!(hops, edges = edges.len(), elapsed = ?started.elapsed(), "lineage edges of a walk read");
        Ok(Some(edges))
    }
}
