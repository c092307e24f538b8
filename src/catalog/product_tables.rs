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

/// A product's opened data, and what it was opened for: a product dropped and created again
/// at the same location (a new Delta table, its versions counted from 0 again) is opened anew.
struct Opened {
    location: String,
    format: String,
    created_at: i64,
    data: ProductData,
}

/// A provider and the Delta version it was built at.
type Versioned = (u64, Arc<dyn TableProvider>);

/// One product's opened data, locked while it opens or refreshes.
type Slot = Arc<Mutex<Option<Opened>>>;

/// A product's provider and its Delta version (`None` for plain files).
pub type Published = (Arc<dyn TableProvider>, Option<u64>);

/// The query providers of a catalog, shared by every session on it (every call of every user
/// of a server): the system tables (rebuilt when their Delta version moves) and the data
/// products statements use (opened on first use, refreshed when their Delta version moves).
/// The providers are the raw data; every session puts its caller's gate in front of them. All
/// storage I/O happens here, before planning; planning itself only reads the maps this hands
/// out.
#[derive(Default)]
pub struct ProductTables {
    meta: Mutex<BTreeMap<String, Versioned>>,
    /// Each product's opened data, locked while it opens or refreshes.
    slots: std::sync::Mutex<HashMap<ProductName, Slot>>,
    /// The providers the slots published, and their Delta versions: what planning reads.
    providers: std::sync::Mutex<HashMap<ProductName, Published>>,
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
    /// does), when it is left out with a warning. Statements naming different products do not
    /// wait for each other; two naming one product share its opening or refresh. Returns the
    /// providers this call opened or refreshed: what its statement plans with, whatever other
    /// sessions open, refresh or forget meanwhile.
    pub async fn prepare(
        &self,
        warehouse: &Warehouse,
        catalog: &CatalogState,
        names: &[ProductName],
        session: &SessionState,
        skip_broken: bool,
    ) -> Result<HashMap<ProductName, Published>> {
        let mut prepared = HashMap::new();
        for name in names {
            let Some(product) = catalog.products.get(name) else {
                self.forget(name).await;
                continue;
            };
            let slot = Arc::clone(lock(&self.slots).entry(name.clone()).or_default());
            let mut opened = slot.lock().await;
            let result = match opened.as_mut() {
                Some(o)
                    if o.location == product.location
                        && o.format == product.format
                        && o.created_at == product.created_at =>
                {
                    o.data.refresh().await.map(|_| ())
                }
                _ => warehouse
                    .data()
                    .open(&product.location, product.data_format(), session)
                    .await
                    .map(|data| {
                        *opened = Some(Opened {
                            location: product.location.clone(),
                            format: product.format.clone(),
                            created_at: product.created_at,
                            data,
                        })
                    }),
            };
            let mut providers = lock(&self.providers);
            match (&result, opened.as_ref()) {
                (Ok(()), Some(o)) => {
                    let published = (o.data.provider(), o.data.version());
                    providers.insert(name.clone(), published.clone());
                    prepared.insert(name.clone(), published);
                }
                _ => {
                    *opened = None;
                    providers.remove(name);
                }
            }
            drop(providers);
            if let Err(e) = result {
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
        Ok(prepared)
    }

    /// The opened providers of `names`.
    pub fn providers(&self, names: &[ProductName]) -> HashMap<ProductName, Arc<dyn TableProvider>> {
        let providers = lock(&self.providers);
        names
            .iter()
            .filter_map(|n| providers.get(n).map(|(p, _)| (n.clone(), Arc::clone(p))))
            .collect()
    }

    /// Forgets an opened product (after it was dropped or rewritten).
    pub async fn forget(&self, name: &ProductName) {
        let slot = lock(&self.slots).remove(name);
        if let Some(slot) = slot {
            // wait for an opening in progress, so that it cannot publish its provider after this
            *slot.lock().await = None;
        }
        lock(&self.providers).remove(name);
    }
}

/// A std mutex's guard; a panic while it was held leaves plain data behind, still usable.
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
