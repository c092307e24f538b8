//! Writing a system table by key in place: the rows with given keys are replaced or removed,
//! and only the files that hold them are rewritten (a large table is not rewritten whole).

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use datafusion::functions::expr_fn::{coalesce, concat_ws};
use datafusion::logical_expr::{Expr, col, lit};
use datafusion::prelude::SessionContext;
use deltalake::protocol::SaveMode;
use serde::Serialize;

use super::system_table::{Commit, SystemTable, encode};
use crate::error::{Error, Result};

/// Marks a NULL key column inside a key (a NUL cannot appear in a name).
const NULL_MARK: &str = "\u{0}";
/// Separates the key columns inside a key.
const SEPARATOR: &str = "\u{1f}";

impl SystemTable {
    /// In one commit: removes the rows that have the key of a row of `remove` or of `rows`, then
    /// writes `rows`. A row of `rows` that another writer added meanwhile is therefore replaced,
    /// not doubled, and a row of `remove` that is gone already is no error. Only the table's
    /// files holding such rows are rewritten. Returns the new version (`None`: nothing to do).
    ///
    /// `absent_at`: a version at which the caller saw none of `rows`' keys. When nothing is to
    /// be removed and the table is still at that version, the rows are simply appended (no
    /// scan, however many rows there are).
    pub async fn replace_by_key<T: Serialize>(
        &self,
        remove: &[T],
        rows: &[T],
        absent_at: Option<u64>,
    ) -> Result<Option<u64>> {
        let columns = self.kind().key_columns();
        if columns.is_empty() {
            return Err(Error::invalid(format!(
                "system table {} is not written by key",
                self.kind().name()
            )));
        }
        if remove.is_empty() && rows.is_empty() {
            return Ok(None);
        }
        let key = key_expr(columns);
        let batch = encode(self.kind(), rows)?;
        let removed = encode(self.kind(), remove)?;
        let append_only = remove.is_empty() && absent_at.is_some();
        let (batch, removed, key) = (&batch, &removed, &key);
        self.commit_with_retry(move |table| async move {
            if append_only && table.version() == absent_at {
                return Ok(Some(Commit::Write(batch.clone(), SaveMode::Append)));
            }
            let mut keys = keys_of(removed, key).await?;
            keys.extend(keys_of(batch, key).await?);
            keys.sort_unstable();
            keys.dedup();
            let predicate = key
                .clone()
                .in_list(keys.into_iter().map(lit).collect(), false);
            Ok(Some(if batch.num_rows() == 0 {
                Commit::Delete(predicate)
            } else {
                Commit::ReplaceWhere(batch.clone(), predicate)
            }))
        })
        .await
    }
}

/// A row's key as one string: its key columns joined, NULL marked.
fn key_expr(columns: &[&str]) -> Expr {
    concat_ws(
        lit(SEPARATOR),
        columns
            .iter()
            .map(|c| coalesce(vec![col(*c), lit(NULL_MARK)]))
            .collect(),
    )
}

/// The keys of a batch's rows, computed by the same expression the predicate uses.
async fn keys_of(batch: &RecordBatch, key: &Expr) -> Result<Vec<String>> {
    if batch.num_rows() == 0 {
        return Ok(Vec::new());
    }
    let ctx = SessionContext::new();
    let out = ctx
        .read_batch(batch.clone())?
        .select(vec![key.clone().alias("key")])?
        .collect()
        .await?;
    let mut keys = Vec::with_capacity(batch.num_rows());
    for b in out {
        let column = arrow::compute::cast(b.column(0), &DataType::Utf8)?;
        let strings = column.as_string::<i32>();
        keys.extend(
            (0..strings.len())
                .filter(|i| strings.is_valid(*i))
                .map(|i| strings.value(i).to_string()),
        );
    }
    Ok(keys)
}
