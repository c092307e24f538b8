use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::RecordBatch;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::transaction::{CommitProperties, TransactionError};
use deltalake::kernel::{Add, StructType};
use deltalake::protocol::SaveMode;
use deltalake::table::config::TablePropertiesExt;
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError};
use futures::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use url::Url;

use super::blind_append;
use super::retry::RetryPolicy;
use super::schemas::SystemTableKind;
use crate::error::{Error, Result};

/// A row of a system table that has a key: upserts and deletes find rows by it.
pub trait Keyed {
    /// The row's key, unique within its table.
    fn key(&self) -> String;

    /// True when two rows with the same key say the same thing (for [`RowChange::Ensure`]);
    /// by default, when they are equal.
    fn same_content(&self, other: &Self) -> bool
    where
        Self: PartialEq,
    {
        self == other
    }
}

/// One change to a keyed system table, with the row as the operation saw it. If the row in the
/// table is no longer what the operation saw, another writer changed it and the commit ends in
/// [`Error::Conflict`].
#[derive(Debug, Clone)]
pub enum RowChange<T> {
    /// Insert or replace a row; `expected` is the row as it was read (`None`: it did not exist).
    Upsert {
        /// The row as the operation read it.
        expected: Option<T>,
        /// The new row.
        row: T,
    },
    /// Insert a row unless one with the same key and the same content is there already (so a
    /// repeated or resumed operation is a no-op); a row with other content is a conflict.
    Ensure {
        /// The row.
        row: T,
    },
    /// Remove a row that the operation read as `expected`.
    Delete {
        /// The row as the operation read it.
        expected: T,
    },
}

/// What one commit to a system table writes.
pub(super) enum Commit {
    /// Rows written with a save mode (append, or overwrite of the whole table).
    Write(RecordBatch, SaveMode),
    /// The rows matching the predicate are replaced by these rows (which all match it).
    ReplaceWhere(RecordBatch, datafusion::logical_expr::Expr),
    /// The rows matching the predicate are removed.
    Delete(datafusion::logical_expr::Expr),
}

impl Commit {
    /// The commit with the rows it writes sorted by the table's key columns (nulls first), so
    /// that each file a table written by key holds covers a narrow range of its first key
    /// column and a read of a few keys skips the others (see
    /// [`SystemTable::read_matching_at`]). Tables without a key are written as given.
    fn sorted_by_key(self, kind: SystemTableKind) -> Result<Self> {
        Ok(match self {
            Commit::Write(batch, mode) => Commit::Write(sorted_by_key(kind, batch)?, mode),
            Commit::ReplaceWhere(batch, predicate) => {
                Commit::ReplaceWhere(sorted_by_key(kind, batch)?, predicate)
            }
            delete @ Commit::Delete(_) => delete,
        })
    }
}

/// `batch` sorted by the table's key columns (nulls first); a table without a key as given.
pub(super) fn sorted_by_key(kind: SystemTableKind, batch: RecordBatch) -> Result<RecordBatch> {
    let keys = kind
        .key_columns()
        .iter()
        .filter_map(|c| batch.column_by_name(c))
        .map(|values| arrow::compute::SortColumn {
            values: Arc::clone(values),
            options: None,
        })
        .collect::<Vec<_>>();
    if keys.is_empty() || batch.num_rows() < 2 {
        return Ok(batch);
    }
    let order = arrow::compute::lexsort_to_indices(&keys, None)?;
    Ok(arrow::compute::take_record_batch(&batch, &order)?)
}

/// A data file this process appended with [`SystemTable::append_on`].
#[derive(Debug, Clone)]
pub(super) struct AppendedFile {
    /// The action that added it.
    pub(super) add: Add,
    /// Its rows, when known.
    pub(super) rows: Option<usize>,
    /// The rows themselves, kept for a file of fewer than
    /// [`AUTO_COMPACT_FILES`](super::system_compaction::AUTO_COMPACT_FILES) rows (what merges
    /// of tier 0 take), so that the merge need not fetch and decode it again.
    pub(super) batch: Option<RecordBatch>,
}

/// The path within the table of the file `add` adds.
pub(super) fn add_path(add: &Add) -> object_store::path::Path {
    object_store::path::Path::parse(&add.path)
        .unwrap_or_else(|_| object_store::path::Path::from(add.path.as_str()))
}

