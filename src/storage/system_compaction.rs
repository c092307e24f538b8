//! Compacting a system table written by key: its rows rewritten sorted by key into files of
//! [`SystemTableKind::FILE_SIZE`]. Sorted, each file holds a narrow range of keys, so a later
//! change reads and rewrites only the file its key falls in (a bin-packing compaction would mix
//! the keys of the small files it merges, and every change would have to read every file).

use std::sync::Arc;

use arrow::array::RecordBatch;
use deltalake::DeltaTable;
use deltalake::kernel::{Action, Add, LogicalFileView, Remove};
use deltalake::protocol::{DeltaOperation, SaveMode};
use object_store::path::Path;

use super::blind_append;
use super::file_rows::decode;
use super::key_reads::{conform, each_file};
use super::maintenance::{OptimizeReport, TableFiles, claim_compaction, small_files};
use super::schemas::SystemTableKind;
use super::system_table::{AppendedFile, Commit, SystemTable, read_all, sorted_by_key};
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
pub(super) const AUTO_COMPACT_FILES: usize = 32;

/// The files the commits merge are those smaller than this (half the target size): a file
/// between it and the target counts as full, since merging it would rewrite its rows again
/// for little gain (`OPTIMIZE` of the table rewrites them all, sorted by key).
const MERGE_BELOW: u64 = SystemTableKind::FILE_SIZE.get() / 2;

/// Who the commits that merge small files are recorded as made by.
const MAINTAINER: &str = "lakemeta";

/// The small files of a table to merge: where each is, and the action that removes it.
struct SmallFiles {
    /// The files to fetch and decode.
    paths: Vec<Path>,
    /// The rows of the others, kept by this process since it appended them.
    kept: Vec<RecordBatch>,
    /// The remove actions of them all.
    removes: Vec<Action>,
    /// The bytes a row takes in the densest of them (the others carry more of a file's fixed
    /// overhead per row).
    row_bytes: u64,
}

/// A small file a merge may take: one the writer's snapshot holds, or one this process
/// appended after it.
enum Candidate {
    Logged(LogicalFileView),
    /// A file this process appended, with its rows when it kept them.
    Appended(Box<Add>, Option<RecordBatch>),
}

/// Where a merged file's rows come from: the file, fetched and decoded, or the rows this
/// process appended it with.
enum Source {
    File(Path),
    Rows(RecordBatch),
}

impl Candidate {
    /// Where the file's rows are, and the action that removes it in a merge (no data changes).
    fn into_removal(self) -> (Source, Remove) {
        match self {
            Candidate::Logged(file) => (
                Source::File(file.object_store_path()),
                file.remove_action(false),
            ),
            Candidate::Appended(add, rows) => {
                let add = *add;
                let source = match rows {
                    Some(rows) => Source::Rows(rows),
                    None => Source::File(super::system_table::add_path(&add)),
                };
                (
                    source,
                    Remove {
                        path: add.path,
                        data_change: false,
                        deletion_timestamp: Some(chrono::Utc::now().timestamp_millis()),
                        extended_file_metadata: Some(true),
                        partition_values: Some(add.partition_values),
                        size: Some(add.size),
                        tags: add.tags,
                        deletion_vector: None,
                        base_row_id: add.base_row_id,
                        default_row_commit_version: add.default_row_commit_version,
                    },
                )
            }
        }
    }
}

/// A small file's tier: 0 for fewer than [`AUTO_COMPACT_FILES`] rows (what changes append),
/// 1 for fewer than that many times as many (what merging tier 0 leaves), and so on.
fn tier(rows: usize) -> u32 {
    let mut tier = 0;
    let mut limit = AUTO_COMPACT_FILES;
    while rows >= limit {
        tier += 1;
        limit = limit.saturating_mul(AUTO_COMPACT_FILES);
    }
    tier
}

