//! Reading a system table's keys without decoding its rows: each data file is fetched whole
//! (one request; a system table's files are small) and only its key columns are decoded; the
//! rest of the file is decoded the first time one of its rows is used. A new process that
//! opens a catalog of 100,000 products this way decodes two short text columns, not the
//! columns, checks and contracts of every product (which took most of its start-up).

use std::sync::{Arc, OnceLock};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use url::Url;

use super::key_reads::{Failure, conform, each_file, standalone_files};
use super::system_table::{SystemTable, delta_err, read_all};
use crate::error::{Error, Result};

/// The rows of one data file of a system table: fetched, and decoded when first asked for.
pub struct FileRows {
    /// The file's address, for errors.
    file: String,
    /// The file as fetched; `None` when the rows were decoded as they were read.
    bytes: Option<Bytes>,
    /// The table's schema, which the decoded rows take.
    schema: SchemaRef,
    decoded: OnceLock<std::result::Result<RecordBatch, String>>,
}

impl std::fmt::Debug for FileRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileRows({})", self.file)
    }
}

impl FileRows {
    /// Every row of the file as a batch of the table's schema, decoded the first time it is
    /// asked for (on the calling thread: a system table's file decodes in milliseconds). The
    /// error says which file failed and why; asking again gives the same answer.
    pub fn rows(&self) -> std::result::Result<&RecordBatch, &str> {
        self.decoded
            .get_or_init(|| {
                let bytes = self.bytes.clone().unwrap_or_default();
                decode(bytes, &self.schema, &self.schema)
                    .and_then(|batches| Ok(concat(&self.schema, &batches)?))
                    .map_err(|f| format!("{}: {}", self.file, f.describe()))
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// The columns `names` of every row of the file, row for row with [`FileRows::rows`]: taken
    /// from the decoded rows when there are, else decoded from the fetched file alone, so that
    /// a statement needing two short columns of rows spread over every file (the owners of the
    /// products an impact analysis reached) decodes those, not every column of every row. The
    /// error says which file or column failed and why.
    pub fn columns(&self, names: &[&str]) -> std::result::Result<RecordBatch, String> {
        let failed = |why: String| format!("{}: {why}", self.file);
        let indices = names
            .iter()
            .map(|n| self.schema.index_of(n))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| failed(e.to_string()))?;
        if let Some(Ok(rows)) = self.decoded.get() {
            return rows.project(&indices).map_err(|e| failed(e.to_string()));
        }
        let schema = Arc::new(
            self.schema
                .project(&indices)
                .map_err(|e| failed(e.to_string()))?,
        );
        let bytes = self.bytes.clone().unwrap_or_default();
        decode(bytes, &schema, &self.schema)
            .and_then(|batches| Ok(concat(&schema, &batches)?))
            .map_err(|f| failed(f.describe()))
    }

    /// True once the file's rows have been decoded.
    pub fn is_decoded(&self) -> bool {
        self.decoded.get().is_some()
    }

    /// A fetched file of a table of `schema`, its rows not decoded yet (a test).
    #[cfg(test)]
    pub(crate) fn fetched(file: String, bytes: Bytes, schema: SchemaRef) -> Self {
        Self {
            file,
            bytes: Some(bytes),
            schema,
            decoded: OnceLock::new(),
        }
    }

    /// Rows decoded already (a read that could not go file by file, a test).
    pub(crate) fn decoded(file: String, batch: RecordBatch) -> Self {
        Self {
            file,
            bytes: None,
            schema: batch.schema(),
            decoded: OnceLock::from(Ok(batch)),
        }
    }
}

/// The key columns of one data file, row for row with [`FileRows::rows`].
#[derive(Debug)]
pub struct FileKeys {
    /// The key columns (in the order asked for), as the table's types.
    pub keys: RecordBatch,
    /// The file's rows.
    pub rows: Arc<FileRows>,
}

impl SystemTable {
    /// The loaded snapshot's rows, file by file, with only the columns `key_columns` decoded
    /// now (see [`FileRows`]). A table whose files do not stand alone (deletion vectors,
    /// partitions; lakemeta writes neither into its system tables) is read and decoded whole.
    pub async fn read_keys(&self, key_columns: &[&str]) -> Result<Vec<FileKeys>> {
        let table = self.delta_table().await?;
        let schema = self.kind().schema();
        let key_schema = Arc::new(
            schema.project(
                &key_columns
                    .iter()
                    .map(|c| schema.index_of(c))
                    .collect::<std::result::Result<Vec<_>, _>>()?,
            )?,
        );
        let snapshot = table.snapshot().map_err(|e| delta_err(self.url(), e))?;
        let Some(paths) = standalone_files(snapshot) else {
            tracing::debug!(
                table = self.kind().name(),
                "files not standalone: read whole"
            );
            let batches = read_all(self.url(), &table).await?;
            return batches
                .into_iter()
                .filter(|b| b.num_rows() > 0)
                .map(|b| {
                    let b = conform(&b, &schema)?;
                    let keys = conform(&b, &key_schema)?;
                    let rows = FileRows::decoded(self.url().to_string(), b);
                    Ok(FileKeys {
                        keys,
                        rows: Arc::new(rows),
                    })
                })
                .collect();
        };
        tracing::debug!(table = self.kind().name(), files = paths.len(), "keys read");
        let store = table.log_store().object_store(None);
        let files = each_file(self.url(), store, paths, |file, bytes| {
            read_file_keys(
                self.url(),
                file,
                bytes,
                Arc::clone(&schema),
                Arc::clone(&key_schema),
            )
        })
        .await?;
        Ok(files.into_iter().flatten().collect())
    }
}

/// Fetches one file and decodes its key columns (off the async threads); `None` for a file
/// without rows.
async fn read_file_keys(
    url: &Url,
    file: String,
    bytes: Bytes,
    schema: SchemaRef,
    key_schema: SchemaRef,
) -> Result<Option<FileKeys>> {
    let fetched = bytes.clone();
    let (keys_schema, table) = (Arc::clone(&key_schema), Arc::clone(&schema));
    let keys = tokio::task::spawn_blocking(move || {
        decode(fetched, &keys_schema, &table).and_then(|b| Ok(concat(&keys_schema, &b)?))
    })
    .await
    .map_err(|e| Error::invalid(format!("reading {file} stopped: {e}")))?
    .map_err(|failure| failure.into_error(url, &file))?;
    if keys.num_rows() == 0 {
        return Ok(None);
    }
    let rows = FileRows {
        file,
        bytes: Some(bytes),
        schema,
        decoded: OnceLock::new(),
    };
    Ok(Some(FileKeys {
        keys,
        rows: Arc::new(rows),
    }))
}

/// The rows of a Parquet file as batches of `schema` (the columns of it the file holds, the
/// others null), refused when a column of the file cannot take the type `table` gives it.
pub(super) fn decode(
    bytes: Bytes,
    schema: &SchemaRef,
    table: &SchemaRef,
) -> std::result::Result<Vec<RecordBatch>, Failure> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)?;
    let file_schema = Arc::clone(builder.schema());
    for field in table.fields() {
        if let Ok(found) = file_schema.field_with_name(field.name())
            && !arrow::compute::can_cast_types(found.data_type(), field.data_type())
        {
            return Err(Failure::Type {
                column: field.name().clone(),
                found: found.data_type().to_string(),
                expected: field.data_type().to_string(),
            });
        }
    }
    let present: Vec<usize> = schema
        .fields()
        .iter()
        .filter_map(|f| file_schema.index_of(f.name()).ok())
        .collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), present);
    let mut out = Vec::new();
    for batch in builder.with_projection(mask).build()? {
        out.push(conform(&batch?, schema)?);
    }
    Ok(out)
}

fn concat(
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> std::result::Result<RecordBatch, arrow::error::ArrowError> {
    arrow::compute::concat_batches(schema, batches)
}
