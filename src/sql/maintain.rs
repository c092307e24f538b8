//! `OPTIMIZE` and `VACUUM` of a managed data product or a system table: for the product's owner
//! team and the platform admins (a system table: the admins). lakemeta maintains only the
//! tables it owns: an external product's files belong to the tool that writes them.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, ListBuilder, RecordBatch, StringArray,
    StringBuilder,
};
use arrow::datatypes::{DataType, Field, Schema};

use super::output::Output;
use super::session::Session;
use super::statements::CheckTarget;
use crate::catalog::{ChangeSummary, ProductChange};
use crate::error::{Error, Result};
use crate::model::{DataProduct, ProductKind, ProductName};
use crate::storage::{
    OptimizeReport, SystemTableKind, TableFiles, TableLayout, VacuumOptions, VacuumReport,
};

/// A maintained product's table as maintenance left it, to record in `meta.products`.
struct Measured {
    product: ProductName,
    /// The product's row when its maintenance began: a product changed since (replaced,
    /// dropped, given another table) is not recorded.
    seen: Arc<crate::catalog::StoredProduct>,
    live: TableFiles,
    /// When (microseconds, UTC).
    at: i64,
}

impl Maintained {
    /// What maintenance left of this table, when it is a product's.
    fn measured(&self, live: TableFiles) -> Option<Measured> {
        Some(Measured {
            product: self.product.clone()?,
            seen: Arc::clone(self.row.as_ref()?),
            live,
            at: crate::model::now_micros(),
        })
    }
}

/// A table to maintain: where it is and how it is named.
struct Maintained {
    location: String,
    shown: String,
    product: Option<ProductName>,
    /// The size to compact to (`None`: the table's `delta.targetFileSize`).
    file_size: Option<std::num::NonZeroU64>,
    /// The system table it is, if it is one.
    system: Option<SystemTableKind>,
    /// A product's row as the catalog held it.
    row: Option<Arc<crate::catalog::StoredProduct>>,
    /// A product's storage policy (its own, else its domain's): kept in step before it is
    /// maintained.
    policy: TableLayout,
}

impl Session {
    /// The table `name` names, if the principal may run `verb` on it.
    fn maintained(&self, name: &ProductName, verb: &str) -> Result<Maintained> {
        let state = self.catalog().state();
        let governance = &state.governance;
        let who = &self.principal().name;
        if name.domain == "meta" {
            if governance.enabled() && !governance.is_admin(who) {
                return Err(Error::PermissionDenied(format!(
                    "{verb} {name} is for platform admins; {who} is not one"
                )));
            }
            let kind = SystemTableKind::ALL
                .into_iter()
                .find(|k| k.name() == name.name)
                .ok_or_else(|| Error::UnknownTable {
                    name: name.to_string(),
                    hint: format!(
                        "the stored system tables are {}",
                        SystemTableKind::ALL.map(|k| k.name()).join(", ")
                    ),
                })?;
            return Ok(Maintained {
                location: self.warehouse().table(kind).url().to_string(),
                shown: name.to_string(),
                product: None,
                // warehouses made before system tables had the property set compact to it too
                file_size: Some(SystemTableKind::FILE_SIZE),
                system: Some(kind),
                row: None,
                policy: TableLayout::default(),
            });
        }
        let product = state.product(name)?;
        governance.may_write_product(who, product, state.domain(&name.domain)?)?;
        if product.kind != ProductKind::Managed.as_str() || product.format != "delta" {
            return Err(Error::invalid(format!(
                "{name} is an external product ({} at {}): lakemeta does not own its files, so \
                 it does not {verb} them; maintain it with the tool that writes it",
                product.format, product.location
            )));
        }
        let domain = state.domain(&name.domain)?;
        Ok(Maintained {
            location: product.location.clone(),
            shown: name.to_string(),
            product: Some(name.clone()),
            file_size: None,
            system: None,
            row: state.products.get(name).cloned(),
            policy: TableLayout {
                retention_days: product.retention_days.or(domain.retention_days),
                target_file_size: product.target_file_size.or(domain.target_file_size),
                ..TableLayout::default()
            },
        })
    }

