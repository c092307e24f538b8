//! Writing a system table by key in place: the rows with given keys are replaced or removed,
//! and only the files that hold them are read and rewritten (a large table is never rewritten
//! whole). A change that only adds rows appends one small file.

use std::collections::{BTreeMap, BTreeSet};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use datafusion::functions::expr_fn::{coalesce, concat_ws};
use datafusion::logical_expr::{Expr, col, lit};
use datafusion::prelude::SessionContext;
use deltalake::DeltaTable;
use deltalake::protocol::SaveMode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::schemas::SystemTableKind;
use super::system_table::{
    Commit, Keyed, RowChange, SystemTable, decode, delta_err, encode, read_all,
};
use crate::error::{Error, Result};

/// Marks a NULL key column inside a key (a NUL cannot appear in a name).
const NULL_MARK: &str = "\u{0}";
/// Separates the key columns inside a key.
const SEPARATOR: &str = "\u{1f}";
/// Up to this many keys, a change reads and rewrites only the files that hold them (the filter
/// that finds them lists the keys, and a longer list costs more to plan than reading the table);
/// and up to this many distinct values of one key column, the filter also lists them for that
/// column alone, which lets the scan skip the files whose statistics rule them out.
const PRUNING_VALUES: usize = 64;

impl<T> RowChange<T> {
    /// The row the change is about (its key is the key the change touches).
    fn row(&self) -> &T {
        match self {
            RowChange::Upsert { row, .. } | RowChange::Ensure { row } => row,
            RowChange::Delete { expected } => expected,
        }
    }
}

/// Rows of a system table as the caller holds them at a version (see
/// [`SystemTable::apply_changes_known`]).
pub struct KnownRows<'a, T> {
    /// The version the rows are of.
    pub version: u64,
    /// The row with the key of the given row, if the table has one at that version.
    pub row: &'a (dyn Fn(&T) -> Option<T> + Send + Sync),
}

/// What keyed changes do to the rows they touch.
struct Outcome<'a, T> {
    /// The touched rows after the changes, by key.
    rows: BTreeMap<String, T>,
    /// The keys that had a row before the changes.
    existed: BTreeSet<String>,
    /// Every changed key, with a row that has it.
    changed: BTreeMap<String, &'a T>,
}

impl<'a, T: Keyed + PartialEq + Clone> Outcome<'a, T> {
    /// Applies `changes` to `current` (the rows with their keys as they are now), checking each
    /// against the row it expects: a row that another writer changed is [`Error::Conflict`].
    fn of(kind: SystemTableKind, changes: &'a [RowChange<T>], current: Vec<T>) -> Result<Self> {
        let mut rows: BTreeMap<String, T> = current.into_iter().map(|r| (r.key(), r)).collect();
        let existed: BTreeSet<String> = rows.keys().cloned().collect();
        let mut changed: BTreeMap<String, &T> = BTreeMap::new();
        for change in changes {
            let conflict = |key: &str| Error::Conflict {
                what: format!("{} row '{key}'", kind.name()),
            };
            match change {
                RowChange::Upsert { expected, row } => {
                    let key = row.key();
                    if rows.get(&key) != expected.as_ref() {
                        return Err(conflict(&key));
                    }
                    rows.insert(key.clone(), row.clone());
                    changed.insert(key, row);
                }
                RowChange::Ensure { row } => {
                    let key = row.key();
                    match rows.get(&key) {
                        Some(existing) if existing.same_content(row) => {}
                        Some(_) => return Err(conflict(&key)),
                        None => {
                            rows.insert(key.clone(), row.clone());
                            changed.insert(key, row);
                        }
                    }
                }
                RowChange::Delete { expected } => {
                    let key = expected.key();
                    if rows.get(&key) != Some(expected) {
                        return Err(conflict(&key));
                    }
                    rows.remove(&key);
                    changed.insert(key, expected);
                }
            }
        }
        Ok(Self {
            rows,
            existed,
            changed,
        })
    }

    /// True when every changed key is new (the change only adds rows).
    fn only_new_keys(&self) -> bool {
        !self.changed.keys().any(|k| self.existed.contains(k))
    }

    /// The rows with a changed key after the changes (removed ones are not there).
    fn new_rows(&self) -> Vec<&T> {
        self.changed
            .keys()
            .filter_map(|k| self.rows.get(k))
            .collect()
    }
}

