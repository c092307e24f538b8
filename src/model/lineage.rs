use serde::{Deserialize, Serialize};

/// How a lineage edge came to be known.
pub mod edge_kind {
    /// Typed in: a spec or `CREATE LINEAGE`.
    pub const DECLARED: &str = "declared";
    /// Taken from the plan of a statement lakemeta ran.
    pub const CAPTURED: &str = "captured";
    /// Read from an OpenLineage run event.
    pub const OPENLINEAGE: &str = "openlineage";
}

/// One edge of the lineage graph: data flows from `source` to `target` (`domain.product`), or
/// from one of the source's columns to one of the target's. One row of `meta.lineage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineageEdge {
    /// The product read from, `domain.product`.
    pub source: String,
    /// The product written to, `domain.product`.
    pub target: String,
    /// The column read from, for a column-level edge.
    pub source_column: Option<String>,
    /// The column written to, for a column-level edge.
    pub target_column: Option<String>,
    /// `declared`, `captured` or `openlineage` (see [`edge_kind`]).
    pub kind: String,
    /// The statement or job that produced the edge, when there is one.
    pub statement: Option<String>,
    /// When the edge was recorded (microseconds, UTC).
    pub created_at: i64,
    /// Who recorded it.
    pub created_by: String,
}

impl LineageEdge {
    /// The edge's identity: its two ends (with columns) and its kind. Recording the same edge
    /// again changes nothing.
    pub fn identity(&self) -> String {
        format!(
            "{}.{} -> {}.{} ({})",
            self.source,
            self.source_column.as_deref().unwrap_or("*"),
            self.target,
            self.target_column.as_deref().unwrap_or("*"),
            self.kind
        )
    }
}
