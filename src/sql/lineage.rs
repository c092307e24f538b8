//! `CREATE LINEAGE` and `DROP LINEAGE`: declared edges of the lineage graph.

use super::output::Output;
use super::session::Session;
use super::statements::LineageEnd;
use crate::catalog::CatalogState;
use crate::error::{Error, Result};
use crate::model::{LineageEdge, edge_kind, now_micros};

impl Session {
    /// Declares that data flows from `source` to `target`.
    pub(crate) async fn create_lineage(
        &self,
        source: LineageEnd,
        target: LineageEnd,
    ) -> Result<Output> {
        let state = self.catalog().state();
        let source = known_end(&state, source)?;
        let target = known_end(&state, target)?;
        // lineage into a product is its owners' to declare
        state.check_write_product(&self.principal().name, &target.product)?;
        if source == target || (source.product == target.product && source.column.is_none()) {
            return Err(Error::invalid(format!(
                "a lineage edge links two different things; {source} -> {target} links {source} \
                 to itself"
            )));
        }
        let statement = format!("CREATE LINEAGE {source} -> {target}");
        let edge = LineageEdge {
            source: source.product.to_string(),
            target: target.product.to_string(),
            source_column: source.column.clone(),
            target_column: target.column.clone(),
            kind: edge_kind::DECLARED.into(),
            statement: Some(statement.clone()),
            created_at: now_micros(),
            created_by: self.principal().name.clone(),
        };
        if self.catalog().record_lineage(&[edge]).await? == 0 {
            return Ok(Output::message(format!(
                "lineage {source} -> {target} is declared already; nothing done"
            )));
        }
        Ok(Output::message(statement))
    }

    /// Removes every recorded edge from `source` to `target`, whatever its kind.
    pub(crate) async fn drop_lineage(
        &self,
        source: LineageEnd,
        target: LineageEnd,
        if_exists: bool,
    ) -> Result<Output> {
        let state = self.catalog().state();
        if state.products.contains_key(&target.product) {
            state.check_write_product(&self.principal().name, &target.product)?;
        }
        let (s, t) = (source.product.to_string(), target.product.to_string());
        let found: Vec<LineageEdge> = state
            .graph_near(std::slice::from_ref(&s), &[])
            .await?
            .edges_of(&s)
            .filter(|e| {
                e.source == s
                    && e.target == t
                    && e.source_column == source.column
                    && e.target_column == target.column
            })
            .cloned()
            .collect();
        if found.is_empty() {
            if if_exists {
                return Ok(Output::message(format!(
                    "there is no lineage {source} -> {target}; nothing done"
                )));
            }
            return Err(Error::invalid(format!(
                "there is no lineage {source} -> {target}: SELECT * FROM meta.lineage WHERE \
                 source = '{s}' lists the edges from {s} (DROP LINEAGE IF EXISTS ignores a \
                 missing edge)"
            )));
        }
        self.catalog().remove_lineage(&found).await?;
        let n = found.len();
        Ok(Output::message(format!(
            "DROP LINEAGE {source} -> {target} ({n} edge{})",
            if n == 1 { "" } else { "s" }
        )))
    }
}

/// The end with its product checked and its column spelled as the product spells it.
fn known_end(state: &CatalogState, end: LineageEnd) -> Result<LineageEnd> {
    let product = state.product(&end.product)?;
    let column = match end.column {
        None => None,
        Some(c) => Some(
            product
                .column_named(&c)
                .map_err(Error::Invalid)?
                .name
                .clone(),
        ),
    };
    Ok(LineageEnd {
        product: end.product,
        column,
    })
}
