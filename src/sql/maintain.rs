//! `OPTIMIZE` and `VACUUM` of a managed data product or a system table: for the product's owner
//! team and the platform admins (a system table: the admins). lakemeta maintains only the
//! tables it owns: an external product's files belong to the tool that writes them.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Int64Array, ListBuilder, RecordBatch, StringArray, StringBuilder,
};
use arrow::datatypes::{DataType, Field, Schema};

use super::output::Output;
use super::session::Session;
use crate::error::{Error, Result};
use crate::model::{ProductKind, ProductName};
use crate::storage::{OptimizeReport, SystemTableKind, VacuumOptions, VacuumReport};

/// A table to maintain: where it is and how it is named.
struct Maintained {
    location: String,
    shown: String,
    product: Option<ProductName>,
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
        Ok(Maintained {
            location: product.location.clone(),
            shown: name.to_string(),
            product: Some(name.clone()),
        })
    }

    /// `OPTIMIZE name [ZORDER BY (…)]`.
    pub(crate) async fn optimize(&self, name: &ProductName, zorder: &[String]) -> Result<Output> {
        let target = self.maintained(name, "OPTIMIZE")?;
        let report = self
            .warehouse()
            .data()
            .optimize(
                &target.location,
                &target.shown,
                zorder,
                None,
                &self.principal().name,
            )
            .await?;
        self.after_maintenance(target.product.as_ref()).await?;
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
        let batch = vacuum_batch(&target.shown, options.dry_run, &report)?;
        Ok(Output::rows(batch.schema(), vec![batch]))
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
