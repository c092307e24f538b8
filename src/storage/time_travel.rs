//! Reading a Delta table as it was: at a version, or at the latest commit at or before a time.
//! A version that the table never had, one its log no longer holds, one whose data files a
//! `VACUUM` removed, and a time before the table's first commit or after now are each refused
//! with what to read instead.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::catalog::TableProvider;
use deltalake::{DeltaTable, DeltaTableError};
use futures::TryStreamExt;
use object_store::ObjectStore;
use object_store::path::Path;
use url::Url;

use super::data::{DataStore, missing_or};
use super::history::{commit_time, first_version};
use super::system_table::delta_err;
use crate::error::{Error, Result};
use crate::model::{AsOf, DataFormat, format_timestamp, now_micros};

impl DataStore {
    /// A query provider over the data at `location` as it was `as_of`. `what` names the table
    /// in errors (`orders.orders_fact`, `meta.products`).
    pub async fn open_as_of(
        &self,
        location: &str,
        format: DataFormat,
        as_of: AsOf,
        what: &str,
    ) -> Result<Arc<dyn TableProvider>> {
        if format != DataFormat::Delta {
            return Err(Error::invalid(format!(
                "{what} is {} files, which keep no versions: {as_of} reads Delta tables only",
                format.as_str()
            )));
        }
        let (dir, store, mut table) = self.delta_handle(location)?;
        table.load().await.map_err(|e| missing_or(&dir, e))?;
        let latest = table.version().unwrap_or(0);
        let version = match as_of {
            AsOf::Version(v) if v > latest => {
                return Err(Error::invalid(format!(
                    "{what} has no version {v}: its latest is {latest}; SHOW HISTORY {what} \
                     lists its versions"
                )));
            }
            AsOf::Version(v) => v,
            AsOf::Timestamp(t) => version_at(&store, &dir, latest, t, what).await?,
        };
        if version != latest {
            table.load_version(version).await.map_err(|e| match e {
                DeltaTableError::InvalidVersion(_) => gone_from_log(version, what),
                other => delta_err(&dir, other),
            })?;
        }
        check_files(&store, &dir, &table, version, what).await?;
        table.table_provider().await.map_err(Error::DataFusion)
    }
}

fn gone_from_log(version: u64, what: &str) -> Error {
    Error::invalid(format!(
        "version {version} of {what} is no longer in its Delta log (the log keeps 30 days of \
         commits by default); SHOW HISTORY {what} lists the versions it holds"
    ))
}

/// The latest version committed at or before `micros`, found by a binary search over the
/// commit times (which Delta writers keep in commit order).
async fn version_at(
    store: &Arc<dyn ObjectStore>,
    dir: &Url,
    latest: u64,
    micros: i64,
    what: &str,
) -> Result<u64> {
    let wanted = format_timestamp(micros);
    if micros > now_micros() {
        return Err(Error::invalid(format!(
            "TIMESTAMP AS OF '{wanted}' is in the future; to read {what} as it is now, leave \
             the clause out"
        )));
    }
    let first = first_version(store, dir).await?;
    let time = |v: u64| async move {
        commit_time(store, dir, v)
            .await?
            .ok_or_else(|| gone_from_log(v, what))
    };
    let millis = micros.div_euclid(1_000);
    let first_time = time(first).await?;
    if first_time > millis {
        let detail = if first == 0 {
            "its first commit".to_string()
        } else {
            format!("the oldest commit its log still holds (version {first})")
        };
        return Err(Error::invalid(format!(
            "TIMESTAMP AS OF '{wanted}' is before {detail} of {what}, at {}; SHOW HISTORY \
             {what} lists its versions and their times",
            format_timestamp(first_time.saturating_mul(1_000))
        )));
    }
    // the invariant: commit `lo` was made at or before the time
    let (mut lo, mut hi) = (first, latest);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if time(mid).await? <= millis {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Ok(lo)
}

/// Refuses a version some of whose data files are gone (a `VACUUM` removed them), which would
/// fail partway through a read.
async fn check_files(
    store: &Arc<dyn ObjectStore>,
    dir: &Url,
    table: &DeltaTable,
    version: u64,
    what: &str,
) -> Result<()> {
    let snapshot = table.snapshot().map_err(|e| delta_err(dir, e))?;
    let root =
        Path::from_url_path(dir.path()).map_err(|e| Error::invalid(format!("{dir}: {e}")))?;
    let present: HashSet<Path> = store
        .list(Some(&root))
        .map_ok(|m| m.location)
        .try_collect()
        .await
        .map_err(|e| Error::ObjectStore {
            location: dir.to_string(),
            source: e,
        })?;
    let mut files = 0usize;
    let mut missing = 0usize;
    for file in snapshot.log_data().iter() {
        let path = file.path();
        if path.contains("://") {
            // a file outside the table (a shallow clone's) is not listed here
            continue;
        }
        files += 1;
        let full = Path::from_iter(root.parts().chain(file.object_store_path().parts()));
        if !present.contains(&full) {
            missing += 1;
        }
    }
    if missing > 0 {
        return Err(Error::invalid(format!(
            "version {version} of {what} can no longer be read: {missing} of its {files} data \
             files are gone (VACUUM removes the files that only versions older than its \
             retention need); read a later version — SHOW HISTORY {what} lists them"
        )));
    }
    Ok(())
}
