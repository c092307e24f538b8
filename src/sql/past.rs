//! Time travel for a statement: the tables it reads `VERSION AS OF` or `TIMESTAMP AS OF` (see
//! [`crate::model::AsOf`]), checked like the tables themselves and opened at that version. The
//! catalog serves each through the same gate as the table today, under today's policy.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;

use super::session::Session;
use crate::catalog::{CatalogState, META_SCHEMA, PastProduct};
use crate::error::{Error, Result};
use crate::model::{AsOf, ProductName};
use crate::storage::SystemTableKind;

/// A table a statement reads as it was.
#[derive(Debug, Clone)]
pub(crate) enum PastTable {
    /// A system table of schema `meta`.
    Meta {
        /// The name the engine resolves (`products@v3`).
        engine_name: String,
        kind: SystemTableKind,
        as_of: AsOf,
    },
    /// A data product.
    Product {
        name: ProductName,
        /// The name the engine resolves (`orders_fact@v3`).
        engine_name: String,
        as_of: AsOf,
    },
}

impl Session {
    /// The past table a reference names, if it names one: checked as a read of the table
    /// itself (it exists, the principal may read it) and refused as a write target.
    pub(crate) fn past_table(
        &self,
        r: &TableReference,
        write_target: bool,
    ) -> Result<Option<PastTable>> {
        let (table, Some(as_of)) = AsOf::split(r.table()) else {
            return Ok(None);
        };
        let schema = r.schema().unwrap_or(META_SCHEMA);
        let shown = format!("{schema}.{table}");
        if write_target {
            return Err(Error::invalid(format!(
                "{shown} {as_of} is a past version, which cannot be written; write to {shown}"
            )));
        }
        if schema == META_SCHEMA {
            let Some(kind) = SystemTableKind::ALL
                .iter()
                .copied()
                .find(|k| k.name() == table)
            else {
                let stored: Vec<&str> = SystemTableKind::ALL.iter().map(|k| k.name()).collect();
                return Err(Error::invalid(format!(
                    "meta.{table} keeps no versions: {as_of} reads the stored system tables ({}) \
                     and data products",
                    stored.join(", ")
                )));
            };
            let governance = &self.catalog().state().governance;
            let who = &self.principal().name;
            if matches!(
                kind,
                SystemTableKind::Grants | SystemTableKind::AccessRequests
            ) && governance.enabled()
                && !governance.is_admin(who)
            {
                return Err(Error::PermissionDenied(format!(
                    "past versions of meta.{table} are for platform admins: they hold other \
                     principals' grants and requests, of which meta.{table} shows you those \
                     you may see; ask a platform admin"
                )));
            }
            return Ok(Some(PastTable::Meta {
                engine_name: r.table().to_string(),
                kind,
                as_of,
            }));
        }
        let snapshot = self.catalog().state();
        snapshot.domain(schema)?;
        let name = ProductName::new(schema, table);
        snapshot.product(&name)?;
        snapshot.read_access(&self.principal().name, &name)?;
        Ok(Some(PastTable::Product {
            name,
            engine_name: r.table().to_string(),
            as_of,
        }))
    }

    /// Opens the past tables: the system tables' raw providers by engine name (for the `meta`
    /// schema, which gates them), and the products' (for the catalog, which gates them).
    pub(crate) async fn open_past(
        &self,
        past: &[PastTable],
        state: &CatalogState,
    ) -> Result<(BTreeMap<String, Arc<dyn TableProvider>>, Vec<PastProduct>)> {
        let wh = self.warehouse();
        let mut meta = BTreeMap::new();
        let mut products = Vec::new();
        for table in past {
            match table {
                PastTable::Meta {
                    engine_name,
                    kind,
                    as_of,
                } => {
                    let t = wh.table(*kind);
                    let what = format!("{META_SCHEMA}.{}", kind.name());
                    let provider = wh
                        .data()
                        .open_as_of(
                            t.url().as_str(),
                            crate::model::DataFormat::Delta,
                            *as_of,
                            &what,
                        )
                        .await?;
                    meta.insert(engine_name.clone(), provider);
                }
                PastTable::Product {
                    name,
                    engine_name,
                    as_of,
                } => {
                    let product = state.product(name)?;
                    let provider = wh
                        .data()
                        .open_as_of(
                            &product.location,
                            product.data_format(),
                            *as_of,
                            &name.to_string(),
                        )
                        .await?;
                    products.push(PastProduct {
                        name: name.clone(),
                        engine_name: engine_name.clone(),
                        provider,
                    });
                }
            }
        }
        Ok((meta, products))
    }
}