impl SmallFiles {
    /// The files to merge: of the files smaller than [`MERGE_BELOW`] among the writer's
    /// snapshot and the files appended after it, those of the lowest tier (see [`tier`]) that
    /// has [`AUTO_COMPACT_FILES`] of them — none when no tier has. `None` when the snapshot's
    /// files do not stand alone (deletion vectors, partitions: lakemeta writes neither into
    /// its system tables).
    ///
    /// By tier, as a log-structured store merges: files of one change are merged with each
    /// other, the files those merges leave with each other once there are enough of them, and
    /// so on, so a row is rewritten a few times on its way into a full file — not at every
    /// merge, as it would be if each merge took every small file.
    fn of(writer: &DeltaTable, appended: Vec<AppendedFile>) -> Option<Self> {
        let small_below = i64::try_from(MERGE_BELOW).unwrap_or(i64::MAX);
        let snapshot = writer.snapshot().ok()?;
        if !snapshot.metadata().partition_columns().is_empty() {
            return None;
        }
        // each small file with its tier and the bytes a row takes in it; a file without a row
        // count (not written by lakemeta) is left to OPTIMIZE
        let candidate = |size: i64, rows: Option<usize>| {
            let rows = rows.filter(|_| size < small_below)?;
            let per_row = u64::try_from(size).unwrap_or(0) / u64::try_from(rows.max(1)).ok()?;
            Some((tier(rows), per_row))
        };
        let mut small: Vec<(u32, u64, Candidate)> = Vec::new();
        for file in snapshot.log_data().iter() {
            if file.deletion_vector_descriptor().is_some() {
                return None;
            }
            if let Some((t, per_row)) = candidate(file.size(), file.num_records()) {
                small.push((t, per_row, Candidate::Logged(file)));
            }
        }
        for file in appended {
            if let Some((t, per_row)) = candidate(file.add.size, file.rows) {
                small.push((
                    t,
                    per_row,
                    Candidate::Appended(Box::new(file.add), file.batch),
                ));
            }
        }
        let mut per_tier = std::collections::BTreeMap::<u32, usize>::new();
        for (t, ..) in &small {
            *per_tier.entry(*t).or_default() += 1;
        }
        let due = per_tier
            .into_iter()
            .find(|(_, n)| *n >= AUTO_COMPACT_FILES)
            .map(|(t, _)| t);
        let mut files = Self {
            paths: Vec::new(),
            kept: Vec::new(),
            removes: Vec::new(),
            row_bytes: u64::MAX,
        };
        for (_, per_row, file) in small.into_iter().filter(|(t, ..)| Some(*t) == due) {
            files.row_bytes = files.row_bytes.min(per_row);
            let (source, remove) = file.into_removal();
            match source {
                Source::File(path) => files.paths.push(path),
                Source::Rows(rows) => files.kept.push(rows),
            }
            files.removes.push(Action::Remove(remove));
        }
        Some(files)
    }

    /// How many files `rows` merged rows are written as: as many as the rows fill to
    /// [`SystemTableKind::FILE_SIZE`] by the bytes a row takes, at least one. Whole files only
    /// (rounded down): the estimate counts some of a small file's fixed overhead as rows, and
    /// a part that came out smaller than estimated could fall back into the tier it came from.
    fn output_files(&self, rows: usize) -> usize {
        let estimate = u64::try_from(rows)
            .unwrap_or(u64::MAX)
            .saturating_mul(self.row_bytes);
        let files = estimate / SystemTableKind::FILE_SIZE.get();
        usize::try_from(files)
            .unwrap_or(usize::MAX)
            .clamp(1, rows.max(1))
    }
}

impl SystemTable {
    /// After a commit: when the table has [`AUTO_COMPACT_FILES`] files smaller than
    /// [`MERGE_BELOW`] of one tier (see [`SmallFiles::of`]), merges them into files of about
    /// [`SystemTableKind::FILE_SIZE`], their rows sorted by key, in a commit made as
    /// exactly the next version: one that another writer took first means the table changed,
    /// and the merge is left for a later commit (so no row is ever kept twice, or lost). The writer's snapshot then catches up, and a checkpoint is written there when due ([`Self::merged_at`]). The
    /// files this process appended since the snapshot are known without reading the log, so a
    /// merge reads the small files and nothing else. A failure is logged, never the caller's:
    /// its own commit stands.
    pub(super) async fn merge_small_files(&self) {
        let mut guard = self.table.lock().await;
        if !blind_append::supported(&guard) {
            return self.merge_with_optimize(guard).await;
        }
        let appended = match self.appended_since(&guard) {
            Some(appended) => appended,
            None => {
                // another writer committed since the snapshot: the table's files are known once
                // it catches up, which is worth it only when a merge may be due
                let behind = self.known_version(&guard) - guard.version().unwrap_or(0);
                let small = small_files(&guard, MERGE_BELOW, AUTO_COMPACT_FILES);
                if small + (behind as usize) < AUTO_COMPACT_FILES {
                    return;
                }
                if let Err(e) = self.catch_up(&mut guard).await {
                    tracing::warn!(table = self.kind().name(), error = %e, "no merge of small files");
                    return;
                }
                Vec::new()
            }
        };
        let Some(small) = SmallFiles::of(&guard, appended) else {
            return self.merge_with_optimize(guard).await;
        };
        if small.removes.len() < AUTO_COMPACT_FILES {
            return;
        }
        let version = self.known_version(&guard) + 1;
        match self.merge(&guard, small, version).await {
            Ok(true) => {
                self.note_merged(version);
                self.merged_at(&mut guard, version).await;
            }
            Ok(false) => {
                tracing::debug!(
                    table = self.kind().name(),
                    version,
                    "a merge lost its version"
                )
            }
            Err(e) => tracing::warn!(
                table = self.kind().name(),
                error = %e,
                "the small files of a system table were not merged; the next commit tries again"
            ),
        }
    }

