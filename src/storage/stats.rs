//! What a Delta table's log knows about its data without reading it: row counts, null counts
//! and min/max per column (from the `add` actions' statistics), and when the last commit was
//! made.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, UInt64Array};
use arrow::datatypes::DataType;
use datafusion::common::{Column, ScalarValue};
use datafusion::physical_optimizer::pruning::PruningStatistics;
use deltalake::kernel::scalars::ScalarExt;

use super::data::ProductData;
use crate::error::Result;

/// Exact statistics of one column, where the log has them for every file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnStats {
    /// Number of nulls.
    pub null_count: Option<u64>,
    /// Smallest non-null value (numeric, decimal, date and timestamp columns only: string
    /// statistics may be truncated).
    pub min: Option<ScalarValue>,
    /// Largest non-null value (same types as `min`; timestamps are rounded up to the
    /// millisecond by Delta).
    pub max: Option<ScalarValue>,
}

/// Statistics of a Delta table from its log. Every figure is exact or absent: a file without
/// statistics, or any deletion vector, leaves the figures it would affect unknown.
#[derive(Debug, Clone, Default)]
pub struct TableStats {
    /// Number of rows.
    pub rows: Option<u64>,
    /// Per requested column.
    pub columns: HashMap<String, ColumnStats>,
    /// When the current version was committed (milliseconds since the epoch).
    pub committed_at_ms: Option<i64>,
    /// Number of data files.
    pub files: usize,
}

impl ProductData {
    /// The table's statistics for `columns`, from the Delta log; `None` for plain files.
    pub async fn stats(&self, columns: &[String]) -> Result<Option<TableStats>> {
        let Some((table, log)) = self.delta.as_ref() else {
            return Ok(None);
        };
        let Ok(snapshot) = table.snapshot() else {
            return Ok(None);
        };
        let version = snapshot.version();
        let committed_at_ms = match snapshot.version_timestamp(version) {
            Some(ms) => Some(ms),
            None => log.commit_time_ms(version).await?,
        };
        let data = snapshot.log_data();
        let files = data.num_files();
        let mut out = TableStats {
            committed_at_ms,
            files,
            ..Default::default()
        };
        if data
            .iter()
            .any(|f| f.deletion_vector_descriptor().is_some())
        {
            // row and null counts in the log include rows that deletion vectors remove
            return Ok(Some(out));
        }
        // per file: row count and null counts (the log's `stats`)
        let mut per_file: Vec<(Option<u64>, serde_json::Value)> = Vec::with_capacity(files);
        for f in data.iter() {
            let nulls = f
                .null_counts()
                .map(|s| s.to_json())
                .unwrap_or(serde_json::Value::Null);
            per_file.push((f.num_records().map(|n| n as u64), nulls));
        }
        out.rows = per_file.iter().map(|(r, _)| *r).sum::<Option<u64>>();
        let schema = self.schema();
        for name in columns {
            let Ok(field) = schema.field_with_name(name) else {
                continue;
            };
            let column = Column::new_unqualified(name);
            let null_count = per_file
                .iter()
                .map(|(_, nulls)| nulls.get(name).and_then(serde_json::Value::as_u64))
                .sum::<Option<u64>>();
            let exact_bounds = matches!(
                field.data_type(),
                DataType::Int8
                    | DataType::Int16
                    | DataType::Int32
                    | DataType::Int64
                    | DataType::UInt8
                    | DataType::UInt16
                    | DataType::UInt32
                    | DataType::UInt64
                    | DataType::Float32
                    | DataType::Float64
                    | DataType::Decimal128(_, _)
                    | DataType::Date32
                    | DataType::Timestamp(_, _)
            );
            let (min, max) = if exact_bounds && files > 0 {
                let rows: ArrayRef =
                    Arc::new(per_file.iter().map(|(r, _)| *r).collect::<UInt64Array>());
                let nulls: ArrayRef = Arc::new(
                    per_file
                        .iter()
                        .map(|(_, n)| n.get(name).and_then(serde_json::Value::as_u64))
                        .collect::<UInt64Array>(),
                );
                (
                    data.min_values(&column)
                        .and_then(|a| fold(&a, Some(&rows), Some(&nulls), true)),
                    data.max_values(&column)
                        .and_then(|a| fold(&a, Some(&rows), Some(&nulls), false)),
                )
            } else {
                (None, None)
            };
            out.columns.insert(
                name.clone(),
                ColumnStats {
                    null_count,
                    min: min.and_then(|v| v.cast_to(field.data_type()).ok()),
                    max: max.and_then(|v| v.cast_to(field.data_type()).ok()),
                },
            );
        }
        Ok(Some(out))
    }
}

/// The smallest (or largest) of per-file bounds. A file without a bound is fine only when all
/// its rows are null; otherwise the answer is unknown.
fn fold(
    bounds: &ArrayRef,
    rows: Option<&ArrayRef>,
    nulls: Option<&ArrayRef>,
    smallest: bool,
) -> Option<ScalarValue> {
    let rows = rows.and_then(|r| arrow::compute::cast(r, &DataType::UInt64).ok())?;
    let rows = rows.as_any().downcast_ref::<UInt64Array>()?.clone();
    let nulls = nulls.and_then(|r| arrow::compute::cast(r, &DataType::UInt64).ok())?;
    let nulls = nulls.as_any().downcast_ref::<UInt64Array>()?.clone();
    let mut best: Option<ScalarValue> = None;
    for i in 0..bounds.len() {
        if bounds.is_null(i) {
            let all_null = rows.is_valid(i) && nulls.is_valid(i) && rows.value(i) == nulls.value(i);
            if all_null {
                continue;
            }
            return None;
        }
        let v = ScalarValue::try_from_array(bounds, i).ok()?;
        best = match best {
            None => Some(v),
            Some(b) => {
                let better = if smallest { v < b } else { v > b };
                Some(if better { v } else { b })
            }
        };
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_bounds_makes_them_unknown_unless_it_is_all_null() {
        let bounds: ArrayRef = Arc::new(arrow::array::Int64Array::from(vec![Some(5), None]));
        let rows: ArrayRef = Arc::new(UInt64Array::from(vec![10, 4]));
        let all_null: ArrayRef = Arc::new(UInt64Array::from(vec![0, 4]));
        let some_null: ArrayRef = Arc::new(UInt64Array::from(vec![0, 1]));
        assert_eq!(
            fold(&bounds, Some(&rows), Some(&all_null), true),
            Some(ScalarValue::Int64(Some(5)))
        );
        assert_eq!(fold(&bounds, Some(&rows), Some(&some_null), true), None);
    }
}
