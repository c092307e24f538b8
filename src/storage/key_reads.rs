//! Reading the rows of a few keys of a system table without reading the table: the files whose
//! log statistics rule the keys out are skipped, in the files read the row groups whose own
//! statistics rule them out are skipped, and of the rest only the key column is decoded until a
//! row matches. A table written by key is kept sorted by its first key column (every commit
//! writes its rows sorted by key, and [`SystemTable::compact`] rewrites the table so), so a
//! handful of keys falls in a handful of files.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch, new_null_array};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::error::ArrowError;
use bytes::Bytes;
use datafusion::common::Column;
use datafusion::physical_optimizer::pruning::PruningStatistics;
use deltalake::DeltaTable;
use deltalake::table::state::DeltaTableState;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowPredicateFn, ParquetRecordBatchReaderBuilder, RowFilter};
use parquet::errors::ParquetError;
use parquet::file::metadata::RowGroupMetaData;
use url::Url;

use super::system_table::{AppendedFile, SystemTable, add_path, delta_err};
use crate::error::{Error, Result};

/// How many of a table's files are read at once.
const FILES_AT_ONCE: usize = 8;

/// The values a read looks for, sorted, with the range test the statistics need.
struct Wanted {
    sorted: Vec<String>,
    /// Asked of every row read: foldhash, randomly seeded per process as the lineage graph's
    /// maps are, hashes these short keys several times faster than the standard hasher.
    set: HashSet<String, foldhash::fast::RandomState>,
}

impl Wanted {
    fn new(values: &[String]) -> Self {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let set = sorted.iter().cloned().collect();
        Self { sorted, set }
    }

    /// Which of these keys are wanted (a null key never is).
    fn matches(&self, keys: &ArrayRef) -> std::result::Result<BooleanArray, ArrowError> {
        let keys = arrow::compute::cast(keys, &DataType::Utf8)?;
        let keys = keys.as_string::<i32>();
        Ok((0..keys.len())
            .map(|i| Some(keys.is_valid(i) && self.set.contains(keys.value(i))))
            .collect())
    }

    /// True when some wanted value lies in `[min, max]`; an unknown bound rules nothing out.
    fn any_between(&self, min: Option<&str>, max: Option<&str>) -> bool {
        let from = min.map_or(0, |m| self.sorted.partition_point(|v| v.as_str() < m));
        match (self.sorted.get(from), max) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(v), Some(max)) => v.as_str() <= max,
        }
    }
}

impl SystemTable {
    /// The rows of the table at `version` whose string column `column` holds one of `values`,
    /// with only `columns` read (a column a file lacks reads as nulls; `column` need not be
    /// among them). Files and row groups whose statistics rule every value out are not read.
    pub async fn read_matching_at(
        &self,
        version: u64,
        column: &str,
        values: &[String],
        columns: &[&str],
    ) -> Result<Vec<RecordBatch>> {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let mut table = self.delta_table().await?;
        if table.version() != Some(version) {
            table
                .load_version(version)
                .await
                .map_err(|e| delta_err(self.url(), e))?;
        }
        let wanted = Arc::new(Wanted::new(values));
        let schema = Arc::new(
            self.kind().schema().project(
                &columns
                    .iter()
                    .map(|c| self.kind().schema().index_of(c))
                    .collect::<std::result::Result<Vec<_>, _>>()?,
            )?,
        );
        let snapshot = table.snapshot().map_err(|e| delta_err(self.url(), e))?;
        let Some(paths) = files_to_read(snapshot, column, &wanted) else {
            return read_all_matching(self.url(), &table, column, &wanted, &schema).await;
        };
        self.read_files(&table, paths, column, &wanted, &schema)
            .await
    }

