//! The lineage a contract declares: where its product's data comes from.
//!
//! A property's `transformSourceObjects` (ODCS) names what the column is made from —
//! `domain.product.column` gives a column edge, `domain.product` a product edge — and the
//! `sources` custom property lists the products the whole product is made from. The edges are
//! `declared`, their statement names the contract, and the contract owns them: applying a new
//! version without a source removes its edge.

use super::odcs::ProductSpec;
use super::source::SpecSource;
use crate::error::Result;
use crate::model::{DataProduct, LineageEdge, ProductName, edge_kind, now_micros};

/// The statement of the edges a contract declares starts with this.
const STATEMENT_PREFIX: &str = "contract ";

/// True when `edge` was declared by a contract (not by `CREATE LINEAGE`).
pub(crate) fn is_from_contract(edge: &LineageEdge) -> bool {
    declared_by(edge, STATEMENT_PREFIX)
}

/// True when `edge` is a declared edge whose statement starts with `prefix` (the spec that owns
/// it).
pub(crate) fn declared_by(edge: &LineageEdge, prefix: &str) -> bool {
    edge.kind == edge_kind::DECLARED
        && edge
            .statement
            .as_deref()
            .is_some_and(|s| s.starts_with(prefix))
}

/// The edges `spec` declares into `product` (as it will be after the apply), each source
/// checked with `lookup` (the products there will be after the apply).
pub(crate) fn declared_edges<'a>(
    spec: &ProductSpec,
    source: &SpecSource,
    product: &DataProduct,
    lookup: impl Fn(&ProductName) -> Option<&'a DataProduct>,
    who: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<LineageEdge>> {
    let target = product.qualified_name();
    let statement = format!(
        "{STATEMENT_PREFIX}{} {} ({})",
        product.contract_id, product.contract_version, source.file
    );
    let mut edges = Vec::new();
    for decl in &spec.sources {
        let parts: Vec<&str> = decl.from.split('.').collect();
        let (name, column) = match parts.as_slice() {
            [d, p] => (ProductName::new(*d, *p), None),
            [d, p, c] => (ProductName::new(*d, *p), Some(*c)),
            _ if !decl.strict => {
                notes.push(format!(
                    "{}: {} '{}' names no data product (domain.product[.column]): kept in the \
                     contract, no lineage recorded",
                    source.file, decl.at, decl.from
                ));
                continue;
            }
            _ => {
                return Err(source.error(
                    &decl.at,
                    format!(
                        "'{}' is not a source: write domain.product or domain.product.column",
                        decl.from
                    ),
                ));
            }
        };
        let Some(from) = lookup(&name) else {
            if !decl.strict {
                notes.push(format!(
                    "{}: {} '{}' is no data product here (yet): kept in the contract, no \
                     lineage recorded; apply again once {name} exists to record it",
                    source.file, decl.at, decl.from
                ));
                continue;
            }
            return Err(source.error(
                &decl.at,
                format!(
                    "unknown source product {name}: apply its contract too, or create it first \
                     (CREATE DATA PRODUCT, lakemeta apply)"
                ),
            ));
        };
        let source_column = match column {
            None => None,
            Some(c) => Some(
                from.column_named(c)
                    .map_err(|m| source.error(&decl.at, m))?
                    .name
                    .clone(),
            ),
        };
        // a column edge needs a column at both ends; a product source of a column is a product
        // edge
        let target_column = source_column.as_ref().and(decl.into.clone());
        if name == target && (source_column.is_none() || source_column == target_column) {
            return Err(source.error(
                &decl.at,
                format!(
                    "{} is the product itself; a source names another product (or another \
                     column)",
                    decl.from
                ),
            ));
        }
        edges.push(LineageEdge {
            source: name.to_string(),
            target: target.to_string(),
            source_column,
            target_column,
            kind: edge_kind::DECLARED.into(),
            statement: Some(statement.clone()),
            created_at: now_micros(),
            created_by: who.to_string(),
        });
    }
    Ok(edges)
}
