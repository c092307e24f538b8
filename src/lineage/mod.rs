//! Lineage: the graph of edges between data products (and their columns), and the walks over
//! it that `lineage(...)` and `impact_analysis(...)` answer.

mod capture;
mod graph;

pub use capture::{Captured, SourceColumn, capture};
pub use graph::{Direction, LineageGraph, Reached};
