//! Views of the `meta` schema written in SQL (`sql/views/*.sql`), planned over the system tables
//! and cached until the tables they read move to a new version.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::datasource::ViewTable;
use datafusion::execution::context::SessionContext;
use tokio::sync::Mutex;

use crate::catalog::CatalogState;
use crate::error::{Error, Result};
use crate::storage::SystemTableKind;

/// The views: name in `meta`, SQL, and the system tables whose versions they depend on.
const VIEWS: &[(&str, &str, &[SystemTableKind])] = &[
    (
        "product_health",
        include_str!("../../sql/views/product_health.sql"),
        &[SystemTableKind::Products, SystemTableKind::QualityResults],
    ),
    (
        "domain_dependencies",
        include_str!("../../sql/views/domain_dependencies.sql"),
        &[SystemTableKind::Domains, SystemTableKind::Lineage],
    ),
    (
        "product_usage",
        include_str!("../../sql/views/product_usage.sql"),
        // the teams decide whose audit rows the view may count (admins: everyone's)
        &[SystemTableKind::AuditLog, SystemTableKind::Teams],
    ),
];

/// A planned view and the versions of the tables it reads.
type Planned = (Vec<u64>, Arc<dyn TableProvider>);

/// The views of one session, each with the versions it was planned at.
#[derive(Default)]
pub(crate) struct Views {
    cache: Mutex<BTreeMap<&'static str, Planned>>,
}

impl std::fmt::Debug for Views {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Views")
    }
}

impl Views {
    /// The cached views that are still current, and the names of those that need planning.
    /// `audit`: the loaded version of `meta.audit_log`, which is not part of a snapshot.
    pub(crate) async fn current(
        &self,
        state: &CatalogState,
        audit: u64,
    ) -> (BTreeMap<String, Arc<dyn TableProvider>>, bool) {
        let cache = self.cache.lock().await;
        let mut out = BTreeMap::new();
        let mut stale = false;
        for (name, _, deps) in VIEWS {
            let key = versions(state, deps, audit);
            match cache.get(name) {
                Some((k, p)) if *k == key => {
                    out.insert(name.to_string(), Arc::clone(p));
                }
                _ => stale = true,
            }
        }
        (out, stale)
    }

    /// Plans every view in `ctx`, whose catalog must already hold the system tables.
    pub(crate) async fn plan(
        &self,
        ctx: &SessionContext,
        state: &CatalogState,
        audit: u64,
    ) -> Result<BTreeMap<String, Arc<dyn TableProvider>>> {
        let mut cache = self.cache.lock().await;
        let mut out = BTreeMap::new();
        for (name, sql, deps) in VIEWS {
            let plan =
                ctx.state().create_logical_plan(sql).await.map_err(|e| {
                    Error::invalid(format!("the view meta.{name} does not plan: {e}"))
                })?;
            let view: Arc<dyn TableProvider> =
                Arc::new(ViewTable::new(plan, Some(sql.to_string())));
            cache.insert(name, (versions(state, deps, audit), Arc::clone(&view)));
            out.insert(name.to_string(), view);
        }
        Ok(out)
    }
}

fn versions(state: &CatalogState, deps: &[SystemTableKind], audit: u64) -> Vec<u64> {
    deps.iter()
        .map(|k| match k {
            SystemTableKind::AuditLog => audit,
            k => state.versions.get(k).copied().unwrap_or(0),
        })
        .collect()
}
