//! Lineage: the graph of edges between data products (and their columns), and the walks over
//! it that `lineage(...)` and `impact_analysis(...)` answer, lineage captured from query plans,
//! and pictures of it.

mod capture;
mod graph;
mod picture;

pub use capture::{Captured, SourceColumn, capture};
pub use graph::{Direction, LineageGraph, Reached};
pub use picture::{Picture, PictureNode};
