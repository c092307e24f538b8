//! `SHOW HISTORY`: the commits of a Delta data product or a system table, newest first — the
//! version, when, what operation, who, and the rows each added and removed. A product's history
//! is for those who may read all of it; a system table's for the platform admins.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

use super::output::Output;
use super::session::Session;
use crate::error::{Error, Result};
use crate::model::ProductName;
use crate::storage::{HistoryEntry, SystemTableKind};

impl Session {
    /// The history of `name` (a data product, or `meta.<system table>`).
    pub(crate) async fn show_history(
        &self,
        name: &ProductName,
        limit: Option<usize>,
    ) -> Result<Output> {
        let wh = self.warehouse();
        let state = self.catalog().state();
        let who = &self.principal().name;
        let url = if name.domain == "meta" {
            // commit sizes of every system table, the audit log's included: the admins' to see
            if state.governance.enabled() && !state.governance.is_admin(who) {
                return Err(Error::PermissionDenied(format!(
                    "the history of {name} is for platform admins; {who} is not one (SHOW \
                     HISTORY of a data product you may read shows its commits)"
                )));
            }
            let kind = SystemTableKind::ALL
                .into_iter()
                .find(|k| k.name() == name.name)
                .ok_or_else(|| Error::UnknownTable {
                    name: name.to_string(),
                    hint: format!(
                        "the system tables are {}",
                        SystemTableKind::ALL.map(|k| k.name()).join(", ")
                    ),
                })?;
            wh.table(kind).url().clone()
        } else {
            // the rows every commit added to and removed from the whole table: for those who
            // may read all of it
            state.read_whole(who, name, "SHOW HISTORY")?;
            let product = state.product(name)?;
            if product.format != "delta" {
                return Err(Error::invalid(format!(
                    "data product {name} is {} files at {}, which keep no history: only Delta \
                     products have one",
                    product.format, product.location
                )));
            }
            wh.data().resolve(&product.location)?
        };
        let entries = wh.data().history(&url, limit).await?;
        let batch = history_batch(&entries)?;
        Ok(Output::rows(batch.schema(), vec![batch]))
    }
}

/// The history as rows: version, committed_at, operation, principal, rows_added, rows_removed.
fn history_batch(entries: &[HistoryEntry]) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("version", DataType::Int64, false),
        Field::new(
            "committed_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("operation", DataType::Utf8, false),
        Field::new("principal", DataType::Utf8, true),
        Field::new("rows_added", DataType::Int64, true),
        Field::new("rows_removed", DataType::Int64, true),
    ]));
    let count = |n: Option<u64>| n.and_then(|n| i64::try_from(n).ok());
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(
            entries.iter().map(|e| e.version as i64),
        )),
        Arc::new(
            TimestampMicrosecondArray::from_iter(
                entries
                    .iter()
                    .map(|e| e.committed_at_ms.map(|ms| ms.saturating_mul(1000))),
            )
            .with_timezone("UTC"),
        ),
        Arc::new(StringArray::from_iter_values(
            entries.iter().map(|e| e.operation.as_str()),
        )),
        Arc::new(StringArray::from_iter(
            entries.iter().map(|e| e.principal.as_deref()),
        )),
        Arc::new(Int64Array::from_iter(
            entries.iter().map(|e| count(e.rows_added)),
        )),
        Arc::new(Int64Array::from_iter(
            entries.iter().map(|e| count(e.rows_removed)),
        )),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}