    /// The rows of `paths`, files of `table`, whose `column` is wanted, as batches of `schema`.
    async fn read_files(
        &self,
        table: &DeltaTable,
        paths: Vec<Path>,
        column: &str,
        wanted: &Arc<Wanted>,
        schema: &SchemaRef,
    ) -> Result<Vec<RecordBatch>> {
        let store = table.log_store().object_store(None);
        let per_file = each_file(self.url(), store, paths, |file, bytes| {
            read_file(
                self.url(),
                file,
                bytes,
                column.to_string(),
                Arc::clone(wanted),
                Arc::clone(schema),
            )
        })
        .await?;
        Ok(per_file.into_iter().flatten().collect())
    }
}

impl SystemTable {
    /// The rows, every column, whose string column `column` holds one of `values`, of the
    /// table as `writer` holds it together with `appended`, the files this process appended
    /// after it ([`Self::appended_since`]): the table at the newest version this process knows,
    /// read without bringing the writer up to it. Appended rows kept in memory are filtered
    /// there. `None` when the snapshot's files do not stand alone (deletion vectors,
    /// partitions).
    pub(super) async fn read_matching_with(
        &self,
        writer: &DeltaTable,
        appended: &[AppendedFile],
        column: &str,
        values: &[String],
    ) -> Result<Option<Vec<RecordBatch>>> {
        let wanted = Arc::new(Wanted::new(values));
        let schema = self.kind().schema();
        let snapshot = writer.snapshot().map_err(|e| delta_err(self.url(), e))?;
        let Some(mut paths) = files_to_read(snapshot, column, &wanted) else {
            return Ok(None);
        };
        let mut rows = Vec::new();
        for file in appended {
            match &file.batch {
                Some(batch) => {
                    let Some(keys) = batch.column_by_name(column) else {
                        continue;
                    };
                    let kept = arrow::compute::filter_record_batch(batch, &wanted.matches(keys)?)?;
                    if kept.num_rows() > 0 {
                        rows.push(conform(&kept, &schema)?);
                    }
                }
                None => paths.push(add_path(&file.add)),
            }
        }
        rows.extend(
            self.read_files(writer, paths, column, &wanted, &schema)
                .await?,
        );
        Ok(Some(rows))
    }
}

/// Fetches each of `paths` (files of the table at `url`) whole, a few at a time, and hands its
/// address and bytes to `read`; the results in the order of the paths.
pub(super) async fn each_file<T, F, Fut>(
    url: &Url,
    store: Arc<dyn ObjectStore>,
    paths: Vec<Path>,
    read: F,
) -> Result<Vec<T>>
where
    F: Fn(String, Bytes) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let read = &read;
    let reads = paths.into_iter().map(|path| {
        let store = Arc::clone(&store);
        async move {
            let file = file_url(url, &path);
            let fetched = async { store.get(&path).await?.bytes().await };
            let bytes = fetched.await.map_err(|source| Error::ObjectStore {
                location: file.clone(),
                source,
            })?;
            read(file, bytes).await
        }
    });
    futures::stream::iter(reads)
        .buffered(FILES_AT_ONCE)
        .try_collect()
        .await
}

/// The rows of the whole table whose `column` is wanted: the read of a table whose files do
/// not stand alone (deletion vectors, partition values kept in the log).
async fn read_all_matching(
    url: &Url,
    table: &DeltaTable,
    column: &str,
    wanted: &Wanted,
    schema: &SchemaRef,
) -> Result<Vec<RecordBatch>> {
    let mut columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    if !columns.iter().any(|c| c == column) {
        columns.push(column.to_string());
    }
    let (_, stream) = table
        .scan_table()
        .with_columns(columns)
        .await
        .map_err(|e| delta_err(url, e))?;
    let batches: Vec<RecordBatch> = stream.try_collect().await?;
    let mut out = Vec::new();
    for b in &batches {
        let Some(keys) = b.column_by_name(column) else {
            continue;
        };
        let keep = wanted.matches(keys)?;
        let kept = arrow::compute::filter_record_batch(b, &keep)?;
        if kept.num_rows() > 0 {
            out.push(conform(&kept, schema)?);
        }
    }
    Ok(out)
}