    /// Sets a product's storage policy on its table where the table says otherwise (the
    /// policy changed since it was created), so that VACUUM keeps files as long as the policy
    /// says and OPTIMIZE compacts to its size.
    async fn keep_policy(&self, target: &Maintained) -> Result<()> {
        if target.policy == TableLayout::default() {
            return Ok(());
        }
        self.warehouse()
            .data()
            .keep_policy(
                &target.location,
                &target.shown,
                &target.policy,
                &self.principal().name,
            )
            .await?;
        Ok(())
    }

    /// Compacts a maintained table: a system table written by key is rewritten sorted by key
    /// (unless a Z-order is asked for), any other table's small files are merged.
    async fn compact(&self, target: &Maintained, zorder: &[String]) -> Result<OptimizeReport> {
        if let Some(kind) = target.system
            && zorder.is_empty()
            && !kind.key_columns().is_empty()
        {
            return self.warehouse().table(kind).compact().await;
        }
        self.warehouse()
            .data()
            .optimize(
                &target.location,
                &target.shown,
                zorder,
                target.file_size,
                &self.principal().name,
            )
            .await
    }

    /// `OPTIMIZE name [ZORDER BY (…)]`.
    pub(crate) async fn optimize(&self, name: &ProductName, zorder: &[String]) -> Result<Output> {
        let target = self.maintained(name, "OPTIMIZE")?;
        self.keep_policy(&target).await?;
        let report = self.compact(&target, zorder).await?;
        self.after_maintenance(target.product.as_ref()).await?;
        if let Some(m) = target.measured(report.live) {
            self.record_maintained(&[m]).await;
        }
        let batch = optimize_batch(&target.shown, &report)?;
        Ok(Output::rows(batch.schema(), vec![batch]))
    }

    /// `VACUUM name [RETAIN n HOURS] [DRY RUN] [FORCE]`.
    pub(crate) async fn vacuum(
        &self,
        name: &ProductName,
        options: VacuumOptions,
    ) -> Result<Output> {
        let target = self.maintained(name, "VACUUM")?;
        self.keep_policy(&target).await?;
        let report = self
            .warehouse()
            .data()
            .vacuum(
                &target.location,
                &target.shown,
                options,
                &self.principal().name,
            )
            .await?;
        self.after_maintenance(target.product.as_ref()).await?;
        if !options.dry_run
            && let Some(m) = target.measured(report.live)
        {
            self.record_maintained(&[m]).await;
        }
        let batch = vacuum_batch(&target.shown, options.dry_run, &report)?;
        Ok(Output::rows(batch.schema(), vec![batch]))
    }

    /// Records in `meta.products` what maintenance left of each product's table (its files,
    /// their bytes, when): one catalog commit, made again on a newer catalog when another
    /// writer's came first. A product dropped or given another table meanwhile is left out.
    /// The maintenance is done whatever this finds, so a failure is logged, not returned.
    async fn record_maintained(&self, measured: &[Measured]) {
        const ATTEMPTS: usize = 5;
        for attempt in 1..=ATTEMPTS {
            let state = self.catalog().state();
            let products = measured
                .iter()
                .filter_map(|m| {
                    let before = state.products.get(&m.product)?;
                    if **before != *m.seen {
                        return None;
                    }
                    let after = DataProduct {
                        file_count: i64::try_from(m.live.count).ok(),
                        size_bytes: i64::try_from(m.live.bytes).ok(),
                        last_maintained: Some(m.at),
                        ..DataProduct::clone(before)
                    };
                    Some(ProductChange::Update {
                        before: DataProduct::clone(before),
                        after,
                    })
                })
                .collect::<Vec<_>>();
            let changes = ChangeSummary {
                products,
                ..Default::default()
            };
            match self.catalog().commit(&changes, self.principal()).await {
                Ok(()) => return,
                Err(Error::Conflict { .. }) if attempt < ATTEMPTS => {
                    if let Err(e) = self.catalog().refresh().await {
                        tracing::warn!(error = %e, "maintenance not recorded in meta.products");
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "maintenance not recorded in meta.products");
                    return;
                }
            }
        }
    }

    /// Catches the catalog up with a maintained system table; a product's provider is reopened
    /// by the next statement that reads it.
    async fn after_maintenance(&self, product: Option<&ProductName>) -> Result<()> {
        match product {
            Some(name) => {
                self.forget(name).await;
                Ok(())
            }
            None => self.catalog().refresh().await.map(|_| ()),
        }
    }
}

