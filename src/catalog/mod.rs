//! The catalog: an in-memory snapshot of domains and products, kept fresh from the system
//! tables, the operations that change them, and the DataFusion providers that serve them.

mod access_rows;
mod access_tables;
mod authorize;
mod columns;
mod computed;
mod data_products;
mod lineage;
mod openlineage;
mod operations;
mod product_tables;
mod providers;
mod rebase;
mod search;
mod snapshot;
mod stored;
mod walk;

pub(crate) use access_tables::{grants_table, requests_table, team_members_table};
pub use data_products::DataProductChange;
pub use lineage::{absent_edges, stale_edges_into};
pub use openlineage::{IngestReport, LAKEMETA_NAMESPACE};
pub use operations::{
    ChangeSummary, ContractRow, DomainChange, PolicyChange, ProductChange, TeamChange,
};
pub use product_tables::{ProductTables, Published};
pub use providers::{LakeCatalog, META_SCHEMA, PastProduct};
pub use search::{Doc, Hit, SearchIndex, words};
pub use snapshot::{Catalog, CatalogState, Health, ProductMap, WriteGuard};
pub use stored::StoredProduct;