/// The address of a file of the table at `url`, for errors (the table's URL ends in a slash).
pub(super) fn file_url(url: &Url, path: &Path) -> String {
    format!("{}/{path}", url.as_str().trim_end_matches('/'))
}

/// The snapshot's data files, in the log's order; `None` when they do not stand alone:
/// deletion vectors hide some of their rows, or partition values live in the log only.
pub(super) fn standalone_files(snapshot: &DeltaTableState) -> Option<Vec<Path>> {
    if !snapshot.metadata().partition_columns().is_empty() {
        return None;
    }
    snapshot
        .log_data()
        .iter()
        .map(|f| {
            f.deletion_vector_descriptor()
                .is_none()
                .then(|| f.object_store_path())
        })
        .collect()
}

/// The table's files whose log statistics leave room for a wanted value of
/// `column`; `None` when the files do not stand alone (deletion vectors, partitions).
fn files_to_read(snapshot: &DeltaTableState, column: &str, wanted: &Wanted) -> Option<Vec<Path>> {
    let files = standalone_files(snapshot)?;
    let data = snapshot.log_data();
    let key = Column::new_unqualified(column);
    let as_strings = |a: Option<ArrayRef>| {
        a.filter(|a| a.len() == files.len())
            .and_then(|a| arrow::compute::cast(&a, &DataType::Utf8).ok())
    };
    let mins = as_strings(data.min_values(&key));
    let maxs = as_strings(data.max_values(&key));
    fn bound(a: &Option<ArrayRef>, i: usize) -> Option<&str> {
        let s = a.as_ref()?.as_string::<i32>();
        s.is_valid(i).then(|| s.value(i))
    }
    // a file without bounds (no statistics, or only nulls in the column) is read
    Some(
        files
            .iter()
            .enumerate()
            .filter(|(i, _)| wanted.any_between(bound(&mins, *i), bound(&maxs, *i)))
            .map(|(_, path)| path.clone())
            .collect(),
    )
}

/// The rows of one data file whose `column` is wanted, as batches of `schema`. The file is
/// fetched whole (a system table's files are small: one request beats a request per column
/// chunk) and decoded off the async threads.
async fn read_file(
    url: &Url,
    file: String,
    bytes: Bytes,
    column: String,
    wanted: Arc<Wanted>,
    schema: SchemaRef,
) -> Result<Vec<RecordBatch>> {
    let decode = move || -> std::result::Result<Vec<RecordBatch>, Failure> {
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)?;
        let parquet_schema = builder.parquet_schema().clone();
        let file_schema = Arc::clone(builder.schema());
        let Ok(key_index) = file_schema.index_of(&column) else {
            // a file written before the column existed: every value is null, none is wanted
            return Ok(Vec::new());
        };
        let Some(key_leaf) = parquet_schema
            .columns()
            .iter()
            .position(|c| c.path().parts() == std::slice::from_ref(&column))
        else {
            return Err(Failure::Layout(column));
        };
        let row_groups: Vec<usize> = builder
            .metadata()
            .row_groups()
            .iter()
            .enumerate()
            .filter(|(_, rg)| row_group_may_hold(rg, key_leaf, &wanted))
            .map(|(i, _)| i)
            .collect();
        if row_groups.is_empty() {
            return Ok(Vec::new());
        }
        let present: Vec<usize> = schema
            .fields()
            .iter()
            .filter_map(|f| file_schema.index_of(f.name()).ok())
            .collect();
        let predicate = ArrowPredicateFn::new(
            ProjectionMask::roots(&parquet_schema, [key_index]),
            move |batch: RecordBatch| wanted.matches(batch.column(0)),
        );
        let reader = builder
            .with_row_groups(row_groups)
            .with_projection(ProjectionMask::roots(&parquet_schema, present))
            .with_row_filter(RowFilter::new(vec![Box::new(predicate)]))
            .build()?;
        let mut out = Vec::new();
        for batch in reader {
            let batch = batch?;
            if batch.num_rows() > 0 {
                out.push(conform(&batch, &schema)?);
            }
        }
        Ok(out)
    };
    let decoded = tokio::task::spawn_blocking(decode)
        .await
        .map_err(|e| Error::invalid(format!("reading {file} stopped: {e}")))?;
    decoded.map_err(|failure| failure.into_error(url, &file))
}

