use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use super::computed::Computed;
use super::lineage::edges_from_batches;
use super::product_tables::ProductTables;
use super::search::SearchIndex;
use crate::error::{Error, Result};
use crate::governance::{AuditLog, Governance};
use crate::lineage::LineageGraph;
use crate::model::{
    AccessRequest, DataProduct, Domain, Grant, OdpsProduct, Policy, ProductName, Team,
};
use crate::storage::{SystemTableKind, Warehouse, decode_on_cores};

/// The products of a snapshot by qualified name.
pub type ProductMap = BTreeMap<ProductName, Arc<super::StoredProduct>>;

/// Domains and products as of one version of the system tables.
#[derive(Debug, Default, Clone)]
pub struct CatalogState {
    /// Domains by name.
    pub domains: BTreeMap<String, Domain>,
    /// Products by qualified name (the map shared by the snapshots that did not change it,
    /// each product by the snapshots that did not change that product).
    pub products: Arc<ProductMap>,
    /// ODPS data products by id.
    pub data_products: Arc<BTreeMap<String, OdpsProduct>>,
    /// The lineage graph (`meta.lineage`), read on first use: see [`CatalogState::lineage`].
    pub(super) lineage: Arc<LineagePart>,
    /// Teams, the policy, grants and access requests.
    pub governance: Arc<Governance>,
    /// The Delta version of every system table this state was read at.
    pub versions: BTreeMap<SystemTableKind, u64>,
    /// The search index of the products, built on first use.
    search: OnceLock<Arc<SearchIndex>>,
    /// The latest quality of the products, read on first use.
    health: tokio::sync::OnceCell<Arc<Health>>,
}

/// The latest quality run of each checked product (`domain.product`), as
/// `meta.product_health` reports it: status (`pass`, `fail`, `error`), score, when.
pub type Health = std::collections::HashMap<String, (String, Option<f64>, Option<i64>)>;

/// The lineage graph of a snapshot: read whole from `meta.lineage` at the snapshot's version
/// the first time something needs all of it — the second walk on the snapshot, a picture, an
/// apply (a million edges take over half a second to load, which the first walk, reading only
/// the edges it follows, does not pay) — or worked out from a commit of this process.
#[derive(Debug, Default)]
pub(super) struct LineagePart {
    graph: tokio::sync::OnceCell<Arc<LineageGraph>>,
    /// Where to read it from, and at which version; `None`: the graph is empty.
    pub(super) source: Option<(Arc<Warehouse>, u64)>,
    /// How many walks began on this snapshot (the first reads only the edges it follows: see
    /// [`CatalogState::walk`]).
    pub(super) walks: AtomicUsize,
}

impl LineagePart {
    fn at(warehouse: Arc<Warehouse>, version: u64) -> Self {
        Self {
            graph: tokio::sync::OnceCell::new(),
            source: Some((warehouse, version)),
            walks: AtomicUsize::new(0),
        }
    }

    fn known(graph: Arc<LineageGraph>) -> Self {
        Self {
            graph: tokio::sync::OnceCell::new_with(Some(graph)),
            source: None,
            walks: AtomicUsize::new(0),
        }
    }
}

impl CatalogState {
    /// The lineage graph of this snapshot, read from `meta.lineage` (at the snapshot's version)
    /// the first time it is asked for and shared by every later statement on the snapshot.
    pub async fn lineage(&self) -> Result<Arc<LineageGraph>> {
        let part = &self.lineage;
        part.graph
            .get_or_try_init(|| async {
                let Some((warehouse, version)) = &part.source else {
                    return Ok(Arc::new(LineageGraph::default()));
                };
                let started = std::time::Instant::now();
                let batches = warehouse
                    .table(SystemTableKind::Lineage)
                    .read_batches_at(*version)
                    .await?;
                let edges = decode_on_cores(batches, "meta.lineage", edges_from_batches).await?;
                let graph = tokio::task::spawn_blocking(move || LineageGraph::new(edges))
                    .await
                    .map_err(|e| Error::invalid(format!("reading meta.lineage stopped: {e}")))?;
                tracing::debug!(elapsed = ?started.elapsed(), "lineage graph read");
                Ok::<_, Error>(Arc::new(graph))
            })
            .await
            .cloned()
    }

