//! `SHOW HISTORY`: the commits of a Delta data product or a system table, newest first — the
//! version, when, what operation, who, and the rows each added and removed.

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
        let url = if name.domain == "meta" {
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
            let state = self.catalog().state();
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
