use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::context::SessionState;
use deltalake::kernel::StructType;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableError, TableProperty};
use object_store::ObjectStore;
use url::Url;

use super::history::HistoryEntry;
use super::location::WarehouseLocation;
use super::plan_input::{WriteInput, scan_of, write_session};
use super::resilient_store::ResilientStore;
use super::retry::RetryPolicy;
use super::system_table::{LogWatch, delta_err, is_commit_race, table_handle};
use crate::error::{Error, Result};
use crate::model::DataFormat;

/// Reads and writes the data of data products: Delta tables (managed or external) and
/// Parquet, CSV and NDJSON files.
#[derive(Debug, Clone)]
pub struct DataStore {
    location: WarehouseLocation,
    store: Arc<dyn ObjectStore>,
}

/// An opened data product: a query provider over its data and, for Delta, the table handle
/// that keeps it fresh.
pub struct ProductData {
    pub(super) provider: Arc<dyn TableProvider>,
    pub(super) delta: Option<(DeltaTable, LogWatch)>,
    pub(super) url: Url,
}

impl std::fmt::Debug for ProductData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProductData")
            .field("url", &self.url.as_str())
            .field("version", &self.version())
            .finish()
    }
}

impl ProductData {
    /// The query provider.
    pub fn provider(&self) -> Arc<dyn TableProvider> {
        Arc::clone(&self.provider)
    }

    /// The data's schema.
    pub fn schema(&self) -> SchemaRef {
        self.provider.schema()
    }

    /// The Delta version, `None` for plain files.
    pub fn version(&self) -> Option<u64> {
        self.delta.as_ref().and_then(|(t, _)| t.version())
    }

    /// Catches up with commits made since it was opened (Delta only). Returns true when the
    /// version moved and the provider was rebuilt.
    pub async fn refresh(&mut self) -> Result<bool> {
        let Some((table, log)) = self.delta.as_mut() else {
            return Ok(false);
        };
        let before = table.version();
        if let Some(v) = before
            && !log.has_commit_after(v).await?
        {
            return Ok(false);
        }
        match table.update_incremental(None).await {
            Ok(()) => {}
            Err(e) => return Err(missing_or(&self.url, e)),
        }
        if table.version() == before {
            return Ok(false);
        }
        self.provider = table.table_provider().await.map_err(Error::DataFusion)?;
        Ok(true)
    }
}

pub(super) fn missing_or(url: &Url, e: DeltaTableError) -> Error {
    match e {
        DeltaTableError::NotATable(_) => Error::invalid(format!(
            "no Delta table at {url}: the location is empty or its _delta_log is gone; check the \
             location, or register the product with FORMAT parquet|csv|json if it is plain files"
        )),
        other => delta_err(url, other),
    }
}

impl DataStore {
    pub(crate) fn new(location: WarehouseLocation, store: Arc<dyn ObjectStore>) -> Self {
        Self { location, store }
    }

    /// Resolves a product location: a URL, or a local path (relative to the current
    /// directory).
    pub fn resolve(&self, location: &str) -> Result<Url> {
        let parsed = WarehouseLocation::parse(location)?;
        let mut url = parsed.url;
        // a file, not a directory, when the user did not end the path with '/'
        if !location.ends_with('/') && has_extension(location) {
            let p = url.path().trim_end_matches('/').to_string();
            url.set_path(&p);
        }
        Ok(url)
    }

    /// True when `url` lives in the same bucket or filesystem as the warehouse, whose store
    /// (and credentials) it can share.
    fn same_store(&self, url: &Url) -> bool {
        url.scheme() == self.location.url.scheme() && url.host_str() == self.location.url.host_str()
    }

