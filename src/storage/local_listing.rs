//! A local warehouse's object store, listing a directory for the cost of reading it.
//!
//! Delta finds a table's new commits by listing its `_delta_log/` from the version it holds
//! (`list_with_offset`). On S3 that request starts after the offset; the local file system of
//! `object_store` walks the whole directory instead and asks the file system about every entry
//! (a `stat` call for each one before the offset too, three more for each one after it), so
//! each commit of a table cost
//! time in proportion to every commit it ever had: a catalog registering products one at a
//! time spent a third of its time listing logs of thousands of commits. This store reads the
//! directory once, compares each name with the offset without touching the file, and asks the
//! file system only about the entries it returns. Everything else is the local file system's.
//!
//! What a listing returns is what `object_store`'s would, sorted by location: the files under
//! the prefix (recursively), their size, modification time and ETag alike, staged uploads
//! (`name#123`) left out. A directory holding a symbolic link or a name that is not plain
//! ASCII is listed by the local file system itself, so that those rules stay its own.

use std::cmp::Ordering;
use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
};

/// The local file system, rooted at `/`, with listings that read each directory once.
#[derive(Debug)]
pub(super) struct LocalListing {
    inner: Arc<LocalFileSystem>,
}

impl LocalListing {
    /// The local file system rooted at `/`, as `object_store` opens a `file://` URL.
    pub(super) fn new() -> Self {
        Self {
            inner: Arc::new(LocalFileSystem::new()),
        }
    }

    /// Lists the files under `prefix` after `offset`, reading each directory once; the local
    /// file system lists them itself when there is no prefix, or a directory holds a symbolic
    /// link or a name that needs encoding.
    fn listed(
        &self,
        prefix: Option<&Path>,
        offset: Option<&Path>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let inner = Arc::clone(&self.inner);
        let (prefix, offset) = (prefix.cloned(), offset.cloned());
        let Some(dir) = prefix
            .as_ref()
            .and_then(|p| inner.path_to_filesystem(p).ok())
        else {
            return itself(&inner, prefix.as_ref(), offset.as_ref());
        };
        let listing = async move {
            let (under, after) = (prefix.clone().unwrap_or_default(), offset.clone());
            let read = move || read_tree(dir, under, after.as_ref());
            let read = match tokio::runtime::Handle::try_current() {
                Ok(_) => tokio::task::spawn_blocking(read)
                    .await
                    .map_err(|e| object_store::Error::JoinError { source: e }),
                Err(_) => Ok(read()),
            };
            match read.and_then(|r| r) {
                Ok(Some(files)) => futures::stream::iter(files.into_iter().map(Ok)).boxed(),
                Ok(None) => itself(&inner, prefix.as_ref(), offset.as_ref()),
                Err(e) => futures::stream::once(async { Err(e) }).boxed(),
            }
        };
        futures::stream::once(listing).flatten().boxed()
    }
}

/// The local file system's own listing.
fn itself(
    inner: &LocalFileSystem,
    prefix: Option<&Path>,
    offset: Option<&Path>,
) -> BoxStream<'static, Result<ObjectMeta>> {
    match offset {
        Some(offset) => inner.list_with_offset(prefix, offset),
        None => inner.list(prefix),
    }
}

impl fmt::Display for LocalListing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.inner)
    }
}

/// A name that stands for itself in an object path, a `file://` URL and the file system alike.
fn plain(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'='))
}

/// How `dir/name` compares with `offset`, from `dir/` (as a string) and the name alone.
fn compare(dir: &str, name: &str, offset: &str) -> Ordering {
    match offset.strip_prefix(dir) {
        Some(rest) => name.cmp(rest),
        // every path under `dir/` compares with the offset as `dir/` itself does
        None => dir.cmp(offset),
    }
}

