//! Lineage: the graph of edges between data products (and their columns), and the walks over
//! it that `lineage(...)` and `impact_analysis(...)` answer.

mod graph;

pub use graph::{Direction, LineageGraph, Reached};