    /// The object store to use for `url`, and the key under which a query session should
    /// register it.
    pub fn store_for(&self, url: &Url) -> Result<(Url, Arc<dyn ObjectStore>)> {
        let key = Url::parse(&format!(
            "{}://{}",
            url.scheme(),
            url.host_str().unwrap_or_default()
        ))
        .map_err(|e| Error::invalid(format!("{url}: {e}")))?;
        if self.same_store(url) {
            return Ok((key, Arc::clone(&self.store)));
        }
        let scheme = Url::parse(&format!("{}://", url.scheme()))
            .map_err(|e| Error::invalid(format!("{url}: {e}")))?;
        super::s3::register();
        let factories = deltalake::logstore::object_store_factories();
        let factory = factories.get(&scheme).ok_or_else(|| {
            Error::invalid(format!(
                "no storage backend for {url}: use a local path, file://, memory:// or s3://"
            ))
        })?;
        let config =
            deltalake::logstore::StorageConfig::parse_options(self.location.options.clone())
                .map_err(|e| Error::invalid(format!("storage options for {url}: {e}")))?;
        let (store, _) = factory
            .value()
            .parse_url_opts(url, &config)
            .map_err(|e| Error::invalid(format!("cannot open {url}: {e}")))?;
        Ok((key, ResilientStore::wrap(store)))
    }

    /// Opens a product's data for querying. `state` is the query session, whose object store
    /// registry must already know the location's store (see [`DataStore::store_for`]).
    pub async fn open(
        &self,
        location: &str,
        format: DataFormat,
        state: &SessionState,
    ) -> Result<ProductData> {
        let url = self.resolve(location)?;
        match format {
            DataFormat::Delta => {
                let (dir, store, mut table) = self.delta_handle(location)?;
                table.load().await.map_err(|e| missing_or(&dir, e))?;
                let provider = table.table_provider().await.map_err(Error::DataFusion)?;
                let log = LogWatch::new(&store, &dir)?;
                Ok(ProductData {
                    provider,
                    delta: Some((table, log)),
                    url: dir,
                })
            }
            other => {
                let provider = self.listing(&url, other, state).await?;
                Ok(ProductData {
                    provider,
                    delta: None,
                    url,
                })
            }
        }
    }

    /// The directory URL of the Delta table at `location`, its store, and a handle on it (not
    /// loaded yet).
    pub(super) fn delta_handle(
        &self,
        location: &str,
    ) -> Result<(Url, Arc<dyn ObjectStore>, DeltaTable)> {
        let mut dir = self.resolve(location)?;
        if !dir.path().ends_with('/') {
            let p = format!("{}/", dir.path());
            dir.set_path(&p);
        }
        let (_, store) = self.store_for(&dir)?;
        let table = table_handle(&store, &dir, &self.location.options)?;
        Ok((dir, store, table))
    }

    async fn listing(
        &self,
        url: &Url,
        format: DataFormat,
        state: &SessionState,
    ) -> Result<Arc<dyn TableProvider>> {
        let table_url = ListingTableUrl::parse(url.as_str())?;
        let (file_format, default_ext): (Arc<dyn FileFormat>, &str) = match format {
            DataFormat::Parquet => (Arc::new(ParquetFormat::default()), ".parquet"),
            DataFormat::Csv => (Arc::new(CsvFormat::default().with_has_header(true)), ".csv"),
            DataFormat::Json => (Arc::new(JsonFormat::default()), ".json"),
            DataFormat::Delta => unreachable!("Delta is opened by deltalake"),
        };
        let ext = if url.path().ends_with('/') {
            default_ext.to_string()
        } else {
            url.path()
                .rsplit_once('.')
                .map(|(_, e)| format!(".{e}"))
                .unwrap_or_default()
        };
        let options = ListingOptions::new(file_format).with_file_extension(ext.clone());
        let (_, store) = self.store_for(url)?;
        let first = match table_url.list_all_files(state, store.as_ref(), &ext).await {
            Ok(mut files) => {
                use futures::StreamExt;
                files.next().await
            }
            Err(e) => return Err(Error::invalid(format!("cannot list {url}: {e}"))),
        };
        match first {
            None => {
                return Err(Error::invalid(format!(
                    "location {url} does not exist or holds no {} files; check the path and \
                     the FORMAT",
                    format.as_str()
                )));
            }
            Some(Err(e)) => return Err(Error::invalid(format!("cannot list {url}: {e}"))),
            Some(Ok(_)) => {}
        }
        let schema = options
            .infer_schema(state, &table_url)
            .await
            .map_err(|e| Error::invalid(format!("cannot read the schema of {url}: {e}")))?;
        let config = ListingTableConfig::new(table_url)
            .with_listing_options(options)
            .with_schema(schema);
        Ok(Arc::new(ListingTable::try_new(config)?))
    }