/// How many maintained products `MAINTAIN` records in `meta.products` in one catalog commit
/// (a long run records as it goes).
const RECORDED_TOGETHER: usize = 100;

/// What `MAINTAIN` did to one table.
#[derive(Debug, Clone, Default)]
pub struct MaintainedTable {
    /// `domain.product` or `meta.table`.
    pub table: String,
    /// The compaction.
    pub optimized: OptimizeReport,
    /// The vacuum.
    pub vacuumed: VacuumReport,
    /// Why it failed, if it did (the other tables are maintained all the same).
    pub error: Option<String>,
    /// How long it took.
    pub seconds: f64,
}

impl Session {
    /// `MAINTAIN`: `OPTIMIZE` then `VACUUM` (the table's retention) of each table of `target`
    /// that lakemeta owns and the principal may maintain (every system table too, for a
    /// platform admin, when the target is everything), one after another, calling `progress`
    /// after each. A table that fails is reported in its row and the others go on.
    pub async fn maintain(
        &self,
        target: &CheckTarget,
        progress: &(dyn Fn(&MaintainedTable) + Sync),
    ) -> Result<Output> {
        let state = self.catalog().state();
        let governance = &state.governance;
        let who = &self.principal().name;
        let ours = |p: &DataProduct| p.kind == ProductKind::Managed.as_str() && p.format == "delta";
        let may = |p: &DataProduct| {
            state
                .domain(&p.domain)
                .and_then(|d| governance.may_write_product(who, p, d))
                .is_ok()
        };
        let mut tables: Vec<ProductName> = match target {
            CheckTarget::Products(names) => names.clone(),
            CheckTarget::Domain(d) => {
                governance.may_write_domain(who, state.domain(d)?)?;
                state
                    .products_in(d)
                    .filter(|p| ours(p))
                    .map(|p| ProductName::new(&p.domain, &p.name))
                    .collect()
            }
            CheckTarget::All => state
                .products
                .values()
                .filter(|p| ours(p) && may(p))
                .map(|p| ProductName::new(&p.domain, &p.name))
                .collect(),
        };
        tables.sort();
        let admin = !governance.enabled() || governance.is_admin(who);
        if matches!(target, CheckTarget::All) && admin {
            tables.extend(
                SystemTableKind::ALL
                    .iter()
                    .map(|k| ProductName::new("meta", k.name())),
            );
        }
        // an explicit product that may not be maintained fails the statement before any work
        if let CheckTarget::Products(names) = target {
            for name in names {
                self.maintained(name, "MAINTAIN")?;
            }
        }
        let mut rows = Vec::with_capacity(tables.len());
        let mut measured = Vec::new();
        for name in &tables {
            let started = std::time::Instant::now();
            let mut row = MaintainedTable {
                table: name.to_string(),
                ..Default::default()
            };
            let done = async {
                let target = self.maintained(name, "MAINTAIN")?;
                let data = self.warehouse().data();
                let by = &self.principal().name;
                self.keep_policy(&target).await?;
                row.optimized = self.compact(&target, &[]).await?;
                row.vacuumed = data
                    .vacuum(
                        &target.location,
                        &target.shown,
                        VacuumOptions::default(),
                        by,
                    )
                    .await?;
                self.after_maintenance(target.product.as_ref()).await?;
                Ok::<_, Error>(target.measured(row.vacuumed.live))
            }
            .await;
            match done {
                Ok(m) => measured.extend(m),
                Err(e) => row.error = Some(e.to_string()),
            }
            row.seconds = started.elapsed().as_secs_f64();
            progress(&row);
            rows.push(row);
            if measured.len() >= RECORDED_TOGETHER {
                self.record_maintained(&std::mem::take(&mut measured)).await;
            }
        }
        self.record_maintained(&measured).await;
        if matches!(target, CheckTarget::All) && admin {
            self.remove_abandoned_tables(&mut rows, progress).await;
        }
        let batch = maintain_batch(&rows)?;
        Ok(Output::rows(batch.schema(), vec![batch]))
    }

