//! Lineage: the graph of edges between data products (and their columns), and the walks over
//! it that `lineage(...)` and `impact_analysis(...)` answer, lineage captured from query plans,
//! lineage read from OpenLineage events, and pictures of it.

mod capture;
mod graph;
mod openlineage;
mod picture;

pub use capture::{Captured, SourceColumn, capture};
pub use graph::{Direction, LineageGraph, Reached};
pub use openlineage::{Dataset, DatasetId, FieldFlow, LineageEvent, parse_event};
pub use picture::{Picture, PictureNode};