/// One system table: a Delta table under `<warehouse>/_meta/<name>/`, with its loaded snapshot
/// kept fresh incrementally.
pub struct SystemTable {
    kind: SystemTableKind,
    url: Url,
    log: LogWatch,
    /// The table writers and refreshes work on, one at a time (a commit holds it throughout).
    pub(super) table: Mutex<DeltaTable>,
    /// The newest loaded snapshot, published after every commit, refresh and catch-up: readers
    /// take it without waiting for a commit in progress.
    loaded: std::sync::RwLock<DeltaTable>,
    /// The newest version this process committed blind to the audit log (the loaded snapshot
    /// may be older; readers see those rows after a [`Self::refresh`]).
    blind_version: AtomicU64,
    /// The newest version this process appended with [`Self::append_on`] (the loaded snapshot
    /// may be older; it catches up when it is next read or written).
    appended: AtomicU64,
    /// The files of the versions after the writer's snapshot that this process appended with
    /// [`Self::append_on`], by version, consecutive (see [`Self::appended_since`]).
    appended_files: std::sync::Mutex<Vec<(u64, Vec<AppendedFile>)>>,
    /// The newest version this process committed as a merge of small files (which leaves the
    /// rows as the version before it had them).
    merged: AtomicU64,
    /// When this process last removed the table's expired commit files (see
    /// [`Self::cleanup_due`]).
    cleaned: std::sync::Mutex<Option<std::time::Instant>>,
    /// The version of the newest checkpoint this process wrote.
    checkpointed: AtomicU64,
    policy: RetryPolicy,
}

impl std::fmt::Debug for SystemTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemTable")
            .field("kind", &self.kind)
            .field("url", &self.url.as_str())
            .finish()
    }
}

pub(crate) fn delta_err(url: &Url, source: DeltaTableError) -> Error {
    Error::Delta {
        location: url.to_string(),
        source,
    }
}

/// A Delta table handle on `url` that uses the warehouse's shared object store.
pub(crate) fn table_handle(
    store: &Arc<dyn ObjectStore>,
    url: &Url,
    options: &std::collections::HashMap<String, String>,
) -> Result<DeltaTable> {
    DeltaTableBuilder::from_url(url.clone())
        .and_then(|b| {
            b.with_storage_backend(Arc::clone(store), url.clone())
                .with_storage_options(options.clone())
                .build()
        })
        .map_err(|e| delta_err(url, e))
}

/// Watches a Delta log for new commits with one HEAD request for the next commit file, instead
/// of listing the whole `_delta_log`.
#[derive(Debug, Clone)]
pub(crate) struct LogWatch {
    store: Arc<dyn ObjectStore>,
    log: object_store::path::Path,
    url: Url,
}

impl LogWatch {
    pub(crate) fn new(store: &Arc<dyn ObjectStore>, table_url: &Url) -> Result<Self> {
        let log = object_store::path::Path::from_url_path(table_url.path())
            .map_err(|e| Error::invalid(format!("{table_url}: {e}")))?
            .join("_delta_log");
        Ok(Self {
            store: Arc::clone(store),
            log,
            url: table_url.clone(),
        })
    }

    /// When `version` was committed (the commit file's modification time, milliseconds since
    /// the epoch); `None` when the file is gone (log retention).
    pub(crate) async fn commit_time_ms(&self, version: u64) -> Result<Option<i64>> {
        let file = self.log.clone().join(format!("{version:020}.json"));
        match self.store.head(&file).await {
            Ok(meta) => Ok(Some(meta.last_modified.timestamp_millis())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Error::ObjectStore {
                location: self.url.to_string(),
                source: e,
            }),
        }
    }

    /// True when the table has a log: at least one file under `_delta_log/`.
    pub(crate) async fn exists(&self) -> Result<bool> {
        use futures::StreamExt;
        let prefix = self.log.clone().join("");
        match self.store.list(Some(&prefix)).next().await {
            None | Some(Err(object_store::Error::NotFound { .. })) => Ok(false),
            Some(Ok(_)) => Ok(true),
            Some(Err(e)) => Err(Error::ObjectStore {
                location: self.url.to_string(),
                source: e,
            }),
        }
    }