/// A file name `object_store` leaves out of listings: a staged upload, `name#123`.
fn staged(name: &str) -> bool {
    matches!(name.split_once('#'), Some((_, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The files under `root` (the file system directory of object path `prefix`) after `offset`,
/// sorted; `Ok(None)` when an entry needs the local file system's own listing. A directory that
/// does not exist holds no files.
fn read_tree(
    root: PathBuf,
    prefix: Path,
    offset: Option<&Path>,
) -> Result<Option<Vec<ObjectMeta>>> {
    let offset = offset.map(|o| o.as_ref().to_string());
    let mut out = Vec::new();
    let mut dirs = vec![(root, prefix)];
    while let Some((dir, path)) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            // a directory gone, or a file where the prefix names a directory: nothing under it
            Err(e) if is_gone(&e) || e.kind() == std::io::ErrorKind::NotADirectory => continue,
            Err(e) => return Err(io_error(&dir, e)),
        };
        let under = format!("{}/", path.as_ref());
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) if is_gone(&e) => continue,
                Err(e) => return Err(io_error(&dir, e)),
            };
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Ok(None);
            };
            if staged(name) {
                continue;
            }
            if !plain(name) {
                return Ok(None);
            }
            let kind = match entry.file_type() {
                Ok(kind) => kind,
                Err(e) if is_gone(&e) => continue,
                Err(e) => return Err(io_error(&entry.path(), e)),
            };
            if kind.is_symlink() {
                return Ok(None);
            }
            if kind.is_dir() {
                dirs.push((entry.path(), path.clone().join(name)));
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            if let Some(offset) = &offset
                && compare(&under, name, offset) != Ordering::Greater
            {
                continue;
            }
            let meta = match entry.metadata() {
                Ok(meta) => meta,
                Err(e) if is_gone(&e) => continue,
                Err(e) => return Err(io_error(&entry.path(), e)),
            };
            out.push(object_meta(path.clone().join(name), &meta));
        }
    }
    out.sort_unstable_by(|a, b| a.location.cmp(&b.location));
    Ok(Some(out))
}

/// A file removed while it was listed: not an error, not listed.
fn is_gone(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound
}

fn io_error(path: &std::path::Path, e: std::io::Error) -> object_store::Error {
    object_store::Error::Generic {
        store: "LocalFileSystem",
        source: format!("cannot list {}: {e}", path.display()).into(),
    }
}

/// What `object_store`'s local file system reports of a file: size, modification time and an
/// ETag made of inode, modification time and size.
fn object_meta(location: Path, meta: &std::fs::Metadata) -> ObjectMeta {
    let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let micros = modified
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros();
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let inode = 0u64;
    ObjectMeta {
        location,
        last_modified: modified.into(),
        size: meta.len(),
        e_tag: Some(format!("{inode:x}-{micros:x}-{:x}", meta.len())),
        version: None,
    }
}

