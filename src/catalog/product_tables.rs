use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::execution::context::SessionState;
use tokio::sync::Mutex;

use super::columns::SnapshotColumns;
use super::snapshot::CatalogState;
use crate::error::{Error, Result};
use crate::model::ProductName;
use crate::storage::{ProductData, SystemTableKind, Warehouse};

struct Opened {
    location: String,
    format: String,
    data: ProductData,
}

/// A provider and the Delta version it was built at.
type Versioned = (u64, Arc<dyn TableProvider>);

/// The query providers of one session: the system tables (rebuilt when their Delta version
/// moves) and the data products a statement uses (opened on first use, refreshed when their
/// Delta version moves). All storage I/O happens here, before planning; planning itself only
/// reads the maps this hands out.
#[derive(Default)]
pub struct ProductTables {
    meta: Mutex<BTreeMap<String, Versioned>>,
    products: Mutex<HashMap<ProductName, Opened>>,
}

impl std::fmt::Debug for ProductTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProductTables")
    }
}

impl ProductTables {
    /// Providers of the `meta` schema for the given catalog state.
    pub async fn meta_providers(
        &self,
        warehouse: &Warehouse,
        state: &Arc<CatalogState>,
    ) -> Result<BTreeMap<String, Arc<dyn TableProvider>>> {
        let mut cache = self.meta.lock().await;
        let mut out = BTreeMap::new();
        for t in warehouse.tables() {
            let name = t.kind().name().to_string();
            // the audit log is not part of a snapshot: its provider follows the table itself
            let version = match state.versions.get(&t.kind()) {
                Some(v) => *v,
                None => t.version().await,
            };
            let fresh = cache.get(&name).filter(|(v, _)| *v == version);
            let provider = match fresh {
                Some((_, p)) => Arc::clone(p),
                None => {
                    let table = t.delta_table().await;
                    let p = table
                        .table_provider()
                        .await
                        .map_err(|e| Error::invalid(format!("system table {name}: {e}")))?;
                    cache.insert(name.clone(), (version, Arc::clone(&p)));
                    p
                }
            };
            out.insert(name, provider);
        }
        let key = "columns".to_string();
        let version = state
            .versions
            .get(&SystemTableKind::Products)
            .copied()
            .unwrap_or(0);
        let columns = match cache.get(&key).filter(|(v, _)| *v == version) {
            Some((_, p)) => Arc::clone(p),
            None => {
                let p: Arc<dyn TableProvider> = Arc::new(SnapshotColumns::new(Arc::clone(state)));
                cache.insert(key.clone(), (version, Arc::clone(&p)));
                p
            }
        };
        out.insert(key, columns);
        Ok(out)
    }

    /// Opens or refreshes the named products. A product whose data cannot be opened fails with
    /// an error naming it, unless `skip_broken` (listing every table, as information_schema
    /// does), when it is left out with a warning.
    pub async fn prepare(
        &self,
        warehouse: &Warehouse,
        catalog: &CatalogState,
        names: &[ProductName],
        session: &SessionState,
        skip_broken: bool,
    ) -> Result<()> {
        let mut cache = self.products.lock().await;
        for name in names {
            let Some(product) = catalog.products.get(name) else {
                cache.remove(name);
                continue;
            };
            let result = match cache.get_mut(name) {
                Some(o) if o.location == product.location && o.format == product.format => {
                    o.data.refresh().await.map(|_| ())
                }
                _ => match warehouse
                    .data()
                    .open(&product.location, product.data_format(), session)
                    .await
                {
                    Ok(data) => {
                        cache.insert(
                            name.clone(),
                            Opened {
                                location: product.location.clone(),
                                format: product.format.clone(),
                                data,
                            },
                        );
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
            };
            if let Err(e) = result {
                cache.remove(name);
                let e = Error::ProductUnreadable {
                    name: name.to_string(),
                    source: Box::new(e),
                };
                if skip_broken {
                    tracing::warn!("{e}");
                } else {
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// The opened providers, by product.
    pub async fn providers(&self) -> HashMap<ProductName, Arc<dyn TableProvider>> {
        self.products
            .lock()
            .await
            .iter()
            .map(|(k, v)| (k.clone(), v.data.provider()))
            .collect()
    }

    /// The Delta version of an opened product.
    pub async fn version(&self, name: &ProductName) -> Option<u64> {
        self.products
            .lock()
            .await
            .get(name)
            .and_then(|o| o.data.version())
    }

    /// Forgets an opened product (after it was dropped or rewritten).
    pub async fn forget(&self, name: &ProductName) {
        self.products.lock().await.remove(name);
    }
}