    /// The lineage graph of this snapshot if a statement has read it already.
    pub(crate) fn lineage_if_read(&self) -> Option<Arc<LineageGraph>> {
        self.lineage.graph.get().cloned()
    }

    /// The search index of this snapshot's products (built on the first search).
    pub fn search_index(&self) -> &SearchIndex {
        self.search
            .get_or_init(|| Arc::new(SearchIndex::new(&self.products)))
    }

    /// The latest quality of the products in this snapshot, read by `read` the first time it
    /// is asked for (the system tables it comes from cannot change within a snapshot).
    pub async fn health<F, Fut, E>(&self, read: F) -> std::result::Result<Arc<Health>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = std::result::Result<Health, E>>,
    {
        self.health
            .get_or_try_init(|| async { read().await.map(Arc::new) })
            .await
            .cloned()
    }

    /// The latest quality of the products if a statement has read it already.
    pub fn health_if_read(&self) -> Option<Arc<Health>> {
        self.health.get().cloned()
    }

    /// The owner and freshness SLA of each of the named products this snapshot holds, read
    /// without decoding the products not decoded yet (see [`super::stored::ownership_of`]).
    pub(crate) fn ownership_of<'a>(
        &self,
        names: impl IntoIterator<Item = &'a ProductName>,
    ) -> std::collections::HashMap<ProductName, super::stored::Ownership> {
        super::stored::ownership_of(&self.products, names)
    }

    /// The domain, or an error that lists the domains there are.
    pub fn domain(&self, name: &str) -> Result<&Domain> {
        self.domains.get(name).ok_or_else(|| Error::UnknownDomain {
            name: name.to_string(),
            hint: choices(
                "domains",
                self.domains.keys(),
                "CREATE DOMAIN or lakemeta apply",
            ),
        })
    }

    /// The product, or an error that lists the products of its domain.
    pub fn product(&self, name: &ProductName) -> Result<&DataProduct> {
        self.products
            .get(name)
            .map(|p| &***p)
            .ok_or_else(|| Error::UnknownProduct {
                name: name.to_string(),
                hint: choices(
                    "products",
                    self.products_in(&name.domain)
                        .map(|p| format!("{}.{}", p.domain, p.name)),
                    "CREATE DATA PRODUCT, CREATE TABLE … AS SELECT or lakemeta apply",
                ),
            })
    }

    /// The products of one domain (a range of the ordered map, not a scan of all products).
    pub fn products_in<'a>(&'a self, domain: &'a str) -> impl Iterator<Item = &'a DataProduct> {
        self.products
            .range(ProductName::new(domain, "")..)
            .take_while(move |(k, _)| k.domain == domain)
            .map(|(_, p)| &***p)
    }
}

fn choices<I, S>(what: &str, items: I, create: &str) -> String
where
    I: IntoIterator<Item = S>,
    S: std::fmt::Display,
{
    let list: Vec<String> = items.into_iter().take(20).map(|s| s.to_string()).collect();
    if list.is_empty() {
        format!("there are no {what} yet; create one with {create}")
    } else {
        format!("known {what}: {}", list.join(", "))
    }
}

/// The catalog of one warehouse: the system tables and the snapshot read from them.
#[derive(Debug)]
pub struct Catalog {
    warehouse: Arc<Warehouse>,
    state: RwLock<Arc<CatalogState>>,
    writing: Arc<AtomicUsize>,
    /// The lineage graph of a version this process committed, worked out from the commit
    /// itself; the next reload at that version takes it instead of reading the table.
    computed_lineage: Mutex<Option<(u64, Arc<LineageGraph>)>>,
    /// The process's audit log writer.
    audit: Arc<AuditLog>,
    /// The query providers every session on this catalog shares.
    tables: ProductTables,
}

/// Marks a write in progress while it lives; see [`Catalog::is_writing`].
#[derive(Debug)]
pub struct WriteGuard(Arc<AtomicUsize>);