    /// Deletes the tables that creations cut off before the catalog took them left in the
    /// domains' directories, once untouched for longer than the domain's retention (a week by
    /// default): a row each, `files_deleted` its files.
    async fn remove_abandoned_tables(
        &self,
        rows: &mut Vec<MaintainedTable>,
        progress: &(dyn Fn(&MaintainedTable) + Sync),
    ) {
        // the catalog as it is now: a table another process has just made its product's stays
        let state = match self.catalog().refresh().await {
            Ok(_) => self.catalog().state(),
            Err(e) => {
                tracing::warn!(error = %e, "abandoned tables not looked for");
                return;
            }
        };
        let data = self.warehouse().data();
        for domain in state.domains.values() {
            let started = std::time::Instant::now();
            let kept: Vec<url::Url> = state
                .products_in(&domain.name)
                .filter_map(|p| data.resolve(&p.location).ok())
                .collect();
            let days = domain.retention_days.unwrap_or(7).unsigned_abs();
            let age = std::time::Duration::from_secs(days * 86_400);
            let found = match self.warehouse().domain_location(&domain.name) {
                Ok(dir) => data.abandoned_tables(&dir, &kept, age).await,
                Err(e) => Err(e),
            };
            let mut report = |table: String, files: Vec<String>, error: Option<String>| {
                let row = MaintainedTable {
                    table,
                    vacuumed: VacuumReport {
                        files,
                        retain_hours: days * 24,
                        live: TableFiles::default(),
                    },
                    error,
                    seconds: started.elapsed().as_secs_f64(),
                    ..Default::default()
                };
                progress(&row);
                rows.push(row);
            };
            match found {
                Err(e) => report(
                    format!("{}: tables of no product", domain.name),
                    Vec::new(),
                    Some(e.to_string()),
                ),
                Ok(tables) => {
                    for (table, files) in tables {
                        let shown = format!("{table} (the table of no product)");
                        match data.delete_tree(&table).await {
                            Ok(()) => report(shown, files, None),
                            Err(e) => report(shown, Vec::new(), Some(e.to_string())),
                        }
                    }
                }
            }
        }
    }
}

fn maintain_batch(rows: &[MaintainedTable]) -> Result<RecordBatch> {
    let n = |f: &dyn Fn(&MaintainedTable) -> u64| {
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| i64::try_from(f(r)).unwrap_or(i64::MAX)),
        )) as ArrayRef
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("table", DataType::Utf8, false),
        Field::new("files_compacted", DataType::Int64, false),
        Field::new("files_written", DataType::Int64, false),
        Field::new("files_deleted", DataType::Int64, false),
        Field::new("seconds", DataType::Float64, false),
        Field::new("error", DataType::Utf8, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.table.as_str()),
        )),
        n(&|r| r.optimized.files_removed),
        n(&|r| r.optimized.files_added),
        n(&|r| r.vacuumed.files.len() as u64),
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r.seconds),
        )),
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r.error.as_deref()),
        )),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}

fn optimize_batch(table: &str, r: &OptimizeReport) -> Result<RecordBatch> {
    let n = |v: u64| Arc::new(Int64Array::from(vec![i64::try_from(v).unwrap_or(i64::MAX)]));
    let schema = Arc::new(Schema::new(vec![
        Field::new("table", DataType::Utf8, false),
        Field::new("files_removed", DataType::Int64, false),
        Field::new("files_added", DataType::Int64, false),
        Field::new("bytes_removed", DataType::Int64, false),
        Field::new("bytes_added", DataType::Int64, false),
        Field::new("version", DataType::Int64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![table])),
        n(r.files_removed),
        n(r.files_added),
        n(r.bytes_removed),
        n(r.bytes_added),
        n(r.version),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}

fn vacuum_batch(table: &str, dry_run: bool, r: &VacuumReport) -> Result<RecordBatch> {
    let mut files = ListBuilder::new(StringBuilder::new());
    for f in &r.files {
        files.values().append_value(f);
    }
    files.append(true);
    let files = files.finish();
    let schema = Arc::new(Schema::new(vec![
        Field::new("table", DataType::Utf8, false),
        Field::new("dry_run", DataType::Boolean, false),
        Field::new("retain_hours", DataType::Int64, false),
        Field::new("files_deleted", DataType::Int64, false),
        Field::new("files", files.data_type().clone(), false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![table])),
        Arc::new(BooleanArray::from(vec![dry_run])),
        Arc::new(Int64Array::from(vec![
            i64::try_from(r.retain_hours).unwrap_or(i64::MAX),
        ])),
        Arc::new(Int64Array::from(vec![
            i64::try_from(r.files.len()).unwrap_or(i64::MAX),
        ])),
        Arc::new(files),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}
