use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::error::{DataFusionError, Result};

use super::snapshot::CatalogState;
use crate::governance::{Caller, GovernedTable};
use crate::model::{DataProduct, ProductName, now_micros};
use crate::storage::MaskKey;

/// The schema that holds the system tables.
pub const META_SCHEMA: &str = "meta";

/// The `lakemeta` catalog: schema `meta` with the system tables, and one schema per domain
/// whose tables are its data products. Built from an in-memory snapshot for every statement;
/// lookups do no I/O, and building it costs the opened products, not all of them. Every data
/// product is served through the access gate ([`GovernedTable`]), decided for the statement's
/// principal when the catalog is built.
#[derive(Debug)]
pub struct LakeCatalog {
    schemas: BTreeMap<String, Arc<dyn SchemaProvider>>,
}

/// A data product as a statement reads it at a past version (`VERSION AS OF`).
#[derive(Debug, Clone)]
pub struct PastProduct {
    /// The product.
    pub name: ProductName,
    /// The table name the statement's plan resolves (`orders_fact@v3`).
    pub engine_name: String,
    /// The provider over that version's data.
    pub provider: Arc<dyn TableProvider>,
}

impl LakeCatalog {
    /// Builds the catalog from a state and the providers opened for it (the products as they
    /// are, and `past` versions of some), for `caller`; masks that hash use `mask_key`. A past
    /// version is read through the product's gate as decided today.
    pub fn new(
        state: &Arc<CatalogState>,
        meta: BTreeMap<String, Arc<dyn TableProvider>>,
        products: &HashMap<ProductName, Arc<dyn TableProvider>>,
        past: &[PastProduct],
        caller: &Arc<Caller>,
        mask_key: &Arc<MaskKey>,
    ) -> Self {
        let mut schemas: BTreeMap<String, Arc<dyn SchemaProvider>> = BTreeMap::new();
        let mut meta = meta;
        if let Some(shared) = meta.remove("columns") {
            let columns =
                super::columns::CallerColumns::new(shared, Arc::clone(state), Arc::clone(caller));
            meta.insert("columns".into(), Arc::new(columns));
        }
        schemas.insert(
            META_SCHEMA.to_string(),
            Arc::new(MetaSchema { tables: meta }),
        );
        let mut opened: BTreeMap<&str, BTreeMap<String, Arc<dyn TableProvider>>> = BTreeMap::new();
        let who = &caller.principal().name;
        let now = now_micros();
        let today = products
            .iter()
            .map(|(name, provider)| (name, name.name.clone(), provider, false));
        let then = past
            .iter()
            .map(|p| (&p.name, p.engine_name.clone(), &p.provider, true));
        for (name, table, provider, is_past) in today.chain(then) {
            let (Some(product), Some(domain)) =
                (state.products.get(name), state.domains.get(&name.domain))
            else {
                continue;
            };
            let mut access = state.governance.read_access(who, product, domain, now);
            if is_past && let Ok(a) = &access {
                let unknown = unknown_columns(product, provider);
                if !unknown.is_empty() && !state.governance.reads_raw(who, product, a, now) {
                    access = Err(crate::error::Error::PermissionDenied(format!(
                        "this version of {name} has columns the product no longer has ({}), \
                         which today's policy does not classify: only its owner team, platform \
                         admins and holders of an UNMASKED grant read it; read a version \
                         without them, or ask the owner team",
                        unknown.join(", ")
                    )));
                }
            }
            let protection = match &access {
                Ok(a) => state.governance.protection(who, product, a, now),
                Err(_) => Default::default(),
            };
            let gated: Arc<dyn TableProvider> = Arc::new(GovernedTable::product(
                Arc::clone(provider),
                name.to_string(),
                access,
                protection,
                Arc::clone(mask_key),
                Arc::clone(caller),
            ));
            opened
                .entry(name.domain.as_str())
                .or_default()
                .insert(table, gated);
        }
        for domain in state.domains.keys() {
            schemas.insert(
                domain.clone(),
                Arc::new(DomainSchema {
                    state: Arc::clone(state),
                    domain: domain.clone(),
                    tables: opened.remove(domain.as_str()).unwrap_or_default(),
                }),
            );
        }
        Self { schemas }
    }
}

/// The columns of a provider (a past version's) that the product's columns today do not name.
fn unknown_columns(product: &DataProduct, provider: &Arc<dyn TableProvider>) -> Vec<String> {
    provider
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|f| {
            !product
                .columns
                .iter()
                .any(|c| c.name.eq_ignore_ascii_case(f))
        })
        .collect()
}

impl CatalogProvider for LakeCatalog {
    fn schema_names(&self) -> Vec<String> {
        self.schemas.keys().cloned().collect()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        self.schemas.get(name).cloned()
    }
}

/// Schema `meta`: the system tables and views.
#[derive(Debug)]
struct MetaSchema {
    tables: BTreeMap<String, Arc<dyn TableProvider>>,
}

#[async_trait]
impl SchemaProvider for MetaSchema {
    fn table_names(&self) -> Vec<String> {
        self.tables.keys().cloned().collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        Ok(self.tables.get(name).cloned())
    }

    fn table_exist(&self, name: &str) -> bool {
        self.tables.contains_key(name)
    }
}

/// A domain's schema: its products, of which the ones a statement names are opened.
#[derive(Debug)]
struct DomainSchema {
    state: Arc<CatalogState>,
    domain: String,
    tables: BTreeMap<String, Arc<dyn TableProvider>>,
}

#[async_trait]
impl SchemaProvider for DomainSchema {
    /// The products that could be opened (every one, when the statement lists tables).
    fn table_names(&self) -> Vec<String> {
        self.state
            .products_in(&self.domain)
            .filter(|p| self.tables.contains_key(&p.name))
            .map(|p| p.name.clone())
            .collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if let Some(t) = self.tables.get(name) {
            return Ok(Some(Arc::clone(t)));
        }
        if self.table_exist(name) {
            return Err(DataFusionError::Plan(format!(
                "data product {}.{name} could not be opened; run a query on it alone to see why",
                self.domain
            )));
        }
        Ok(None)
    }

    fn table_exist(&self, name: &str) -> bool {
        self.state
            .products
            .contains_key(&ProductName::new(&self.domain, name))
    }
}