    /// Reads `small`'s rows, writes them sorted by key into new files, and commits those with
    /// the removal of `small` as exactly `version`; false when another writer took it.
    async fn merge(
        &self,
        writer: &DeltaTable,
        mut small: SmallFiles,
        version: u64,
    ) -> Result<bool> {
        let schema = self.kind().schema();
        let store = writer.log_store().object_store(None);
        let paths = std::mem::take(&mut small.paths);
        let per_file = each_file(self.url(), store, paths, |file, bytes| {
            let schema = Arc::clone(&schema);
            async move {
                let rows = tokio::task::spawn_blocking(move || decode(bytes, &schema, &schema))
                    .await
                    .map_err(|e| Error::invalid(format!("reading {file} stopped: {e}")))?;
                rows.map_err(|failure| failure.into_error(self.url(), &file))
            }
        })
        .await?;
        let mut batches: Vec<RecordBatch> = per_file.into_iter().flatten().collect();
        for rows in std::mem::take(&mut small.kept) {
            batches.push(conform(&rows, &schema)?);
        }
        let batch = arrow::compute::concat_batches(&schema, &batches)?;
        let rows = batch.num_rows();
        let batch = sorted_by_key(self.kind(), batch)?;
        let per_file = rows.div_ceil(small.output_files(rows)).max(1);
        let parts = (0..rows)
            .step_by(per_file)
            .map(|start| batch.slice(start, per_file.min(rows - start)));
        let removed = small.removes.len();
        let mut actions = std::mem::take(&mut small.removes);
        for mut add in blind_append::write_files(writer, parts, self.url()).await? {
            add.data_change = false;
            actions.push(Action::Add(add));
        }
        let operation = DeltaOperation::Optimize {
            predicate: None,
            target_size: i64::try_from(SystemTableKind::FILE_SIZE.get()).unwrap_or(i64::MAX),
        };
        let committed = blind_append::commit_actions_exactly(
            writer,
            version,
            actions,
            operation,
            MAINTAINER,
            self.url(),
        )
        .await?;
        if committed {
            tracing::debug!(
                table = self.kind().name(),
                version,
                files = removed,
                rows,
                "merged the small files of a system table"
            );
        }
        Ok(committed)
    }

    /// The merge of small files for a table whose log store does not take commits of an exact
    /// version, or whose files do not stand alone: delta-rs's optimize, after claiming the
    /// table as `OPTIMIZE` does (of two racing merges one fails, so no row is kept twice).
    async fn merge_with_optimize(&self, mut guard: tokio::sync::MutexGuard<'_, DeltaTable>) {
        if let Err(e) = self.catch_up(&mut guard).await {
            tracing::warn!(table = self.kind().name(), error = %e, "no merge of small files");
            return;
        }
        if small_files(&guard, SystemTableKind::FILE_SIZE.get(), AUTO_COMPACT_FILES)
            < AUTO_COMPACT_FILES
        {
            return;
        }
        // delta-rs's optimize commits with its own retries, and Delta's conflict check lets
        // two compactions of the same files both commit: the claim keeps it to one
        let name = format!("meta.{}", self.kind().name());
        let claimed = match claim_compaction(self.url(), guard.clone(), &name, MAINTAINER).await {
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
            .with_commit_properties(super::history::commit_properties(MAINTAINER, 0))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn merging(row_bytes: u64) -> SmallFiles {
        SmallFiles {
            paths: Vec::new(),
            kept: Vec::new(),
            removes: Vec::new(),
            row_bytes,
        }
    }

    #[test]
    fn a_file_moves_up_a_tier_with_each_merge_of_its_tier() {
        assert_eq!(tier(0), 0);
        assert_eq!(tier(1), 0);
        assert_eq!(tier(31), 0);
        assert_eq!(tier(32), 1);
        assert_eq!(tier(1023), 1);
        assert_eq!(tier(1024), 2);
    }

    #[test]
    fn merged_rows_fill_files_of_the_target_size_and_leave_their_tier() {
        // 32 one-row files of 16 KB (mostly a file's fixed overhead): one file
        assert_eq!(merging(16 * 1024).output_files(32), 1);
        assert_eq!(merging(16 * 1024).output_files(40), 1);
        // 64 of them: two files of 32 rows, each of the next tier
        assert_eq!(merging(16 * 1024).output_files(64), 2);
        assert_eq!(tier(64 / 2), 1);
        // 1,024 rows of 2 KB: four full files of 512 KB
        assert_eq!(merging(2048).output_files(1024), 4);
        // rows that do not fill two files stay in one
        assert_eq!(merging(700).output_files(1024), 1);
        // nothing to write still makes one (empty) part
        assert_eq!(merging(0).output_files(0), 1);
    }
}
