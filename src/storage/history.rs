//! A Delta table's history as lakemeta shows it (`SHOW HISTORY`): each commit's version, time,
//! operation, the principal who made it and the rows it added and removed. lakemeta records the
//! principal (`userName`, the field Delta's commit info has for it) and, for a commit that
//! replaces the rows, how many it removed, in every commit it makes to a data product.

use std::sync::Arc;

use deltalake::DeltaTable;
use deltalake::kernel::CommitInfo;
use deltalake::kernel::transaction::CommitProperties;
use futures::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use serde_json::Value;

use crate::error::{Error, Result};

/// The commit-info field lakemeta records the rows a replacing commit removed in.
const ROWS_REMOVED: &str = "lakemetaRowsRemoved";

/// One commit of a table's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// The table version the commit made.
    pub version: u64,
    /// When, in milliseconds since the epoch.
    pub committed_at_ms: Option<i64>,
    /// What it did: `WRITE`, `CREATE TABLE`, `DELETE`, … (as Delta names it).
    pub operation: String,
    /// Who made it, when the writer recorded it.
    pub principal: Option<String>,
    /// Rows it added, when known.
    pub rows_added: Option<u64>,
    /// Rows it removed, when known.
    pub rows_removed: Option<u64>,
}

/// The commit properties of a write by `by` that removes `removed` rows.
pub(super) fn commit_properties(by: &str, removed: u64) -> CommitProperties {
    CommitProperties::default().with_metadata([
        ("userName".to_string(), Value::from(by)),
        (ROWS_REMOVED.to_string(), Value::from(removed)),
    ])
}

/// The rows of the table's loaded version, from the log's statistics (0 when it has none).
pub(super) fn row_count(table: &DeltaTable) -> u64 {
    let Ok(snapshot) = table.snapshot() else {
        return 0;
    };
    snapshot
        .log_data()
        .iter()
        .filter_map(|f| f.num_records())
        .map(|n| n as u64)
        .sum()
}

/// The newest `limit` commits (all there are without a limit) of the table at `url` whose
/// latest version is `latest`, newest first, read from its commit files: a version whose file
/// log cleanup removed ends the history.
pub(super) async fn entries(
    store: &Arc<dyn ObjectStore>,
    url: &url::Url,
    latest: u64,
    limit: Option<usize>,
) -> Result<Vec<HistoryEntry>> {
    let log = log_path(url)?;
    let first = match limit {
        Some(n) => latest.saturating_sub(n.saturating_sub(1) as u64),
        None => 0,
    };
    let commits = futures::stream::iter((first..=latest).rev())
        .map(|version| {
            let file = log.clone().join(format!("{version:020}.json"));
            async move {
                match store.get(&file).await {
                    Ok(got) => {
                        let bytes = got.bytes().await.map_err(|e| object_err(url, e))?;
                        Ok(Some((version, commit_info(&bytes))))
                    }
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(object_err(url, e)),
                }
            }
        })
        .buffered(16);
    let mut out = Vec::new();
    futures::pin_mut!(commits);
    while let Some(commit) = commits.next().await {
        match commit? {
            Some((version, info)) => out.push(entry(version, &info)),
            None => break,
        }
    }
    Ok(out)
}

fn object_err(url: &url::Url, source: object_store::Error) -> Error {
    Error::ObjectStore {
        location: url.to_string(),
        source,
    }
}

/// The commit info of a commit file (empty when it has none: a writer may leave it out).
fn commit_info(bytes: &[u8]) -> CommitInfo {
    serde_json::Deserializer::from_slice(bytes)
        .into_iter::<Value>()
        .filter_map(|action| action.ok())
        .find_map(|mut action| action.get_mut("commitInfo").map(Value::take))
        .and_then(|info| serde_json::from_value(info).ok())
        .unwrap_or_default()
}

fn entry(version: u64, info: &CommitInfo) -> HistoryEntry {
    let metrics = info.info.get("operationMetrics");
    let metric = |name: &str| metrics.and_then(|m| m.get(name)).and_then(Value::as_u64);
    let rows_removed = info
        .info
        .get(ROWS_REMOVED)
        .and_then(Value::as_u64)
        .or_else(|| metric("num_deleted_rows"));
    HistoryEntry {
        version,
        committed_at_ms: info.timestamp,
        operation: info.operation.clone().unwrap_or_default(),
        principal: info.user_name.clone(),
        rows_added: metric("num_added_rows"),
        rows_removed,
    }
}

/// When version `version` of the table at `url` was committed, in milliseconds since the epoch:
/// its commit info's time, else its commit file's. `None` when the commit file is gone.
pub(super) async fn commit_time(
    store: &Arc<dyn ObjectStore>,
    url: &url::Url,
    version: u64,
) -> Result<Option<i64>> {
    let file = log_path(url)?.join(format!("{version:020}.json"));
    match store.get(&file).await {
        Ok(got) => {
            let modified = got.meta.last_modified.timestamp_millis();
            let bytes = got.bytes().await.map_err(|e| object_err(url, e))?;
            Ok(Some(commit_info(&bytes).timestamp.unwrap_or(modified)))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(object_err(url, e)),
    }
}

/// The oldest version whose commit file the log of the table at `url` still holds.
pub(super) async fn first_version(store: &Arc<dyn ObjectStore>, url: &url::Url) -> Result<u64> {
    use futures::TryStreamExt;
    let log = log_path(url)?;
    let files: Vec<_> = store
        .list(Some(&log))
        .try_collect()
        .await
        .map_err(|e| object_err(url, e))?;
    Ok(files
        .iter()
        .filter_map(|m| m.location.filename())
        .filter_map(|f| f.strip_suffix(".json"))
        .filter(|n| n.len() == 20)
        .filter_map(|n| n.parse::<u64>().ok())
        .min()
        .unwrap_or(0))
}

fn log_path(url: &url::Url) -> Result<Path> {
    Ok(Path::from_url_path(url.path())
        .map_err(|e| Error::invalid(format!("{url}: {e}")))?
        .join("_delta_log"))
}
