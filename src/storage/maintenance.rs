//! Table maintenance: `OPTIMIZE` (compaction into files of a target size, optionally Z-ordered)
//! and `VACUUM` (deleting the files no version within the retention window needs). Both are
//! Delta operations with Delta's own safety: a compaction commits with the usual conflict check
//! (a commit that raced it fails, and nothing is lost), and a vacuum deletes only files removed
//! from the table longer ago than the retention, which may not be shorter than the table's
//! `delta.deletedFileRetentionDuration` (a week by default) unless forced.

use std::num::NonZeroU64;

use deltalake::operations::optimize::OptimizeType;
use deltalake::table::config::TablePropertiesExt;

use super::data::{DataStore, TableLayout, missing_or};
use super::system_table::{delta_err, is_commit_race};
use crate::error::{Error, Result};

/// The table property a compaction's claim sets (to a new identifier each time).
pub const COMPACTION: &str = "lakemeta.compaction";

/// A table's live data files (those its newest version reads): how many, and their bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableFiles {
    /// How many.
    pub count: u64,
    /// Their bytes.
    pub bytes: u64,
}

impl TableFiles {
    /// The live files of a loaded table (none when it has no snapshot).
    pub(super) fn of(table: &deltalake::DeltaTable) -> Self {
        let Ok(snapshot) = table.snapshot() else {
            return Self::default();
        };
        snapshot
            .log_data()
            .iter()
            .fold(Self::default(), |t, f| Self {
                count: t.count + 1,
                bytes: t.bytes + u64::try_from(f.size()).unwrap_or(0),
            })
    }
}

/// What an `OPTIMIZE` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptimizeReport {
    /// Data files it replaced.
    pub files_removed: u64,
    /// Data files it wrote.
    pub files_added: u64,
    /// Bytes of the files it replaced.
    pub bytes_removed: u64,
    /// Bytes of the files it wrote.
    pub bytes_added: u64,
    /// The table's version afterwards (unchanged when there was nothing to compact).
    pub version: u64,
    /// The table's live files afterwards.
    pub live: TableFiles,
}

/// What a `VACUUM` did (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VacuumReport {
    /// The files it deleted (would delete, dry), relative to the table.
    pub files: Vec<String>,
    /// The retention it kept, in hours.
    pub retain_hours: u64,
    /// The table's live files (which a vacuum leaves as they are).
    pub live: TableFiles,
}

/// How to vacuum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VacuumOptions {
    /// Keep the files versions of the last this many hours need (default: the table's
    /// `delta.deletedFileRetentionDuration`, a week unless set).
    pub retain_hours: Option<u64>,
    /// Allow a retention shorter than the table's.
    pub force: bool,
    /// List the files only.
    pub dry_run: bool,
}

/// How many of the loaded table's live files are smaller than `target` bytes (stops counting at
/// `enough`).
pub(super) fn small_files(table: &deltalake::DeltaTable, target: u64, enough: usize) -> usize {
    let Ok(snapshot) = table.snapshot() else {
        return 0;
    };
    snapshot
        .log_data()
        .iter()
        .filter(|f| u64::try_from(f.size()).unwrap_or(0) < target)
        .take(enough)
        .count()
}

/// True when the loaded table has two or more files smaller than the target size (the table's,
/// unless `target_size` says): what a compaction could merge.
fn has_small_files(table: &deltalake::DeltaTable, target_size: Option<NonZeroU64>) -> bool {
    let Ok(snapshot) = table.snapshot() else {
        return true;
    };
    let target = target_size
        .unwrap_or_else(|| snapshot.table_config().target_file_size())
        .get();
    small_files(table, target, 2) >= 2
}

