use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::catalog::TableProvider;
use datafusion::execution::context::SessionState;
use tokio::sync::Mutex;

use super::columns::SnapshotColumns;
use super::snapshot::CatalogState;
use crate::error::{Error, Result};
use crate::model::{DataProduct, ProductName};
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

/// A product's provider and its Delta version (`None` for plain files).
pub type Published = (Arc<dyn TableProvider>, Option<u64>);

/// How many products' opened data a catalog keeps; beyond it, the one a statement named least
/// recently is let go (and opened again when a statement names it).
const KEPT_PRODUCTS: usize = 1024;

/// One product's opened data, locked while it opens or refreshes, and when a statement last
/// named it.
struct Slot {
    used: AtomicU64,
    opened: Mutex<Option<Opened>>,
}

/// The query providers of a catalog, shared by every session on it (every call of every user
/// of a server): the system tables (rebuilt when their Delta version moves) and the data
/// products statements use (opened on first use, refreshed when their Delta version moves; the
/// [`KEPT_PRODUCTS`] named most recently are kept). The providers are the raw data; every
/// session puts its caller's gate in front of them. All storage I/O happens here, before
/// planning; planning itself only reads the maps this hands out.
#[derive(Default)]
pub struct ProductTables {
    meta: Mutex<BTreeMap<String, Versioned>>,
    slots: std::sync::Mutex<HashMap<ProductName, Arc<Slot>>>,
    /// Counts statements' uses of products, for [`Slot::used`].
    clock: AtomicU64,
    /// The views of `meta` (each planned when a statement reads it, over its own session's
    /// tables), made by the first session that needed them.
    views: std::sync::OnceLock<BTreeMap<String, Arc<dyn TableProvider>>>,
}

impl std::fmt::Debug for ProductTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProductTables")
    }
}

impl ProductTables {
    /// The views of `meta`, once a session made them.
    pub fn views(&self) -> Option<BTreeMap<String, Arc<dyn TableProvider>>> {
        self.views.get().cloned()
    }

    /// Keeps the views a session made (unless another kept its own first); returns the kept.
    pub fn keep_views(
        &self,
        views: BTreeMap<String, Arc<dyn TableProvider>>,
    ) -> BTreeMap<String, Arc<dyn TableProvider>> {
        self.views.get_or_init(|| views).clone()
    }

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
                    let table = t.delta_table().await?;
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
    /// does), when it is left out with a warning; such a listing opens what is not kept for
    /// itself alone. Statements naming different products do not wait for each other; two
    /// naming one product share its opening or refresh. Returns the providers this call opened
    /// or refreshed: what its statement plans with, whatever other sessions open, refresh or
    /// forget meanwhile.
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
            let result = match self.slot(name, !skip_broken) {
                Some(slot) => {
                    let mut opened = slot.opened.lock().await;
                    let result = match opened.as_mut() {
                        Some(o) if o.is_for(product) => o.data.refresh().await.map(|_| ()),
                        _ => Opened::open(warehouse, product, session)
                            .await
                            .map(|o| *opened = Some(o)),
                    };
                    let result = result.and_then(|()| {
                        opened.as_ref().map(Opened::published).ok_or_else(|| {
                            Error::invalid(format!("data product {name} could not be opened"))
                        })
                    });
                    if result.is_err() {
                        *opened = None;
                    }
                    result
                }
                None => Opened::open(warehouse, product, session)
                    .await
                    .map(|o| o.published()),
            };
            match result {
                Ok(published) => {
                    prepared.insert(name.clone(), published);
                }
                Err(e) => {
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
        }
        Ok(prepared)
    }

    /// The kept slot of a product, marked as used now; a new one when `create` (letting the
    /// least recently used go beyond [`KEPT_PRODUCTS`]), else `None` when it has none.
    fn slot(&self, name: &ProductName, create: bool) -> Option<Arc<Slot>> {
        let now = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut slots = lock(&self.slots);
        if let Some(slot) = slots.get(name) {
            slot.used.store(now, Ordering::Relaxed);
            return Some(Arc::clone(slot));
        }
        if !create {
            return None;
        }
        if slots.len() >= KEPT_PRODUCTS {
            let oldest = slots
                .iter()
                .min_by_key(|(_, s)| s.used.load(Ordering::Relaxed))
                .map(|(n, _)| n.clone());
            if let Some(oldest) = oldest {
                slots.remove(&oldest);
            }
        }
        let slot = Arc::new(Slot {
            used: AtomicU64::new(now),
            opened: Mutex::new(None),
        });
        slots.insert(name.clone(), Arc::clone(&slot));
        Some(slot)
    }

    /// The kept providers among `names` (a product being opened or refreshed right now is left
    /// out).
    pub fn providers(&self, names: &[ProductName]) -> HashMap<ProductName, Arc<dyn TableProvider>> {
        let slots = lock(&self.slots);
        names
            .iter()
            .filter_map(|n| {
                let opened = slots.get(n)?.opened.try_lock().ok()?;
                Some((n.clone(), opened.as_ref()?.data.provider()))
            })
            .collect()
    }

    /// Forgets an opened product (after it was dropped or rewritten).
    pub async fn forget(&self, name: &ProductName) {
        let slot = lock(&self.slots).remove(name);
        if let Some(slot) = slot {
            // an opening in progress finishes into the removed slot, which nobody reads again
            *slot.opened.lock().await = None;
        }
    }
}

impl Opened {
    async fn open(
        warehouse: &Warehouse,
        product: &DataProduct,
        session: &SessionState,
    ) -> Result<Self> {
        let data = warehouse
            .data()
            .open(&product.location, product.data_format(), session)
            .await?;
        Ok(Self {
            location: product.location.clone(),
            format: product.format.clone(),
            created_at: product.created_at,
            data,
        })
    }

    /// Whether this is the data of `product` as the snapshot describes it now.
    fn is_for(&self, product: &DataProduct) -> bool {
        self.location == product.location
            && self.format == product.format
            && self.created_at == product.created_at
    }

    fn published(&self) -> Published {
        (self.data.provider(), self.data.version())
    }
}

/// A std mutex's guard; a panic while it was held leaves plain data behind, still usable.
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_named_product_is_let_go_beyond_the_bound() {
        let tables = ProductTables::default();
        let name = |i: usize| ProductName::new("d", format!("p{i}"));
        for i in 0..KEPT_PRODUCTS {
            assert!(tables.slot(&name(i), true).is_some());
        }
        // p0 is named again: p1 is now the least recently named
        let first = tables.slot(&name(0), false).expect("p0 is kept");
        assert!(tables.slot(&name(KEPT_PRODUCTS), true).is_some());
        let slots = lock(&tables.slots);
        assert_eq!(slots.len(), KEPT_PRODUCTS);
        assert!(!slots.contains_key(&name(1)));
        assert!(Arc::ptr_eq(&first, &slots[&name(0)]));
        drop(slots);
        // a listing's lookup does not keep what it finds no slot for
        assert!(tables.slot(&name(1), false).is_none());
        assert_eq!(lock(&tables.slots).len(), KEPT_PRODUCTS);
    }
}
