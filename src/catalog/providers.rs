use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::error::{DataFusionError, Result};

use super::snapshot::CatalogState;
use crate::model::ProductName;

/// The schema that holds the system tables.
pub const META_SCHEMA: &str = "meta";

/// The `lakemeta` catalog: schema `meta` with the system tables, and one schema per domain
/// whose tables are its data products. Built from an in-memory snapshot; lookups do no I/O.
#[derive(Debug)]
pub struct LakeCatalog {
    schemas: BTreeMap<String, Arc<dyn SchemaProvider>>,
}

impl LakeCatalog {
    /// Builds the catalog from a state and the providers opened for it.
    pub fn new(
        state: &CatalogState,
        meta: BTreeMap<String, Arc<dyn TableProvider>>,
        products: &HashMap<ProductName, Arc<dyn TableProvider>>,
    ) -> Self {
        let mut schemas: BTreeMap<String, Arc<dyn SchemaProvider>> = BTreeMap::new();
        schemas.insert(
            META_SCHEMA.to_string(),
            Arc::new(StaticSchema {
                names: meta.keys().cloned().collect(),
                tables: meta,
                domain: None,
            }),
        );
        for domain in state.domains.keys() {
            let names: Vec<String> = state.products_in(domain).map(|p| p.name.clone()).collect();
            let tables = names
                .iter()
                .filter_map(|n| {
                    products
                        .get(&ProductName::new(domain, n))
                        .map(|p| (n.clone(), Arc::clone(p)))
                })
                .collect();
            schemas.insert(
                domain.clone(),
                Arc::new(StaticSchema {
                    names,
                    tables,
                    domain: Some(domain.clone()),
                }),
            );
        }
        Self { schemas }
    }
}

impl CatalogProvider for LakeCatalog {
    fn schema_names(&self) -> Vec<String> {
        self.schemas.keys().cloned().collect()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        self.schemas.get(name).cloned()
    }
}

#[derive(Debug)]
struct StaticSchema {
    names: Vec<String>,
    tables: BTreeMap<String, Arc<dyn TableProvider>>,
    domain: Option<String>,
}

#[async_trait]
impl SchemaProvider for StaticSchema {
    fn table_names(&self) -> Vec<String> {
        self.names
            .iter()
            .filter(|n| self.tables.contains_key(*n))
            .cloned()
            .collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if let Some(t) = self.tables.get(name) {
            return Ok(Some(Arc::clone(t)));
        }
        if let Some(domain) = &self.domain
            && self.names.iter().any(|n| n == name)
        {
            return Err(DataFusionError::Plan(format!(
                "data product {domain}.{name} could not be opened; run a query on it alone to \
                 see why"
            )));
        }
        Ok(None)
    }

    fn table_exist(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }
}
