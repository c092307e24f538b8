//! Blind appends: a commit of new files that leaves the loaded snapshot where it was.
//!
//! After every commit delta-rs brings the table's snapshot up to date by re-reading the
//! statistics of every file in the table, so an ordinary append costs more the more files the
//! table has (22 ms per commit with 100 files, 134 ms with 400, on two cores — the audit
//! section of `cargo bench --bench governance`). A table that is appended to all the time and
//! read seldom — the audit log — instead writes its Parquet file (with statistics, as delta-rs
//! writes them) and the commit that adds it, and nothing else: readers catch up with a refresh,
//! and every [`CHECKPOINT_EVERY`] commits the writer catches up too and writes a checkpoint, so
//! that no reader replays a long log.
//!
//! A blind append conflicts with nothing another writer can do to such a table: the next
//! version taken by another process is skipped, and a column added meanwhile reads as null in
//! the rows written without it.
//!
//! The catalog's tables written by key append new rows the same way, but only as exactly the
//! version after the one their rows were checked against ([`commit_exactly`]): when another
//! writer took it, the change is made again the ordinary way, on the rows as they are now (see
//! `SystemTable::append_on`). They merge the small files those appends leave with a commit of
//! exactly the next version too ([`commit_actions_exactly`]), after which the writer catches
//! up and writes a checkpoint.

use std::collections::HashMap;

use arrow::array::RecordBatch;
use deltalake::DeltaTable;
use deltalake::kernel::transaction::{CommitData, TransactionError};
use deltalake::kernel::{Action, Add};
use deltalake::logstore::CommitOrBytes;
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use url::Url;

use super::retry::RetryPolicy;
use super::system_table::delta_err;
use crate::error::{Error, Result};

/// A blind-appended table is caught up and checkpointed after every this many commits.
pub(super) const CHECKPOINT_EVERY: u64 = 100;

/// The log store whose commits are conditional puts of the commit's bytes (every store
/// lakemeta opens: local files, memory, S3 with conditional writes).
const CONDITIONAL_PUT_LOG_STORE: &str = "DefaultLogStore";

/// True when `table`'s log store takes blind commits; otherwise appends go the ordinary way.
pub(super) fn supported(table: &DeltaTable) -> bool {
    table.log_store().name() == CONDITIONAL_PUT_LOG_STORE
}

/// Writes each of `batches` as a new file of `table` (not yet committed) and returns their add
/// actions.
pub(super) async fn write_files(
    table: &DeltaTable,
    batches: impl IntoIterator<Item = RecordBatch>,
    url: &Url,
) -> Result<Vec<Add>> {
    let mut writer = RecordBatchWriter::for_table(table).map_err(|e| delta_err(url, e))?;
    let mut adds = Vec::new();
    for batch in batches {
        writer.write(batch).await.map_err(|e| delta_err(url, e))?;
        adds.extend(writer.flush().await.map_err(|e| delta_err(url, e))?);
    }
    Ok(adds)
}

/// The bytes of a commit of `actions` made by `operation`; `by`, when given, is recorded as
/// the principal who made it.
fn commit_bytes(
    actions: Vec<Action>,
    operation: DeltaOperation,
    by: Option<&str>,
    url: &Url,
) -> Result<bytes::Bytes> {
    let metadata = by
        .map(|by| HashMap::from([("userName".to_string(), serde_json::Value::from(by))]))
        .unwrap_or_default();
    let data = CommitData::new(actions, operation, metadata, Vec::new());
    data.get_bytes().map_err(|e| delta_err(url, e.into()))
}

/// The append of new files.
fn append_operation() -> DeltaOperation {
    DeltaOperation::Write {
        mode: SaveMode::Append,
        partition_by: None,
        predicate: None,
    }
}

/// Writes `batch` as new files of `table` and returns the bytes of the commit that adds them.
async fn prepare(table: &DeltaTable, batch: RecordBatch, url: &Url) -> Result<bytes::Bytes> {
    let adds = write_files(table, [batch], url).await?;
    commit_bytes(
        adds.into_iter().map(Action::Add).collect(),
        append_operation(),
        None,
        url,
    )
}

/// Writes `batch` as new files of `table` and commits them as the first free version after
/// `after`. Returns the version committed.
pub(super) async fn commit(
    table: &DeltaTable,
    after: u64,
    batch: RecordBatch,
    url: &Url,
    policy: &RetryPolicy,
    what: &str,
) -> Result<u64> {
    let bytes = prepare(table, batch, url).await?;
    let mut version = after + 1;
    let mut attempt = 1;
    while !put_exactly(table, version, bytes.clone(), url).await? {
        if attempt >= policy.max_attempts {
            return Err(Error::Contention {
                table: what.to_string(),
                attempts: attempt,
            });
        }
        // another process took this version: go past its newest commit
        version = table
            .log_store()
            .get_latest_version(version)
            .await
            .map_err(|e| delta_err(url, e))?
            + 1;
        attempt += 1;
    }
    Ok(version)
}

/// Writes `batch` as new files of `table` and commits them as exactly `version`. Returns the
/// files added, or `None`, committing nothing, when another writer took that version first (the
/// written files are then left unreferenced, for `VACUUM`, as after any lost commit race).
pub(super) async fn commit_exactly(
    table: &DeltaTable,
    version: u64,
    batch: RecordBatch,
    url: &Url,
) -> Result<Option<Vec<Add>>> {
    let adds = write_files(table, [batch], url).await?;
    let actions = adds.iter().cloned().map(Action::Add).collect();
    let bytes = commit_bytes(actions, append_operation(), None, url)?;
    Ok(put_exactly(table, version, bytes, url)
        .await?
        .then_some(adds))
}

/// Commits `actions`, made by `operation` and recorded as made by `by`, as exactly `version`.
/// Returns false, committing nothing, when another writer took that version first.
pub(super) async fn commit_actions_exactly(
    table: &DeltaTable,
    version: u64,
    actions: Vec<Action>,
    operation: DeltaOperation,
    by: &str,
    url: &Url,
) -> Result<bool> {
    let bytes = commit_bytes(actions, operation, Some(by), url)?;
    put_exactly(table, version, bytes, url).await
}

/// Puts `bytes` as the commit file of exactly `version`; false when it exists already.
async fn put_exactly(
    table: &DeltaTable,
    version: u64,
    bytes: bytes::Bytes,
    url: &Url,
) -> Result<bool> {
    let entry = CommitOrBytes::LogBytes(bytes);
    match table
        .log_store()
        .write_commit_entry(version, entry, uuid::Uuid::new_v4())
        .await
    {
        Ok(()) => Ok(true),
        Err(TransactionError::VersionAlreadyExists(_)) => Ok(false),
        Err(e) => Err(delta_err(url, e.into())),
    }
}

/// Writes a checkpoint at `table`'s loaded version; false when it could not (logged: the
/// commits stand either way, and the next checkpoint tries again).
pub(super) async fn checkpoint(table: &DeltaTable, url: &Url) -> bool {
    if let Err(e) = deltalake::checkpoints::create_checkpoint(table, None).await {
        tracing::warn!(table = %url, error = %e, "a Delta checkpoint was not written");
        return false;
    }
    true
}