    /// Creates an empty managed Delta table at `url` with `schema`, laid out as `layout` says.
    /// Fails when one exists.
    pub async fn create_delta(
        &self,
        url: &Url,
        schema: &SchemaRef,
        name: &str,
        layout: &TableLayout,
    ) -> Result<()> {
        layout.check(schema)?;
        let (_, store) = self.store_for(url)?;
        let table = table_handle(&store, url, &self.location.options)?;
        let kernel: StructType = schema.as_ref().try_into_kernel().map_err(|e| {
            Error::invalid(format!("schema of {name} cannot be stored in Delta: {e}"))
        })?;
        let mut create = table
            .create()
            .with_table_name(name)
            .with_columns(kernel.fields().cloned())
            .with_save_mode(SaveMode::ErrorIfExists);
        for (key, value) in layout.properties(schema) {
            create = create.with_configuration_property(key, value);
        }
        if !layout.partition_by.is_empty() {
            create = create.with_partition_columns(layout.partition_by.clone());
        }
        if let Err(e) = create.await {
            // a table there now (made before, or by a concurrent creation) is what failed it
            let exists = is_commit_race(&e) || LogWatch::new(&store, url)?.exists().await?;
            return Err(if exists {
                Error::AlreadyExists {
                    what: format!("a Delta table at {url}"),
                    hint: "drop the product or choose another name".into(),
                }
            } else {
                delta_err(url, e)
            });
        }
        Ok(())
    }

    /// Writes the rows of `input` to the Delta table at `url` in one commit, as `mode` says,
    /// recording principal `by` in the commit; a table this write creates is laid out as
    /// `layout` says. Returns the new version and the table's files. The rows stream into the
    /// table's files as the plan makes them (a query without rows still makes, or empties, a
    /// table of its columns); a write that fails leaves its files uncommitted, for VACUUM.
    ///
    /// A write that replaces the rows commits only on the version it read: Delta's conflict
    /// check lets it pass a concurrent compaction (which changed no data) and the compacted
    /// copy of the rows it replaced would stay. So when another commit came first, the write
    /// is made again (with a new plan of its rows) on the new version, as an append is when a
    /// compaction's claim ([`DataStore::optimize`]) came first, until it commits or the
    /// attempts run out ([`Error::Conflict`], nothing written). A creation is made once.
    pub async fn write_delta(
        &self,
        url: &Url,
        input: &WriteInput<'_>,
        mode: DeltaWrite,
        by: &str,
        layout: &TableLayout,
    ) -> Result<Written> {
        if mode == DeltaWrite::Create {
            layout.check(&input.schema)?;
        }
        let (_, store) = self.store_for(url)?;
        let policy = RetryPolicy {
            max_attempts: 20,
            ..RetryPolicy::default()
        };
        let mut attempt = 1;
        loop {
            let mut table = table_handle(&store, url, &self.location.options)?;
            let existed = match table.load().await {
                Ok(()) => true,
                Err(DeltaTableError::NotATable(_)) => false,
                // no log yet: the write creates the table
                Err(_) if !LogWatch::new(&store, url)?.exists().await? => false,
                Err(e) => return Err(delta_err(url, e)),
            };
            if existed && mode == DeltaWrite::Create {
                return Err(Error::AlreadyExists {
                    what: format!("a Delta table at {url}"),
                    hint: "drop the product or choose another name".into(),
                });
            }
            // who wrote, and (a commit that replaces the rows) how many rows it removed: what
            // SHOW HISTORY reads back
            let removed = match mode {
                DeltaWrite::Append | DeltaWrite::Create => 0,
                DeltaWrite::Overwrite | DeltaWrite::Replace => super::history::row_count(&table),
            };
            let mut properties = super::history::commit_properties(by, removed);
            if !matches!(mode, DeltaWrite::Append) {
                properties = properties.with_max_retries(0);
            }
            let rows = scan_of((input.plan)().await?)?;
            let session = write_session(&input.runtime);
            let write = table
                .write(Vec::new())
                .with_input_plan(rows)
                .with_session_state(Arc::new(session))
                .with_commit_properties(properties);
            let write = match mode {
                DeltaWrite::Append => write.with_save_mode(SaveMode::Append),
                DeltaWrite::Overwrite => write.with_save_mode(SaveMode::Overwrite),
                DeltaWrite::Replace => write
                    .with_save_mode(SaveMode::Overwrite)
                    .with_schema_mode(SchemaMode::Overwrite),
                DeltaWrite::Create => write
                    .with_save_mode(SaveMode::ErrorIfExists)
                    .with_partition_columns(layout.partition_by.clone())
                    .with_configuration(
                        layout
                            .properties(&input.schema)
                            .into_iter()
                            .map(|(k, v)| (k.as_ref().to_string(), v)),
                    ),
            };
            match write.await {
                Ok(t) => {
                    // a table made anew is measured; an append or overwrite is not (a pass over
                    // the file list no caller needs)
                    let anew = matches!(mode, DeltaWrite::Create | DeltaWrite::Replace);
                    return Ok(Written {
                        version: t.version().unwrap_or(0),
                        live: anew.then(|| super::maintenance::TableFiles::of(&t)),
                    });
                }
                Err(e) if is_commit_race(&e) => {
                    if !existed || attempt >= policy.max_attempts {
                        return Err(Error::Conflict {
                            what: format!("the Delta table at {url}"),
                        });
                    }
                    attempt += 1;
                    tokio::time::sleep(policy.backoff(attempt)).await;
                }
                Err(e) => return Err(delta_err(url, e)),
            }
        }
    }