impl Drop for WriteGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Catalog {
    /// Reads the catalog of a warehouse.
    pub async fn open(warehouse: Arc<Warehouse>) -> Result<Self> {
        let catalog = Self {
            audit: Arc::new(AuditLog::new(Arc::clone(&warehouse))),
            warehouse,
            state: RwLock::new(Arc::new(CatalogState::default())),
            writing: Arc::new(AtomicUsize::new(0)),
            computed_lineage: Mutex::new(None),
            tables: ProductTables::default(),
        };
        catalog.reload().await?;
        Ok(catalog)
    }

    /// Marks the start of a write (table creation, commits) that an interrupt must let finish;
    /// the write is over when the guard is dropped.
    pub fn begin_write(&self) -> WriteGuard {
        self.writing.fetch_add(1, Ordering::SeqCst);
        WriteGuard(Arc::clone(&self.writing))
    }

    /// True while a write is in progress: a Ctrl-C handler then lets it finish instead of
    /// abandoning it half done.
    pub fn is_writing(&self) -> bool {
        self.writing.load(Ordering::SeqCst) > 0
    }

    /// The warehouse.
    pub fn warehouse(&self) -> &Arc<Warehouse> {
        &self.warehouse
    }

    /// The audit log every session of this catalog writes to.
    pub fn audit(&self) -> &Arc<AuditLog> {
        &self.audit
    }

    /// The query providers of the system tables and the opened data products, shared by every
    /// session on this catalog (each puts its caller's gate in front of them).
    pub fn tables(&self) -> &ProductTables {
        &self.tables
    }

    /// Brings `meta.audit_log` up to date for a statement that reads it: commits what this
    /// process still holds, then catches up with other processes' commits.
    pub async fn refresh_audit(&self) -> Result<()> {
        self.audit.flush().await?;
        self.warehouse
            .table(SystemTableKind::AuditLog)
            .refresh()
            .await
            .map(|_| ())
    }