impl SystemTable {
    /// Applies keyed changes in one commit, retrying with backoff and jitter while other writers
    /// win the race. Each change is checked against the row as it is now: a row that another
    /// writer changed ends the operation in [`Error::Conflict`] and nothing is written. Returns
    /// the new version, or `None` when there was nothing to change.
    ///
    /// The commit costs the change, not the table: only the rows with the changes' keys are
    /// read (the files whose statistics rule them out are skipped), a change that only adds
    /// rows appends them, and one that replaces or removes rows rewrites only the files that
    /// hold them. A bulk change (more than a few dozen keys) and a table without key columns
    /// (the one-row policy) are read and rewritten whole, sorted by key.
    pub async fn apply_changes<T>(&self, changes: &[RowChange<T>]) -> Result<Option<u64>>
    where
        T: Keyed + Serialize + DeserializeOwned + PartialEq + Clone + Send + Sync,
    {
        self.apply_changes_known(changes, None).await
    }

    /// [`Self::apply_changes`], told the rows as of a version the caller holds in memory: while
    /// the table is still at that version, the changes are checked against them and nothing is
    /// read before writing (a new product is then one small append, however large the table).
    pub async fn apply_changes_known<T>(
        &self,
        changes: &[RowChange<T>],
        known: Option<KnownRows<'_, T>>,
    ) -> Result<Option<u64>>
    where
        T: Keyed + Serialize + DeserializeOwned + PartialEq + Clone + Send + Sync,
    {
        if changes.is_empty() {
            return Ok(None);
        }
        let kind = self.kind();
        let columns = kind.key_columns();
        let touched: Vec<&T> = changes.iter().map(RowChange::row).collect();
        // a few keys: read and rewrite only their files; many (a bulk change): the whole table
        let by_key = !columns.is_empty() && touched.len() <= PRUNING_VALUES;
        let only_new = changes.iter().all(|c| {
            matches!(
                c,
                RowChange::Upsert { expected: None, .. } | RowChange::Ensure { .. }
            )
        });
        if let Some(k) = &known
            && by_key
            && only_new
            && self.version().await == k.version
        {
            // checked against the rows the caller holds at the table's version: new rows are
            // appended as the next version, unless another writer takes it first
            let current = touched.iter().filter_map(|r| (k.row)(r)).collect();
            let outcome = Outcome::of(kind, changes, current)?;
            if outcome.changed.is_empty() {
                return Ok(None);
            }
            if outcome.only_new_keys()
                && let Some(version) = self
                    .append_on(encode(kind, &outcome.new_rows())?, k.version)
                    .await?
            {
                self.merge_small_files().await;
                return Ok(Some(version));
            }
        }
        if by_key
            && only_new
            && let Some(appended) = self.append_new_keys(changes, &touched).await?
        {
            if appended.is_some() {
                self.merge_small_files().await;
            }
            return Ok(appended);
        }
        // the filter that finds the touched rows, made when a commit first reads them
        let read_filter = tokio::sync::OnceCell::new();
        let (read_filter, touched, known) = (&read_filter, &touched, &known);
        let version = self.commit_with_retry(move |table: DeltaTable| async move {
            let started = std::time::Instant::now();
            let current: Vec<T> = match known {
                // rows of a table written by key, whose other rows a commit leaves alone
                Some(k)
                    if table.version() == Some(k.version)
                        && !columns.is_empty()
                        && (by_key || only_new) =>
                {
                    touched.iter().filter_map(|r| (k.row)(r)).collect()
                }
                _ => {
                    let filter = read_filter
                        .get_or_try_init(|| async {
                            if by_key {
                                Ok::<_, Error>(Some(rows_filter(columns, &encode(kind, touched)?).await?))
                            } else {
                                Ok(None)
                            }
                        })
                        .await?;
                    decode(&read_where(self.url(), &table, filter.as_ref()).await?)?
                }
            };
            tracing::debug!(table = kind.name(), rows = current.len(), by_key, elapsed = ?started.elapsed(), "the rows a change touches");
            let outcome = Outcome::of(kind, changes, current)?;
            if outcome.changed.is_empty() {
                return Ok(None);
            }
            let new_rows = outcome.new_rows();
            if !columns.is_empty() && outcome.only_new_keys() {
                // only new keys: the commit is made on the version just read, so no other
                // writer can have added them meanwhile
                return Ok(Some(Commit::Write(encode(kind, &new_rows)?, SaveMode::Append)));
            }
            if !by_key {
                // the whole table was read (known rows stand for it only when every change
                // is new, which appended above): written again whole, sorted by key
                let all: Vec<&T> = outcome.rows.values().collect();
                return Ok(Some(Commit::Write(encode(kind, &all)?, SaveMode::Overwrite)));
            }
            let keyed: Vec<&T> = outcome.changed.values().copied().collect();
            let predicate = rows_filter(columns, &encode(kind, &keyed)?).await?;
            Ok(Some(if new_rows.is_empty() {
                Commit::Delete(predicate)
            } else {
                Commit::ReplaceWhere(encode(kind, &new_rows)?, predicate)
            }))
        })
        .await?;
        if version.is_some() && !columns.is_empty() {
            self.merge_small_files().await;
        }
        Ok(version)
    }