impl DataStore {
    /// Compacts the Delta table at `location` (`what` names it in errors) into files of
    /// `target_size` bytes (default: the table's `delta.targetFileSize`, 100 MiB unless set),
    /// Z-ordered by `zorder` when given; the commit records principal `by`.
    pub async fn optimize(
        &self,
        location: &str,
        what: &str,
        zorder: &[String],
        target_size: Option<NonZeroU64>,
        by: &str,
    ) -> Result<OptimizeReport> {
        let (dir, _, mut table) = self.delta_handle(location)?;
        table.load().await.map_err(|e| missing_or(&dir, e))?;
        if !zorder.is_empty() {
            let snapshot = table.snapshot().map_err(|e| delta_err(&dir, e))?;
            let schema = snapshot.schema();
            let columns: Vec<String> = schema.fields().map(|f| f.name().clone()).collect();
            if let Some(unknown) = zorder.iter().find(|c| !columns.contains(c)) {
                return Err(Error::invalid(format!(
                    "ZORDER BY names column '{unknown}', which {what} does not have; its columns \
                     are {}",
                    columns.join(", ")
                )));
            }
        }
        if zorder.is_empty() && !has_small_files(&table, target_size) {
            // nothing to compact: no claim, no commit
            return Ok(OptimizeReport {
                version: table.version().unwrap_or(0),
                live: TableFiles::of(&table),
                ..OptimizeReport::default()
            });
        }
        let table = claim_compaction(&dir, table, what, by).await?;
        let before = table.version().unwrap_or(0);
        let mut optimize = table
            .optimize()
            .with_commit_properties(super::history::commit_properties(by, 0));
        if !zorder.is_empty() {
            optimize = optimize.with_type(OptimizeType::ZOrder(zorder.to_vec()));
        }
        if let Some(size) = target_size {
            optimize = optimize.with_target_size(size);
        }
        let (table, metrics) = optimize.await.map_err(|e| conflict_or(&dir, what, e))?;
        let bytes = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(OptimizeReport {
            files_removed: metrics.num_files_removed,
            files_added: metrics.num_files_added,
            bytes_removed: bytes(metrics.files_removed.total_size),
            bytes_added: bytes(metrics.files_added.total_size),
            version: table.version().unwrap_or(before),
            live: TableFiles::of(&table),
        })
    }

    /// Deletes the files of the Delta table at `location` (`what` names it in errors) that no
    /// version within the retention needs.
    pub async fn vacuum(
        &self,
        location: &str,
        what: &str,
        options: VacuumOptions,
        by: &str,
    ) -> Result<VacuumReport> {
        let (dir, _, mut table) = self.delta_handle(location)?;
        table.load().await.map_err(|e| missing_or(&dir, e))?;
        let snapshot = table.snapshot().map_err(|e| delta_err(&dir, e))?;
        let minimum = snapshot.table_config().deleted_file_retention_duration();
        let minimum_hours = minimum.as_secs().div_ceil(3600);
        let retain_hours = options.retain_hours.unwrap_or(minimum_hours);
        if retain_hours.saturating_mul(3600) < minimum.as_secs() && !options.force {
            return Err(Error::invalid(format!(
                "VACUUM {what} RETAIN {retain_hours} HOURS is shorter than the table's retention \
                 of {minimum_hours} hours (delta.deletedFileRetentionDuration): readers of older \
                 versions and writers that started before it may still need those files; retain \
                 at least {minimum_hours} hours, or add FORCE if nothing reads or writes {what} \
                 meanwhile"
            )));
        }
        let retention = i64::try_from(retain_hours)
            .ok()
            .and_then(chrono::TimeDelta::try_hours)
            .unwrap_or(chrono::TimeDelta::MAX);
        let live = TableFiles::of(&table);
        let (_, metrics) = table
            .vacuum()
            .with_retention_period(retention)
            .with_enforce_retention_duration(false)
            .with_dry_run(options.dry_run)
            .with_commit_properties(super::history::commit_properties(by, 0))
            .await
            .map_err(|e| delta_err(&dir, e))?;
        Ok(VacuumReport {
            files: metrics.files_deleted,
            retain_hours,
            live,
        })
    }
}

impl DataStore {
    /// Brings the table properties of the Delta table at `location` (`what` names it in
    /// errors) in step with the storage policy of `layout` — retention and target file size —
    /// in one commit recording principal `by`, when they differ. Returns true when it committed.
    pub async fn keep_policy(
        &self,
        location: &str,
        what: &str,
        layout: &TableLayout,
        by: &str,
    ) -> Result<bool> {
        let (dir, _, mut table) = self.delta_handle(location)?;
        table.load().await.map_err(|e| missing_or(&dir, e))?;
        let config = table
            .snapshot()
            .map_err(|e| delta_err(&dir, e))?
            .table_config();
        let retention_differs = layout.retention_days.is_some_and(|days| {
            config.deleted_file_retention_duration().as_secs() != days.unsigned_abs() * 86_400
        });
        let size_differs = layout
            .target_file_size
            .is_some_and(|bytes| config.target_file_size().get() != bytes.unsigned_abs());
        if !retention_differs && !size_differs {
            return Ok(false);
        }
        let properties: std::collections::HashMap<String, String> = layout
            .policy_properties()
            .into_iter()
            .filter_map(|(k, v)| Some((k.as_ref().to_string(), v?)))
            .collect();
        table
            .set_tbl_properties()
            .with_properties(properties)
            .with_raise_if_not_exists(false)
            .with_commit_properties(super::history::commit_properties(by, 0))
            .await
            .map_err(|e| conflict_or(&dir, what, e))?;
        Ok(true)
    }
}