    /// The newest `limit` commits of the Delta table at `url` (all without a limit), newest
    /// first.
    pub async fn history(&self, url: &Url, limit: Option<usize>) -> Result<Vec<HistoryEntry>> {
        let (_, store) = self.store_for(url)?;
        let mut table = table_handle(&store, url, &self.location.options)?;
        table.load().await.map_err(|e| delta_err(url, e))?;
        let latest = table.version().unwrap_or(0);
        super::history::entries(&store, url, latest, limit).await
    }

    /// Deletes everything under a managed product's location.
    pub async fn delete_tree(&self, url: &Url) -> Result<()> {
        use futures::{StreamExt, TryStreamExt};
        let (_, store) = self.store_for(url)?;
        let prefix = object_store::path::Path::from_url_path(url.path())
            .map_err(|e| Error::invalid(format!("{url}: {e}")))?;
        let locations = store.list(Some(&prefix)).map_ok(|m| m.location).boxed();
        store
            .delete_stream(locations)
            .try_collect::<Vec<_>>()
            .await
            .map_err(|e| Error::ObjectStore {
                location: url.to_string(),
                source: e,
            })?;
        // a local filesystem keeps the directories the files were in
        if url.scheme() == "file"
            && let Ok(dir) = url.to_file_path()
        {
            remove_empty_dirs(&dir);
        }
        Ok(())
    }
}