/// Why decoding a file failed.
pub(super) enum Failure {
    Parquet(ParquetError),
    Arrow(ArrowError),
    Layout(String),
    /// A column of the file whose type cannot be read as the table's.
    Type {
        column: String,
        found: String,
        expected: String,
    },
}

impl Failure {
    /// The error of a read of `file`, a file of the table at `url`.
    pub(super) fn into_error(self, url: &Url, file: &str) -> Error {
        match self {
            Failure::Parquet(e) => delta_err(url, e.into()),
            Failure::Arrow(e) => Error::Arrow(e),
            Failure::Layout(column) => Error::invalid(format!(
                "{file}: column {column} is not a plain column; the file was not written by \
                 lakemeta — restore the table from a backup"
            )),
            Failure::Type {
                column,
                found,
                expected,
            } => Error::invalid(format!(
                "{file}: column {column} holds {found} where the table holds {expected}; the \
                 file was not written by this lakemeta — open the warehouse with the lakemeta \
                 that wrote it, or restore the table from a backup"
            )),
        }
    }

    /// What went wrong, in words (for a failure that cannot be returned as an error).
    pub(super) fn describe(&self) -> String {
        match self {
            Failure::Parquet(e) => format!("the Parquet file cannot be read: {e}"),
            Failure::Arrow(e) => format!("the file's columns do not fit the table: {e}"),
            Failure::Layout(column) => format!("column {column} is not a plain column"),
            Failure::Type {
                column,
                found,
                expected,
            } => format!("column {column} holds {found} where the table holds {expected}"),
        }
    }
}

impl From<ParquetError> for Failure {
    fn from(e: ParquetError) -> Self {
        Failure::Parquet(e)
    }
}

impl From<ArrowError> for Failure {
    fn from(e: ArrowError) -> Self {
        Failure::Arrow(e)
    }
}

/// True when a row group's statistics of the key column leave room for a wanted value.
fn row_group_may_hold(rg: &RowGroupMetaData, leaf: usize, wanted: &Wanted) -> bool {
    let Some(stats) = rg.column(leaf).statistics() else {
        return true;
    };
    let min = stats
        .min_bytes_opt()
        .and_then(|b| std::str::from_utf8(b).ok());
    let max = stats
        .max_bytes_opt()
        .and_then(|b| std::str::from_utf8(b).ok());
    wanted.any_between(min, max)
}

/// A batch read from a file as a batch of `schema`: columns by name, cast to the table's types
/// (a file may hold strings in another layout), a column the file lacks as nulls.
pub(super) fn conform(
    batch: &RecordBatch,
    schema: &SchemaRef,
) -> std::result::Result<RecordBatch, ArrowError> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(c) if c.data_type() == f.data_type() => Ok(Arc::clone(c)),
            Some(c) => arrow::compute::cast(c, f.data_type()),
            None => Ok(new_null_array(f.data_type(), batch.num_rows())),
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    RecordBatch::try_new(Arc::clone(schema), columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_holds_a_wanted_value_only_when_one_lies_within_it() {
        let w = Wanted::new(&["b".into(), "d".into(), "b".into()]);
        assert!(w.any_between(Some("a"), Some("b")));
        assert!(w.any_between(Some("c"), Some("e")));
        assert!(!w.any_between(Some("bb"), Some("cz")));
        assert!(!w.any_between(Some("e"), None));
        assert!(w.any_between(None, Some("b")));
        assert!(!w.any_between(None, Some("a")));
        assert!(w.any_between(None, None));
    }
}