impl DataStore {
    /// The table directories in `dir` (a domain's directory) that are no product's table —
    /// `kept` lists the tables of its products — and whose newest file is older than `age`:
    /// what creations cut off before the catalog took their table left behind. Each with its
    /// files. Only directories named as lakemeta names a new product's table
    /// (`<name>-<12 hex digits>`) are considered.
    pub async fn abandoned_tables(
        &self,
        dir: &url::Url,
        kept: &[url::Url],
        age: std::time::Duration,
    ) -> Result<Vec<(url::Url, Vec<String>)>> {
        use futures::TryStreamExt;
        let (_, store) = self.store_for(dir)?;
        let failed = |e: object_store::Error| Error::ObjectStore {
            location: dir.to_string(),
            source: e,
        };
        let prefix = object_store::path::Path::from_url_path(dir.path())
            .map_err(|e| Error::invalid(format!("{dir}: {e}")))?;
        let listing = store
            .list_with_delimiter(Some(&prefix))
            .await
            .map_err(failed)?;
        let same = |a: &url::Url, b: &url::Url| {
            a.as_str().trim_end_matches('/') == b.as_str().trim_end_matches('/')
        };
        let now = chrono::Utc::now();
        let mut abandoned = Vec::new();
        for sub in listing.common_prefixes {
            let Some(name) = sub.filename() else { continue };
            if !is_table_dir(name) {
                continue;
            }
            let url = dir
                .join(&format!("{name}/"))
                .map_err(|e| Error::invalid(format!("{dir}{name}: {e}")))?;
            if kept.iter().any(|k| same(k, &url)) {
                continue;
            }
            let files: Vec<object_store::ObjectMeta> =
                store.list(Some(&sub)).try_collect().await.map_err(failed)?;
            let Some(newest) = files.iter().map(|f| f.last_modified).max() else {
                continue;
            };
            let idle = (now - newest).to_std().unwrap_or_default();
            if idle > age {
                let names = files.into_iter().map(|f| f.location.to_string()).collect();
                abandoned.push((url, names));
            }
        }
        Ok(abandoned)
    }
}

/// True for a directory name lakemeta gives a new product's table: `<name>-<12 hex digits>`.
fn is_table_dir(name: &str) -> bool {
    name.rsplit_once('-').is_some_and(|(product, id)| {
        !product.is_empty() && id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// A commit that lost a race as [`Error::Conflict`] on `what`; any other failure as it is.
fn conflict_or(dir: &url::Url, what: &str, e: deltalake::DeltaTableError) -> Error {
    if is_commit_race(&e) {
        Error::Conflict {
            what: what.to_string(),
        }
    } else {
        delta_err(dir, e)
    }
}

/// Claims the table for one compaction: a commit that sets the table property
/// [`COMPACTION`], on the version the compaction then reads. Delta's conflict check lets
/// two compactions of the same files both commit (neither changed data), which would keep
/// two copies of their rows; a commit that changes the table's metadata, though, fails every
/// commit that read the version before it. So of two racing compactions the one that
/// claimed first fails when it commits after the other's claim (and writes nothing), and a
/// compaction's claim made after it started keeps it from committing. The claim is retried
/// on the newest version while other writers commit first.
pub(super) async fn claim_compaction(
    dir: &url::Url,
    mut table: deltalake::DeltaTable,
    what: &str,
    by: &str,
) -> Result<deltalake::DeltaTable> {
    let policy = super::retry::RetryPolicy {
        max_attempts: 20,
        ..Default::default()
    };
    let mut attempt = 1;
    loop {
        let claim = std::collections::HashMap::from([(
            COMPACTION.to_string(),
            uuid::Uuid::new_v4().to_string(),
        )]);
        let result = table
            .clone()
            .set_tbl_properties()
            .with_properties(claim)
            .with_raise_if_not_exists(false)
            .with_commit_properties(super::history::commit_properties(by, 0).with_max_retries(0))
            .await;
        match result {
            Ok(claimed) => return Ok(claimed),
            Err(e) if is_commit_race(&e) && attempt < policy.max_attempts => {
                attempt += 1;
                tokio::time::sleep(policy.backoff(attempt)).await;
                table
                    .update_incremental(None)
                    .await
                    .map_err(|e| delta_err(dir, e))?;
            }
            Err(e) if is_commit_race(&e) => {
                return Err(Error::Conflict {
                    what: what.to_string(),
                });
            }
            Err(e) => return Err(delta_err(dir, e)),
        }
    }
}