    /// True when a commit newer than `version` exists.
    pub(crate) async fn has_commit_after(&self, version: u64) -> Result<bool> {
        let next = self.log.clone().join(format!("{:020}.json", version + 1));
        match self.store.head(&next).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(Error::ObjectStore {
                location: self.url.to_string(),
                source: e,
            }),
        }
    }
}

/// True when a commit failed only because another writer committed first.
pub(crate) fn is_commit_race(e: &DeltaTableError) -> bool {
    match e {
        DeltaTableError::VersionAlreadyExists(_) => true,
        DeltaTableError::Transaction { source } => matches!(
            source,
            TransactionError::VersionAlreadyExists(_)
                | TransactionError::MaxCommitAttempts(_)
                | TransactionError::CommitConflict(_)
        ),
        DeltaTableError::CommitValidation { .. } => false,
        DeltaTableError::ObjectStore {
            source: object_store::Error::AlreadyExists { .. },
        } => true,
        other => chain_has_race(other),
    }
}

/// True when an error in `e`'s cause chain is a commit race: a commit version or a log file
/// that another writer wrote first.
fn chain_has_race(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = e.source();
    while let Some(cause) = next {
        if let Some(t) = cause.downcast_ref::<TransactionError>()
            && matches!(
                t,
                TransactionError::VersionAlreadyExists(_)
                    | TransactionError::MaxCommitAttempts(_)
                    | TransactionError::CommitConflict(_)
                    | TransactionError::ObjectStore {
                        source: object_store::Error::AlreadyExists { .. }
                    }
            )
        {
            return true;
        }
        if let Some(object_store::Error::AlreadyExists { .. }) =
            cause.downcast_ref::<object_store::Error>()
        {
            return true;
        }
        next = cause.source();
    }
    false
}

impl SystemTable {
    /// Opens the table, creating it (empty, with its schema) when `create` is true and it does
    /// not exist yet. Creation races with other processes are harmless.
    pub(crate) async fn open(
        kind: SystemTableKind,
        store: &Arc<dyn ObjectStore>,
        url: Url,
        options: &std::collections::HashMap<String, String>,
        create: bool,
    ) -> Result<Self> {
        let table = if create {
            create_table(kind, store, &url, options).await?
        } else {
            let mut table = table_handle(store, &url, options)?;
            match table.load().await {
                Ok(()) => add_missing_columns(kind, table, &url).await?,
                Err(e) => {
                    return Err(Error::Warehouse {
                        location: url.to_string(),
                        reason: format!(
                            "system table '{}' cannot be read ({e}); the warehouse is damaged — \
                             restore _meta/{} from a backup",
                            kind.name(),
                            kind.name()
                        ),
                    });
                }
            }
        };
        Ok(Self {
            kind,
            log: LogWatch::new(store, &url)?,
            url,
            loaded: std::sync::RwLock::new(table.clone()),
            table: Mutex::new(table),
            blind_version: AtomicU64::new(0),
            appended: AtomicU64::new(0),
            appended_files: std::sync::Mutex::new(Vec::new()),
            merged: AtomicU64::new(0),
            cleaned: std::sync::Mutex::new(None),
            checkpointed: AtomicU64::new(0),
            policy: RetryPolicy::default(),
        })
    }

    /// Which system table this is.
    pub fn kind(&self) -> SystemTableKind {
        self.kind
    }

    /// The table's URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Uses another retry policy (tests and benchmarks).
    pub fn set_retry_policy(&mut self, policy: RetryPolicy) {
        self.policy = policy;
    }

    /// The table's version as this process knows it: the loaded snapshot's, or the newest
    /// version this process appended with [`Self::append_on`], whichever is later.
    pub async fn version(&self) -> u64 {
        self.read_loaded(|t| t.version().unwrap_or(0))
            .max(self.appended.load(Ordering::SeqCst))
    }

    /// [`Self::version`], or the writer's table's when that is later.
    pub(super) fn known_version(&self, writer: &DeltaTable) -> u64 {
        let loaded = self.read_loaded(|t| t.version().unwrap_or(0));
        writer
            .version()
            .unwrap_or(0)
            .max(loaded)
            .max(self.appended.load(Ordering::SeqCst))
    }

