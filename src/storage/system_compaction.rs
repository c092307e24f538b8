//! Compacting a system table written by key: its rows rewritten sorted by key into files of
//! [`SystemTableKind::FILE_SIZE`]. Sorted, each file holds a narrow range of keys, so a later
//! change reads and rewrites only the file its key falls in (a bin-packing compaction would mix
//! the keys of the small files it merges, and every change would have to read every file).

use deltalake::DeltaTable;
use deltalake::protocol::SaveMode;

use super::maintenance::{OptimizeReport, TableFiles, claim_compaction, small_files};
use super::schemas::SystemTableKind;
use super::system_table::{Commit, SystemTable, read_all};
use crate::error::{Error, Result};

/// True when two or more of the table's files are smaller than the target size.
fn needs_compaction(table: &DeltaTable) -> bool {
    small_files(table, SystemTableKind::FILE_SIZE.get(), 2) >= 2
}

impl SystemTable {
    /// Compacts a table written by key (one with [`SystemTableKind::key_columns`]): when two or
    /// more of its files are smaller than [`SystemTableKind::FILE_SIZE`], its rows are
    /// rewritten sorted by key in one commit, made on the version it read — a writer that
    /// committed meanwhile makes it read again, so nothing another writer did is lost.
    pub async fn compact(&self) -> Result<OptimizeReport> {
        let columns = self.kind().key_columns();
        if columns.is_empty() {
            return Err(Error::invalid(format!(
                "system table {} is not written by key; compact it with OPTIMIZE",
                self.kind().name()
            )));
        }
        let before = std::sync::Mutex::new(TableFiles::default());
        let version = self
            .commit_with_retry(|table: DeltaTable| {
                if let Ok(mut b) = before.lock() {
                    *b = TableFiles::of(&table);
                }
                async move {
                    if !needs_compaction(&table) {
                        return Ok(None);
                    }
                    // the commit writes the rows sorted by key (as every commit of the table)
                    let batches = read_all(self.url(), &table).await?;
                    let Some(schema) = batches.first().map(|b| b.schema()) else {
                        return Ok(None);
                    };
                    let batch = arrow::compute::concat_batches(&schema, &batches)?;
                    Ok(Some(Commit::Write(batch, SaveMode::Overwrite)))
                }
            })
            .await?;
        let table = self.delta_table().await?;
        let after = TableFiles::of(&table);
        let Some(version) = version else {
            return Ok(OptimizeReport {
                version: table.version().unwrap_or(0),
                live: after,
                ..OptimizeReport::default()
            });
        };
        let before = before.lock().map(|b| *b).unwrap_or_default();
        Ok(OptimizeReport {
            files_removed: before.count,
            files_added: after.count,
            bytes_removed: before.bytes,
            bytes_added: after.bytes,
            version,
            live: after,
        })
    }
}

/// Small files a table written by key gathers (one a change) before the commit that makes it
/// this many merges them: every commit costs Delta a pass over the table's files, so they are
/// kept few.
const AUTO_COMPACT_FILES: usize = 32;

impl SystemTable {
    /// After a commit: when the table has [`AUTO_COMPACT_FILES`] files smaller than
    /// [`SystemTableKind::FILE_SIZE`], merges them into files of that size, after claiming the
    /// table as `OPTIMIZE` does (of two racing merges one fails, so no row is kept twice; every
    /// other writer of a system table commits only on the version it read). A merge that loses
    /// a race is left for the next commit, and a failure is logged, never the caller's: its
    /// own commit stands.
    pub(super) async fn merge_small_files(&self) {
        let mut guard = self.table.lock().await;
        let mut small = small_files(&guard, SystemTableKind::FILE_SIZE.get(), AUTO_COMPACT_FILES);
        // each commit the writer's snapshot has not caught up with (a blind append) added at
        // most one small file: catch up only when they may make the count
        let behind = self
            .known_version(&guard)
            .saturating_sub(guard.version().unwrap_or(0));
        if small + behind as usize >= AUTO_COMPACT_FILES && behind > 0 {
            if let Err(e) = self.catch_up(&mut guard).await {
                tracing::warn!(table = self.kind().name(), error = %e, "no merge of small files");
                return;
            }
            small = small_files(&guard, SystemTableKind::FILE_SIZE.get(), AUTO_COMPACT_FILES);
        }
        if small < AUTO_COMPACT_FILES {
            return;
        }
        // delta-rs's optimize commits with its own retries, and Delta's conflict check lets
        // two compactions of the same files both commit: the claim keeps it to one
        let name = format!("meta.{}", self.kind().name());
        let claimed = match claim_compaction(self.url(), guard.clone(), &name, "lakemeta").await {
            Ok(t) => t,
            Err(e) => {
                tracing::debug!(table = %name, error = %e, "no claim to merge small files");
                return;
            }
        };
        *guard = claimed.clone();
        self.publish(&guard);
        let merged = claimed
            .optimize()
            .with_target_size(SystemTableKind::FILE_SIZE)
            .with_commit_properties(super::history::commit_properties("lakemeta", 0))
            .await;
        match merged {
            Ok((table, metrics)) => {
                tracing::debug!(
                    table = self.kind().name(),
                    files = metrics.num_files_removed,
                    "merged the small files of a system table"
                );
                *guard = table;
                self.publish(&guard);
            }
            Err(e) if super::system_table::is_commit_race(&e) => {}
            Err(e) => tracing::warn!(
                table = self.kind().name(),
                error = %e,
                "the small files of a system table were not merged; the next commit tries again"
            ),
        }
    }
}