/// Removes `dir` and the directories under it that hold no file (a file written there
/// meanwhile keeps its directories).
fn remove_empty_dirs(dir: &std::path::Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_empty_dirs(&entry.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

fn has_extension(location: &str) -> bool {
    location
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'))
}

/// How a managed product's new Delta table is laid out and kept: what the product's storage
/// policy and its columns' classification say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableLayout {
    /// The columns the table is partitioned by.
    pub partition_by: Vec<String>,
    /// Columns (classified as PII) that get no min/max statistics in the Delta log
    /// (`delta.dataSkippingStatsColumns` lists the others), so the log holds no PII value.
    pub private: Vec<String>,
    /// Days VACUUM keeps the files older versions need (`delta.deletedFileRetentionDuration`).
    pub retention_days: Option<i64>,
    /// The size files are written and compacted to, in bytes (`delta.targetFileSize`).
    pub target_file_size: Option<i64>,
}

impl TableLayout {
    /// Fails unless every partition column is a column of `schema` of a simple type.
    fn check(&self, schema: &SchemaRef) -> Result<()> {
        for column in &self.partition_by {
            let Ok(field) = schema.field_with_name(column) else {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                return Err(Error::invalid(format!(
                    "the table is to be partitioned by column '{column}', which it does not have; \
                     its columns are {}",
                    names.join(", ")
                )));
            };
            if self.private.contains(column) {
                return Err(Error::invalid(format!(
                    "column '{column}' is classified as personal data: a partition column's \
                     values are written into the table's file paths and its Delta log, which \
                     must hold none; partition by another column"
                )));
            }
            if field.data_type().is_nested() {
                return Err(Error::invalid(format!(
                    "column '{column}' is {}: a Delta table is partitioned by columns of a \
                     simple type (text, numbers, dates); choose another",
                    field.data_type()
                )));
            }
        }
        if !self.partition_by.is_empty() && self.partition_by.len() == schema.fields().len() {
            return Err(Error::invalid(
                "every column of the table would be a partition column: a Delta table needs a \
                 column that is not one; partition by fewer",
            ));
        }
        Ok(())
    }

    /// The table properties it sets.
    pub(super) fn properties(&self, schema: &SchemaRef) -> Vec<(TableProperty, Option<String>)> {
        let mut properties = Vec::new();
        if !self.private.is_empty() {
            let public: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .filter(|n| !self.private.contains(n))
                .collect();
            properties.push(if public.is_empty() {
                (TableProperty::DataSkippingNumIndexedCols, Some("0".into()))
            } else {
                (
                    TableProperty::DataSkippingStatsColumns,
                    Some(public.join(",")),
                )
            });
        }
        properties.extend(self.policy_properties());
        properties
    }

    /// The table properties of its storage policy alone (what maintenance keeps in step).
    pub(super) fn policy_properties(&self) -> Vec<(TableProperty, Option<String>)> {
        let mut properties = Vec::new();
        if let Some(days) = self.retention_days {
            properties.push((
                TableProperty::DeletedFileRetentionDuration,
                Some(format!("interval {days} days")),
            ));
        }
        if let Some(bytes) = self.target_file_size {
            properties.push((TableProperty::TargetFileSize, Some(bytes.to_string())));
        }
        properties
    }
}

/// What [`DataStore::write_delta`] left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// The table's new version.
    pub version: u64,
    /// Its live files, when the write created or replaced the table.
    pub live: Option<super::maintenance::TableFiles>,
}

/// How [`DataStore::write_delta`] treats the data already in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaWrite {
    /// Add the rows.
    Append,
    /// Replace the rows; the columns stay.
    Overwrite,
    /// Replace the rows and the columns (`CREATE OR REPLACE TABLE`).
    Replace,
    /// Create the table with the rows; fails when one is there.
    Create,
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("email", DataType::Utf8, true),
            Field::new(
                "tags",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                true,
            ),
        ]))
    }

    fn refusal(partition_by: &[&str]) -> String {
        let layout = TableLayout {
            partition_by: partition_by.iter().map(|c| c.to_string()).collect(),
            private: vec!["email".into()],
            ..TableLayout::default()
        };
        layout.check(&schema()).unwrap_err().to_string()
    }

    #[test]
    fn a_table_is_partitioned_by_its_own_simple_public_columns() {
        let fine = TableLayout {
            partition_by: vec!["id".into()],
            private: vec!["email".into()],
            ..TableLayout::default()
        };
        assert!(fine.check(&schema()).is_ok());
        assert!(refusal(&["day"]).contains("'day', which it does not have"));
        assert!(refusal(&["email"]).contains("personal data"));
        assert!(refusal(&["tags"]).contains("simple type"));
    }
}