    /// Brings the writer's table up to the newest commit when it is older than a version this
    /// process knows of (appended with [`Self::append_on`], or loaded by a reader).
    pub(super) async fn catch_up(&self, writer: &mut DeltaTable) -> Result<()> {
        if writer.version().unwrap_or(0) < self.known_version(writer) {
            writer
                .update_incremental(None)
                .await
                .map_err(|e| delta_err(&self.url, e))?;
            self.publish(writer);
        }
        Ok(())
    }

    /// Reads the published snapshot (a poisoned lock still holds a whole table: a writer only
    /// ever replaces it).
    fn read_loaded<T>(&self, f: impl FnOnce(&DeltaTable) -> T) -> T {
        match self.loaded.read() {
            Ok(g) => f(&g),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    /// Publishes a snapshot unless a newer one is published already (a reader that caught up
    /// and a writer may publish in either order; the newer stays).
    pub(super) fn publish(&self, table: &DeltaTable) {
        let mut g = match self.loaded.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if table.version() >= g.version() {
            *g = table.clone();
        }
    }

    /// Brings the snapshot up to the latest commit, reading only the commits after the loaded
    /// version (and the newest checkpoint, if one was written since). Returns true when the
    /// version moved. When nothing was committed this costs one HEAD request for the next
    /// commit file, however long the log is.
    ///
    /// The commits this process appended with [`Self::append_on`] do not count as new: the
    /// snapshot catches up with them when it is next read ([`Self::delta_table`]) or written.
    pub async fn refresh(&self) -> Result<bool> {
        let mut t = self.table.lock().await;
        let before = self.known_version(&t);
        if t.version().is_some() && !self.log.has_commit_after(before).await? {
            return Ok(false);
        }
        t.update_incremental(None)
            .await
            .map_err(|e| delta_err(&self.url, e))?;
        self.publish(&t);
        Ok(t.version() != Some(before))
    }

    /// A clone of the loaded table (snapshot included), for building query providers; when
    /// this process appended with [`Self::append_on`] since it was loaded, first brought up to
    /// that version (without waiting for a commit in progress).
    pub async fn delta_table(&self) -> Result<DeltaTable> {
        let mut table = self.read_loaded(DeltaTable::clone);
        let appended = self.appended.load(Ordering::SeqCst);
        if table.version().unwrap_or(0) < appended {
            table
                .update_incremental(Some(appended))
                .await
                .map_err(|e| delta_err(&self.url, e))?;
            self.publish(&table);
        }
        Ok(table)
    }

    /// All rows of the loaded snapshot, as record batches.
    pub async fn read_batches(&self) -> Result<Vec<RecordBatch>> {
        let t = self.delta_table().await?;
        read_all(&self.url, &t).await
    }

    /// All rows of the table at `version` (the loaded snapshot when it is at that version).
    pub async fn read_batches_at(&self, version: u64) -> Result<Vec<RecordBatch>> {
        let mut t = self.delta_table().await?;
        if t.version() != Some(version) {
            t.load_version(version)
                .await
                .map_err(|e| delta_err(&self.url, e))?;
        }
        read_all(&self.url, &t).await
    }

    /// All rows of the loaded snapshot, decoded.
    pub async fn read_rows<T: DeserializeOwned>(&self) -> Result<Vec<T>> {
        decode(&self.read_batches().await?)
    }

    /// Appends rows in one commit, retrying with backoff and jitter while other writers win the
    /// race. Appends never conflict with each other. Returns the new version.
    pub async fn append<T: Serialize>(&self, rows: &[T]) -> Result<Option<u64>> {
        if rows.is_empty() {
            return Ok(None);
        }
        let batch = encode(self.kind, rows)?;
        let batch = &batch;
        self.commit_with_retry(move |_: DeltaTable| async move {
            Ok(Some(Commit::Write(batch.clone(), SaveMode::Append)))
        })
        .await
    }

    /// Appends rows in one commit without bringing the loaded snapshot up to date, so that the
    /// commit costs the same however many files the table has (see [`super::blind_append`]):
    /// for a table appended to all the time and read seldom, the audit log. The rows are read
    /// after a [`Self::refresh`]. Returns the new version.
    pub async fn append_blind<T: Serialize>(&self, rows: &[T]) -> Result<Option<u64>> {
        if rows.is_empty() {
            return Ok(None);
        }
        let batch = encode(self.kind, rows)?;
        let mut guard = self.table.lock().await;
        if !blind_append::supported(&guard) {
            drop(guard);
            return self.append(rows).await;
        }
        let after = guard
            .version()
            .unwrap_or(0)
            .max(self.blind_version.load(Ordering::SeqCst));
        let version = blind_append::commit(
            &guard,
            after,
            batch,
            &self.url,
            &self.policy,
            self.kind.name(),
        )
        .await?;
        self.blind_version.fetch_max(version, Ordering::SeqCst);
        if (version + 1).is_multiple_of(blind_append::CHECKPOINT_EVERY) {
            // catch up once in a while, and leave readers a checkpoint to start from
            self.checkpoint_at(&mut guard, version).await;
        }
        Ok(Some(version))
    }

    /// Brings the writer's table up to `version`, a commit of this process, and writes a
    /// checkpoint there. A failure is logged: the commit stands either way, and a later
    /// checkpoint tries again.
    pub(super) async fn checkpoint_at(&self, writer: &mut DeltaTable, version: u64) {
        if self.caught_up_at(writer, version).await
            && blind_append::checkpoint(writer, &self.url).await
        {
            self.checkpointed.fetch_max(version, Ordering::SeqCst);
            if self.cleanup_due() {
                cleanup_expired_logs(&self.url, writer).await;
            }
        }
    }

    /// Brings the writer's table up to `version`, a merge this process committed, and writes a
    /// checkpoint there when this process wrote none in the [`blind_append::CHECKPOINT_EVERY`]
    /// versions before: a merge follows every 32 appends or so, and a checkpoint rewrites
    /// every file and every tombstone of the table, so one at each merge would cost each
    /// commit more the more files the table ever had; readers replay at most that many commits.
    pub(super) async fn merged_at(&self, writer: &mut DeltaTable, version: u64) {
        let last = self.checkpointed.load(Ordering::SeqCst);
        if version >= last + blind_append::CHECKPOINT_EVERY {
            self.checkpoint_at(writer, version).await;
        } else {
            self.caught_up_at(writer, version).await;
        }
    }

    /// Brings the writer's table up to `version` and publishes it; false (logged) when it could
    /// not: the commit stands either way, and a later one catches up.
    async fn caught_up_at(&self, writer: &mut DeltaTable, version: u64) -> bool {
        match writer.update_incremental(Some(version)).await {
            Ok(()) => {
                self.publish(writer);
                true
            }
            Err(e) => {
                tracing::warn!(table = %self.url, error = %e, "the table could not catch up");
                false
            }
        }
    }

    /// Appends `batch` (sorted by key) as exactly the version after `at`, when the table is
    /// still at `at` as far as this process knows, without bringing the loaded snapshot up to
    /// date (see [`super::blind_append`]): an append to a keyed table that a caller has checked
    /// against its rows at `at` then costs the same however many files the table has. Returns
    /// `None`, writing nothing, when the table has moved past `at` or another writer takes the
    /// version first (the caller then commits the ordinary way, which reads what changed), or
    /// when the table's log store does not take blind commits.
    ///
    /// The snapshot catches up, and a checkpoint is written, when the small files the appends
    /// leave are merged ([`Self::merge_small_files`]), or after [`blind_append::CHECKPOINT_EVERY`]
    /// appends if they are not.
    pub(super) async fn append_on(&self, batch: RecordBatch, at: u64) -> Result<Option<u64>> {
        let mut guard = self.table.lock().await;
        self.append_held(&mut guard, batch, at).await
    }

    /// [`Self::append_on`] with the writer held.
    pub(super) async fn append_held(
        &self,
        guard: &mut DeltaTable,
        batch: RecordBatch,
        at: u64,
    ) -> Result<Option<u64>> {
        if !blind_append::supported(guard) || self.known_version(guard) != at {
            return Ok(None);
        }
        let batch = sorted_by_key(self.kind, batch)?;
        let rows = batch.num_rows();
        let version = at + 1;
        let kept = (rows < super::system_compaction::AUTO_COMPACT_FILES).then(|| batch.clone());
        let Some(adds) = blind_append::commit_exactly(guard, version, batch, &self.url).await?
        else {
            return Ok(None);
        };
        self.appended.fetch_max(version, Ordering::SeqCst);
        let one_file = adds.len() == 1;
        let files = adds
            .into_iter()
            .map(|add| AppendedFile {
                rows: if one_file {
                    Some(rows)
                } else {
                    add.get_stats()
                        .ok()
                        .flatten()
                        .and_then(|s| usize::try_from(s.num_records).ok())
                },
                // the file holds exactly the batch only when it is the append's one file
                batch: if one_file { kept.clone() } else { None },
                add,
            })
            .collect();
        self.record_appended(version, files);
        if version.saturating_sub(guard.version().unwrap_or(0)) >= blind_append::CHECKPOINT_EVERY {
            // no merge caught the snapshot up: readers still get a checkpoint to start from
            self.checkpoint_at(guard, version).await;
        }
        Ok(Some(version))
    }

    /// Records that this process committed `version`, a merge of small files, without its
    /// snapshot catching up.
    pub(super) fn note_merged(&self, version: u64) {
        self.appended.fetch_max(version, Ordering::SeqCst);
        self.merged.fetch_max(version, Ordering::SeqCst);
    }

    /// True, and noted as done now, when this process has not removed the table's expired commit
    /// files in the last [`CLEANUP_EVERY`]: at a checkpoint, a process that commits once cleans
    /// up as before, and one that commits all day does not list its whole log every few commits.
    pub(super) fn cleanup_due(&self) -> bool {
        let mut cleaned = match self.cleaned.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = std::time::Instant::now();
        if cleaned.is_some_and(|at| now.duration_since(at) < CLEANUP_EVERY) {
            return false;
        }
        *cleaned = Some(now);
        true
    }

    /// The version whose rows the table holds at [`Self::version`]: that version, or the one
    /// before it when it is a merge of small files this process made (a merge moves rows
    /// between files and changes none), so that what a commit of this process worked out for
    /// its own version still holds after the merge that followed it.
    pub async fn rows_version(&self) -> u64 {
        let version = self.version().await;
        if version > 0 && self.merged.load(Ordering::SeqCst) == version {
            version - 1
        } else {
            version
        }
    }

    /// Records the files this process appended as `version` (called with the writer held).
    fn record_appended(&self, version: u64, adds: Vec<AppendedFile>) {
        let mut files = match self.appended_files.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if files.last().is_some_and(|(v, _)| v + 1 != version) {
            // a version in between is not this process's: what came before no longer helps
            files.clear();
        }
        files.push((version, adds));
    }

    /// The files this process appended in the versions after the writer's snapshot, when it
    /// appended every one of them up to the newest version it knows of (so that those files
    /// and the snapshot's are the table's files); `None` when another writer committed in
    /// between, or may have. Called with the writer held.
    pub(super) fn appended_since(&self, writer: &DeltaTable) -> Option<Vec<AppendedFile>> {
        let loaded = writer.version().unwrap_or(0);
        let known = self.known_version(writer);
        let mut files = match self.appended_files.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        files.retain(|(v, _)| *v > loaded);
        let consecutive = match (files.first(), files.last()) {
            (None, _) | (_, None) => known == loaded,
            (Some((first, _)), Some((last, _))) => *first == loaded + 1 && *last == known,
        };
        consecutive.then(|| files.iter().flat_map(|(_, adds)| adds.clone()).collect())
    }

    /// One commit, made with delta-rs's own retries off: `build` computes what to write from the
    /// table as it is now (`None`: nothing, and no commit is made); when another writer committed first, the snapshot catches up, `build`
    /// runs again, and the commit is retried after a backoff with jitter.
    pub(super) async fn commit_with_retry<F, Fut>(&self, build: F) -> Result<Option<u64>>
    where
        F: Fn(DeltaTable) -> Fut,
        Fut: Future<Output = Result<Option<Commit>>>,
    {
        let started = std::time::Instant::now();
        let mut attempt = 1;
        loop {
            let mut guard = self.table.lock().await;
            if attempt > 1 {
                guard
                    .update_incremental(None)
                    .await
                    .map_err(|e| delta_err(&self.url, e))?;
                self.publish(&guard);
            } else {
                self.catch_up(&mut guard).await?;
            }
            let Some(commit) = build(guard.clone()).await? else {
                return Ok(None);
            };
            // expired commit files are cleaned up after a checkpoint only (below): delta-rs
            // would list the whole log directory on every commit to look for them
            let once = || {
                CommitProperties::default()
                    .with_max_retries(0)
                    .with_cleanup_expired_logs(Some(false))
            };
            let table = guard.clone();
            let commit_started = std::time::Instant::now();
            let result = match commit.sorted_by_key(self.kind)? {
                Commit::Write(batch, mode) => {
                    table
                        .write(vec![batch])
                        .with_save_mode(mode)
                        .with_target_file_size(Some(SystemTableKind::FILE_SIZE))
                        .with_commit_properties(once())
                        .await
                }
                Commit::ReplaceWhere(batch, predicate) => {
                    table
                        .write(vec![batch])
                        .with_save_mode(SaveMode::Overwrite)
                        .with_replace_where(predicate)
                        .with_target_file_size(Some(SystemTableKind::FILE_SIZE))
                        .with_commit_properties(once())
                        .await
                }
                Commit::Delete(predicate) => table
                    .delete()
                    .with_predicate(predicate)
                    .with_commit_properties(once())
                    .await
                    .map(|(t, _)| t),
            };
            match result {
                Ok(t) => {
                    tracing::debug!(table = self.kind.name(), elapsed = ?commit_started.elapsed(), "committed");
                    *guard = t;
                    self.publish(&guard);
                    if checkpointed(&guard) && self.cleanup_due() {
                        cleanup_expired_logs(&self.url, &guard).await;
                    }
                    return Ok(guard.version());
                }
                Err(e)
                    if is_commit_race(&e)
                        && attempt < self.policy.max_attempts
                        && started.elapsed() < self.policy.max_elapsed =>
                {
                    drop(guard);
                    tokio::time::sleep(self.policy.backoff(attempt + 1)).await;
                    attempt += 1;
                }
                Err(e) if is_commit_race(&e) => {
                    return Err(Error::Contention {
                        table: self.kind.name().to_string(),
                        attempts: attempt,
                    });
                }
                Err(e) => return Err(delta_err(&self.url, e)),
            }
        }
    }
}

/// True when delta-rs wrote a checkpoint after the ordinary commit that `table` holds (it
/// writes one every checkpoint interval).
fn checkpointed(table: &DeltaTable) -> bool {
    let Ok(snapshot) = table.snapshot() else {
        return false;
    };
    let version = snapshot.version();
    let interval = snapshot.table_config().checkpoint_interval().get();
    version > 0 && (version + 1).is_multiple_of(interval)
}

/// How often a process removes a table's expired commit files. Finding them lists the whole
/// log, which grows with every commit while the retention (30 days unless the table says
/// otherwise) holds it; what expires in an hour is a few hours' worth of commits at most.
const CLEANUP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Removes the commit files older than the table's log retention that a checkpoint has made
/// unnecessary (unless the table turns that off). A failure is logged and left for the next
/// checkpoint: the commits stand either way.
pub(super) async fn cleanup_expired_logs(url: &Url, table: &DeltaTable) {
    let Ok(snapshot) = table.snapshot() else {
        return;
    };
    if !snapshot.table_config().enable_expired_log_cleanup() {
        return;
    }
    if let Err(e) = deltalake::checkpoints::cleanup_metadata(table, None).await {
        tracing::warn!(table = %url, error = %e, "expired Delta log files were not cleaned up");
    }
}

/// Creates the (empty) system table, or loads it when another process created it first.
async fn create_table(
    kind: SystemTableKind,
    store: &Arc<dyn ObjectStore>,
    url: &Url,
    options: &std::collections::HashMap<String, String>,
) -> Result<DeltaTable> {
    let schema: StructType = kind
        .schema()
        .as_ref()
        .try_into_kernel()
        .map_err(|e| Error::invalid(format!("system table {} schema: {e}", kind.name())))?;
    let created = table_handle(store, url, options)?
        .create()
        .with_table_name(kind.name())
        .with_comment(format!("lakemeta system table {}", kind.name()))
        .with_columns(schema.fields().cloned())
        .with_configuration_property(deltalake::TableProperty::CheckpointInterval, Some("20"))
        .with_configuration_property(
            deltalake::TableProperty::TargetFileSize,
            Some(SystemTableKind::FILE_SIZE.to_string()),
        )
        .with_save_mode(SaveMode::Ignore)
        .await;
    match created {
        Ok(t) => Ok(t),
        Err(e) if is_commit_race(&e) => {
            let mut t = table_handle(store, url, options)?;
            t.load().await.map_err(|e| delta_err(url, e))?;
            Ok(t)
        }
        Err(e) => Err(delta_err(url, e)),
    }
}

/// Adds the columns a later layout gave the table (nullable, at the end), in one metadata-only
/// commit. A concurrent upgrade that added them first is fine.
async fn add_missing_columns(
    kind: SystemTableKind,
    table: DeltaTable,
    url: &Url,
) -> Result<DeltaTable> {
    let have: Vec<String> = match table.snapshot() {
        Ok(s) => s.schema().fields().map(|f| f.name().to_string()).collect(),
        Err(_) => return Ok(table),
    };
    let wanted: StructType = kind
        .schema()
        .as_ref()
        .try_into_kernel()
        .map_err(|e| Error::invalid(format!("system table {} schema: {e}", kind.name())))?;
    let missing: Vec<_> = wanted
        .fields()
        .filter(|f| !have.iter().any(|h| h == f.name()))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(table);
    }
    let mut reload = table.clone();
    match table.add_columns().with_fields(missing).await {
        Ok(t) => Ok(t),
        Err(e) => {
            // a concurrent upgrade may have added them first: fine if they are there now
            reload.load().await.map_err(|e| delta_err(url, e))?;
            let now: Vec<String> = match reload.snapshot() {
                Ok(s) => s.schema().fields().map(|f| f.name().to_string()).collect(),
                Err(_) => Vec::new(),
            };
            if wanted.fields().all(|f| now.iter().any(|h| h == f.name())) {
                Ok(reload)
            } else {
                Err(delta_err(url, e))
            }
        }
    }
}

pub(super) async fn read_all(url: &Url, table: &DeltaTable) -> Result<Vec<RecordBatch>> {
    let (_, stream) = table.scan_table().await.map_err(|e| delta_err(url, e))?;
    Ok(stream.try_collect().await?)
}

/// `decode` over `batches`, the batches split between the machine's cores (on blocking threads,
/// off the async ones); the rows in the batches' order. `what` names the table in errors.
pub async fn decode_on_cores<T, F>(
    batches: Vec<RecordBatch>,
    what: &str,
    decode: F,
) -> Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(&[RecordBatch]) -> Result<Vec<T>> + Send + Sync + Copy + 'static,
{
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_task = batches.len().div_ceil(cores).max(1);
    let mut tasks = Vec::new();
    let mut rest = batches;
    while !rest.is_empty() {
        let part: Vec<RecordBatch> = rest.drain(..per_task.min(rest.len())).collect();
        tasks.push(tokio::task::spawn_blocking(move || decode(&part)));
    }
    let mut out = Vec::new();
    for task in tasks {
        let rows = task
            .await
            .map_err(|e| Error::invalid(format!("decoding {what} stopped: {e}")))??;
        out.extend(rows);
    }
    Ok(out)
}

/// Rows to one record batch of the table's schema.
pub(crate) fn encode<T: Serialize>(kind: SystemTableKind, rows: &[T]) -> Result<RecordBatch> {
    let schema = kind.schema();
    serde_arrow::to_record_batch(schema.fields(), &rows)
        .map_err(|e| Error::invalid(format!("encoding rows of {}: {e}", kind.name())))
}

/// Record batches to rows.
pub(crate) fn decode<T: DeserializeOwned>(batches: &[RecordBatch]) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for b in batches {
        let rows: Vec<T> = serde_arrow::from_record_batch(b)
            .map_err(|e| Error::invalid(format!("decoding a system table: {e}")))?;
        out.extend(rows);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn expired_commits_are_looked_for_once_an_hour_per_table() {
        let store: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        let url = Url::parse("memory:///wh/_meta/audit").unwrap();
        let table = SystemTable::open(
            SystemTableKind::AuditLog,
            &store,
            url,
            &Default::default(),
            true,
        )
        .await
        .unwrap();
        assert!(
            table.cleanup_due(),
            "a process cleans up at its first checkpoint"
        );
        assert!(!table.cleanup_due(), "and not again within the hour");
        *table.cleaned.lock().unwrap() = std::time::Instant::now().checked_sub(CLEANUP_EVERY);
        assert!(table.cleanup_due(), "an hour later it does");
    }
}