    /// The current snapshot.
    pub fn state(&self) -> Arc<CatalogState> {
        match self.state.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Catches up with commits made by any process since the last refresh: one cheap version
    /// check per system table, and a re-read only of the tables whose version moved. Returns
    /// true when anything changed.
    pub async fn refresh(&self) -> Result<bool> {
        let tables: Vec<_> = self
            .warehouse
            .tables()
            .filter(|t| t.kind().in_snapshot())
            .collect();
        let moved = futures::future::try_join_all(tables.iter().map(|t| t.refresh())).await?;
        // a commit this process made moved a table without a refresh noticing it
        let known = self.state();
        let mut behind = false;
        for t in &tables {
            behind |= known.versions.get(&t.kind()) != Some(&t.version().await);
        }
        if behind || moved.iter().any(|m| *m) {
            self.reload().await?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Hands the next reload the lineage graph of `version` (see `computed_lineage`).
    pub(crate) fn lineage_computed(&self, version: u64, graph: Arc<LineageGraph>) {
        let mut slot = match self.computed_lineage.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Some((version, graph));
    }

    /// The graph [`Self::lineage_computed`] left for `version`, if any (taken either way).
    fn take_computed_lineage(&self, version: Option<&u64>) -> Option<Arc<LineageGraph>> {
        let mut slot = match self.computed_lineage.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        slot.take()
            .filter(|(v, _)| Some(v) == version)
            .map(|(_, g)| g)
    }

    /// Re-reads domains, products and lineage from the loaded table snapshots.
    pub(crate) async fn reload(&self) -> Result<()> {
        self.reload_with(Computed::default()).await
    }

    /// Re-reads the tables whose version moved, except those `computed` works out from the
    /// snapshot and a commit of this process (see [`Computed`]).
    pub(crate) async fn reload_with(&self, work: Computed) -> Result<()> {
        let started = std::time::Instant::now();
        let old = self.state();
        let mut versions = BTreeMap::new();
        // the version whose rows each table holds (a merge of small files this process made
        // after its commit changes no row: what the commit worked out still holds)
        let mut rows_versions = BTreeMap::new();
        for t in self.warehouse.tables().filter(|t| t.kind().in_snapshot()) {
            versions.insert(t.kind(), t.version().await);
            rows_versions.insert(t.kind(), t.rows_version().await);
        }
        let same = |k: SystemTableKind| old.versions.get(&k) == versions.get(&k);
        let at = |k: SystemTableKind| (old.versions.get(&k), rows_versions.get(&k));
        // the parts are read side by side; the lineage is read when a statement first walks it
        let lineage_version = versions.get(&SystemTableKind::Lineage).copied();
        let lineage_rows = rows_versions.get(&SystemTableKind::Lineage);
        let lineage = match self.take_computed_lineage(lineage_rows) {
            Some(graph) => Arc::new(LineagePart::known(graph)),
            None if same(SystemTableKind::Lineage) => Arc::clone(&old.lineage),
            None => Arc::new(LineagePart::at(
                Arc::clone(&self.warehouse),
                lineage_version.unwrap_or(0),
            )),
        };
        let domains = async {
            let (from, now) = at(SystemTableKind::Domains);
            if same(SystemTableKind::Domains) {
                return Ok(old.domains.clone());
            }
            if let Some(rows) = work
                .domains
                .as_ref()
                .and_then(|c| c.apply(from, now, &old.domains))
            {
                return Ok(rows);
            }
            let rows: Vec<Domain> = self
                .warehouse
                .table(SystemTableKind::Domains)
                .read_rows()
                .await?;
            Ok::<_, Error>(rows.into_iter().map(|d| (d.name.clone(), d)).collect())
        };
        let products = async {
            let (from, now) = at(SystemTableKind::Products);
            if same(SystemTableKind::Products) {
                return Ok(Arc::clone(&old.products));
            }
            if let Some(rows) = work
                .products
                .as_ref()
                .and_then(|c| c.apply(from, now, &old.products))
            {
                return Ok(Arc::new(rows));
            }
            // the names are read; each file's rows are decoded when one of them is first used
            let files = self
                .warehouse
                .table(SystemTableKind::Products)
                .read_keys(&super::stored::KEY_COLUMNS)
                .await?;
            let products = super::stored::stored_products(files)?;
            tracing::debug!(elapsed = ?started.elapsed(), rows = products.len(), "products read");
            Ok::<_, Error>(Arc::new(products))
        };
        let data_products = async {
            let (from, now) = at(SystemTableKind::DataProducts);
            if same(SystemTableKind::DataProducts) {
                return Ok(Arc::clone(&old.data_products));
            }
            if let Some(rows) = work
                .data_products
                .as_ref()
                .and_then(|c| c.apply(from, now, &old.data_products))
            {
                return Ok(Arc::new(rows));
            }
            let rows: Vec<OdpsProduct> = self
                .warehouse
                .table(SystemTableKind::DataProducts)
                .read_rows()
                .await?;
            Ok::<_, Error>(Arc::new(
                rows.into_iter().map(|p| (p.id.clone(), p)).collect(),
            ))
        };
        let governance = async {
            let tables = [
                SystemTableKind::Teams,
                SystemTableKind::Policy,
                SystemTableKind::Grants,
                SystemTableKind::AccessRequests,
            ];
            if tables.into_iter().all(same) {
                return Ok(Arc::clone(&old.governance));
            }
            let wh = &self.warehouse;
            let (teams, policy, grants, requests) = tokio::try_join!(
                wh.table(SystemTableKind::Teams).read_rows::<Team>(),
                wh.table(SystemTableKind::Policy).read_rows::<Policy>(),
                wh.table(SystemTableKind::Grants).read_rows::<Grant>(),
                wh.table(SystemTableKind::AccessRequests)
                    .read_rows::<AccessRequest>(),
            )?;
            Ok::<_, Error>(Arc::new(Governance::new(
                teams,
                policy.into_iter().max_by_key(|p| p.version),
                grants,
                requests,
            )))
        };
        let (domains, products, data_products, governance) =
            tokio::try_join!(domains, products, data_products, governance)?;
        tracing::debug!(elapsed = ?started.elapsed(), "catalog snapshot read");
        let new = Arc::new(CatalogState {
            domains,
            products,
            data_products,
            lineage,
            governance,
            versions,
            search: OnceLock::new(),
            health: tokio::sync::OnceCell::new(),
        });
        let mut installed = match self.state.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        // two reloads may end in either order: the one that read older versions of the tables
        // does not replace the newer snapshot (versions only grow, table by table)
        let older = installed
            .versions
            .iter()
            .any(|(k, v)| new.versions.get(k) < Some(v));
        if !older {
            *installed = new;
        }
        Ok(())
    }
}