#[async_trait]
impl ObjectStore for LocalListing {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.listed(prefix, None)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.listed(prefix, Some(offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::*;

    /// Both listings of `prefix` (after `offset`), sorted.
    async fn both(prefix: &Path, offset: Option<&Path>) -> (Vec<ObjectMeta>, Vec<ObjectMeta>) {
        let ours = LocalListing::new();
        let theirs = LocalFileSystem::new();
        let (mut a, mut b): (Vec<ObjectMeta>, Vec<ObjectMeta>) = match offset {
            Some(o) => (
                ours.list_with_offset(Some(prefix), o)
                    .try_collect()
                    .await
                    .unwrap(),
                theirs
                    .list_with_offset(Some(prefix), o)
                    .try_collect()
                    .await
                    .unwrap(),
            ),
            None => (
                ours.list(Some(prefix)).try_collect().await.unwrap(),
                theirs.list(Some(prefix)).try_collect().await.unwrap(),
            ),
        };
        a.sort_by(|x, y| x.location.cmp(&y.location));
        b.sort_by(|x, y| x.location.cmp(&y.location));
        (a, b)
    }

    fn names(files: &[ObjectMeta], under: &Path) -> Vec<String> {
        files
            .iter()
            .map(|f| {
                f.location
                    .prefix_match(under)
                    .unwrap()
                    .map(|p| p.as_ref().to_string())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .collect()
    }

    fn table(root: &std::path::Path) {
        let log = root.join("_delta_log");
        std::fs::create_dir_all(log.join("_sidecars")).unwrap();
        for v in 0..25u64 {
            std::fs::write(log.join(format!("{v:020}.json")), format!("{{\"v\":{v}}}")).unwrap();
        }
        std::fs::write(log.join(format!("{:020}.checkpoint.parquet", 19)), b"PAR1").unwrap();
        std::fs::write(log.join("_last_checkpoint"), b"{}").unwrap();
        std::fs::write(log.join("_sidecars").join("a.parquet"), b"x").unwrap();
        // an upload in progress: never listed
        std::fs::write(log.join(format!("{:020}.json#7", 25)), b"partial").unwrap();
        std::fs::write(root.join("part-0=1.parquet"), b"data").unwrap();
    }

    #[tokio::test]
    async fn lists_what_the_local_file_system_lists() {
        let dir = tempfile::tempdir().unwrap();
        table(dir.path());
        let prefix = Path::from_absolute_path(dir.path()).unwrap();
        let log = prefix.clone().join("_delta_log");
        let (ours, theirs) = both(&prefix, None).await;
        assert_eq!(ours, theirs, "size, time and ETag alike");
        assert_eq!(ours.len(), 25 + 4);
        for offset in [
            log.clone().join(format!("{:020}.json", 20)),
            log.clone().join(format!("{:020}.json", 24)),
            log.clone().join("_last"),
            log.clone(),
            prefix.clone().join("a"),
            prefix.clone().join("z"),
            prefix.clone(),
        ] {
            let (ours, theirs) = both(&log, Some(&offset)).await;
            assert_eq!(ours, theirs, "after {offset}");
        }
        let (after20, _) = both(&log, Some(&log.clone().join(format!("{:020}.json", 20)))).await;
        assert_eq!(
            names(&after20, &log),
            [21, 22, 23, 24]
                .map(|v| format!("{v:020}.json"))
                .into_iter()
                .chain([
                    "_last_checkpoint".to_string(),
                    "_sidecars/a.parquet".to_string()
                ])
                .collect::<Vec<_>>()
        );
    }

    #[tokio::test]
    async fn a_missing_directory_or_a_file_lists_nothing() {
        let dir = tempfile::tempdir().unwrap();
        table(dir.path());
        let prefix = Path::from_absolute_path(dir.path()).unwrap();
        for p in [
            prefix.clone().join("missing"),
            prefix.clone().join("part-0=1.parquet"),
        ] {
            let (ours, theirs) = both(&p, None).await;
            assert!(ours.is_empty(), "{p}");
            assert_eq!(ours, theirs);
        }
    }

    #[tokio::test]
    async fn names_needing_encoding_and_links_are_listed_as_the_local_file_system_does() {
        let dir = tempfile::tempdir().unwrap();
        table(dir.path());
        std::fs::write(dir.path().join("a file%20with spaces.parquet"), b"y").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("_delta_log"), dir.path().join("linked"))
            .unwrap();
        let prefix = Path::from_absolute_path(dir.path()).unwrap();
        let (ours, theirs) = both(&prefix, None).await;
        assert_eq!(ours, theirs);
        assert!(ours.iter().any(|f| f.location.as_ref().contains("spaces")));
    }

    #[test]
    fn names_compare_with_the_offset_as_whole_paths_do() {
        for (dir, name, offset) in [
            ("a/b/", "c", "a/b/c"),
            ("a/b/", "d", "a/b/c"),
            ("a/b/", "c", "a/b/d"),
            ("a/b/", "c", "a/b"),
            ("a/b/", "c", "a/a/z"),
            ("a/b/", "c", "a/c"),
            ("a/b/", "c", "a/b/c/d"),
            ("a/b/", "c.json", "a/b/c"),
        ] {
            let whole = format!("{dir}{name}");
            assert_eq!(
                compare(dir, name, offset),
                whole.as_str().cmp(offset),
                "{whole} vs {offset}"
            );
        }
        assert!(staged("00000000000000000001.json#12"));
        assert!(!staged("a#b") && !staged("a#") && !staged("a.json"));
        assert!(plain("00000000000000000001.checkpoint.parquet") && plain("year=2024"));
        assert!(!plain("a b") && !plain("..") && !plain("é"));
    }
}