    /// New rows (inserts and rows to ensure), checked against the rows with their keys in the
    /// table at the newest version this process knows and appended as the version after it,
    /// without bringing the writer's snapshot up to date: the rows are read from the snapshot's
    /// files whose statistics leave room for them and from the files this process appended
    /// since (those kept in memory are not read again). Returns `Some` of what
    /// [`Self::apply_changes`] returns when done so (`Some(None)`: nothing to change), `None`
    /// when the table cannot be written so (another writer committed since the snapshot, or
    /// takes the version first; deletion vectors; a log store without blind commits): nothing
    /// was written, and the caller commits the ordinary way.
    async fn append_new_keys<T>(
        &self,
        changes: &[RowChange<T>],
        touched: &[&T],
    ) -> Result<Option<Option<u64>>>
    where
        T: Keyed + Serialize + DeserializeOwned + PartialEq + Clone,
    {
        let kind = self.kind();
        let Some(first) = kind.key_columns().first() else {
            return Ok(None);
        };
        let Some(values) = distinct_values(&encode(kind, touched)?, first)? else {
            return Ok(None);
        };
        let mut guard = self.table.lock().await;
        if !super::blind_append::supported(&guard) {
            // nothing to read: the change goes the ordinary way, which reads what it needs
            return Ok(None);
        }
        let Some(appended) = self.appended_since(&guard) else {
            return Ok(None);
        };
        let at = self.known_version(&guard);
        let Some(batches) = self
            .read_matching_with(&guard, &appended, first, &values)
            .await?
        else {
            return Ok(None);
        };
        let outcome = Outcome::of(kind, changes, decode(&batches)?)?;
        if outcome.changed.is_empty() {
            return Ok(Some(None));
        }
        if !outcome.only_new_keys() {
            return Ok(None);
        }
        let batch = encode(kind, &outcome.new_rows())?;
        Ok(self.append_held(&mut guard, batch, at).await?.map(Some))
    }

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
        if let Some(at) = absent_at.filter(|_| append_only)
            && let Some(version) = self.append_on(batch.clone(), at).await?
        {
            self.merge_small_files().await;
            return Ok(Some(version));
        }
        let (batch, removed, key) = (&batch, &removed, &key);
        let version = self
            .commit_with_retry(move |table| async move {
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
            .await?;
        if version.is_some() {
            self.merge_small_files().await;
        }
        Ok(version)
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

/// A filter matching exactly the rows whose key is the key of one of `batch`'s rows, written so
/// that a scan can skip files by their column statistics.
async fn rows_filter(columns: &[&str], batch: &RecordBatch) -> Result<Expr> {
    if let [only] = columns
        && let Some(values) = distinct_values(batch, only)?
    {
        return Ok(col(*only).in_list(values.into_iter().map(lit).collect(), false));
    }
    let key = key_expr(columns);
    let mut keys = keys_of(batch, &key).await?;
    keys.sort_unstable();
    keys.dedup();
    let mut filter = key.in_list(keys.into_iter().map(lit).collect(), false);
    for c in columns {
        if let Some(values) = distinct_values(batch, c)?
            && values.len() <= PRUNING_VALUES
        {
            filter = col(*c)
                .in_list(values.into_iter().map(lit).collect(), false)
                .and(filter);
        }
    }
    Ok(filter)
}

/// The distinct values of a string column of `batch`; `None` when one is NULL (an `IN` list
/// cannot match it).
fn distinct_values(batch: &RecordBatch, column: &str) -> Result<Option<Vec<String>>> {
    let Some(array) = batch.column_by_name(column) else {
        return Err(Error::invalid(format!("no key column {column}")));
    };
    if array.null_count() > 0 {
        return Ok(None);
    }
    let strings = arrow::compute::cast(array, &DataType::Utf8)?;
    let strings = strings.as_string::<i32>();
    let set: BTreeSet<String> = (0..strings.len())
        .map(|i| strings.value(i).to_string())
        .collect();
    Ok(Some(set.into_iter().collect()))
}

/// The table's rows that `filter` keeps (all of them without one), read with the files the
/// filter rules out skipped.
async fn read_where(
    url: &Url,
    table: &DeltaTable,
    filter: Option<&Expr>,
) -> Result<Vec<RecordBatch>> {
    let Some(filter) = filter else {
        return read_all(url, table).await;
    };
    let ctx = SessionContext::new();
    table
        .update_datafusion_session(&ctx.state())
        .map_err(|e| delta_err(url, e))?;
    let provider = table.table_provider().await.map_err(Error::DataFusion)?;
    Ok(ctx
        .read_table(provider)?
        .filter(filter.clone())?
        .collect()
        .await?)
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
