//! The object store every warehouse is read and written through: it retries a failure that
//! may be temporary within a time budget, and settles a conditional write whose answer was
//! lost by reading back what is there.
//!
//! A client of object storage sees timeouts, dropped connections, server errors and
//! throttling; S3's client retries some itself, a local disk's none. Reads, listings, deletes,
//! overwrites and copies are idempotent and are simply retried. A conditional write — how Delta
//! commits a version (`put` if absent) — is not: when its answer is lost, a retry finds the
//! object there and cannot tell whether it is its own. Delta would then commit the same
//! actions again at the next version, and an INSERT would be there twice. So a conditional
//! write that finds the object present reads it back: the same bytes are this write (a commit
//! holds its own random file names and time, so another writer's never match), anything else
//! is another writer's, reported as such.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyMode, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, ObjectStoreExt, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult,
    RenameOptions, Result,
};

use super::retry::RetryPolicy;
use crate::error::Error;

/// How long and how often a storage call is retried: a few attempts within seconds, beyond
/// the store client's own retries, so that a blip passes unseen and an outage is reported
/// while the caller still waits.
const POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 6,
    max_elapsed: Duration::from_secs(15),
    base: Duration::from_millis(20),
    cap: Duration::from_secs(2),
};

/// True for a failure that may pass by itself: the store's own catch-all for transport and
/// server errors (what remains after its retries), and a task that did not finish.
fn temporary(e: &object_store::Error) -> bool {
    matches!(
        e,
        object_store::Error::Generic { .. } | object_store::Error::JoinError { .. }
    )
}

/// Storage calls of this process that still failed after their retries.
static GAVE_UP: AtomicU64 = AtomicU64::new(0);

/// How many storage calls of this process still failed after their retries: a statement that
/// fails while the count grows failed, at least in part, because the storage did.
pub fn storage_failures() -> u64 {
    GAVE_UP.load(Ordering::Relaxed)
}

/// `result`, its error marked as a storage failure ([`Error::StorageFailed`]) when storage
/// calls gave up since `before` (a [`storage_failures`] count) and the error does not already
/// say what the failure means for retrying: some layers keep only the text of the storage's
/// error, so its cause cannot be read from the error itself.
pub fn attribute_storage_failures<T>(
    before: u64,
    result: crate::error::Result<T>,
) -> crate::error::Result<T> {
    // only errors the storage can cause: a refusal or a user's mistake stays what it is, even
    // while another statement's storage calls fail
    let from_storage = |e: &Error| {
        matches!(
            e,
            Error::Delta { .. }
                | Error::DataFusion(_)
                | Error::ObjectStore { .. }
                | Error::Warehouse { .. }
                | Error::Io { .. }
                | Error::Arrow(_)
                | Error::ProductUnreadable { .. }
        )
    };
    match result {
        Err(e)
            if storage_failures() > before
                && from_storage(&e)
                && crate::error::retry_note(&e).is_empty() =>
        {
            Err(Error::StorageFailed {
                source: Box::new(e),
            })
        }
        other => other,
    }
}

/// Runs `call` until it succeeds, fails in a way that will not pass, or the budget is spent.
async fn retried<T, F, Fut>(mut call: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let start = Instant::now();
    let mut attempt = 1;
    loop {
        match call().await {
            Err(e)
                if temporary(&e)
                    && attempt < POLICY.max_attempts
                    && start.elapsed() < POLICY.max_elapsed =>
            {
                attempt += 1;
                tracing::debug!(error = %e, attempt, "storage call failed; retrying");
                tokio::time::sleep(POLICY.backoff(attempt)).await;
            }
            Err(e) => {
                if temporary(&e) {
                    GAVE_UP.fetch_add(1, Ordering::Relaxed);
                }
                return Err(e);
            }
            ok => return ok,
        }
    }
}

/// An object store that retries what may be temporary and settles lost answers; see the
/// module documentation.
#[derive(Debug)]
pub struct ResilientStore {
    inner: Arc<dyn ObjectStore>,
}

impl ResilientStore {
    /// `inner`, made resilient.
    pub fn wrap(inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
        Arc::new(Self { inner })
    }

    /// Whether the object at `location` holds exactly `expected`: a conditional write that
    /// found its target present, checking whether the object is its own.
    async fn holds(&self, location: &Path, expected: &Bytes) -> bool {
        let read = retried(|| async { self.inner.get(location).await?.bytes().await }).await;
        matches!(read, Ok(bytes) if bytes == *expected)
    }
}

impl fmt::Display for ResilientStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.inner)
    }
}

#[async_trait]
impl ObjectStore for ResilientStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let conditional = !matches!(opts.mode, PutMode::Overwrite);
        let result = retried(|| self.inner.put_opts(location, payload.clone(), opts.clone())).await;
        match result {
            Err(
                e @ (object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. }),
            ) if conditional => {
                let expected = Bytes::from(payload);
                if self.holds(location, &expected).await {
                    let meta = retried(|| self.inner.head(location)).await?;
                    Ok(PutResult {
                        e_tag: meta.e_tag,
                        version: meta.version,
                    })
                } else {
                    Err(e)
                }
            }
            other => other,
        }
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        retried(|| self.inner.put_multipart_opts(location, opts.clone())).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        retried(|| self.inner.get_opts(location, options.clone())).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        retried(|| self.inner.get_ranges(location, ranges)).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let inner = Arc::clone(&self.inner);
        locations
            .then(move |location| {
                let inner = Arc::clone(&inner);
                async move {
                    let location = location?;
                    // deleting what is already gone is done
                    match retried(|| inner.delete(&location)).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(location),
                        Err(e) => Err(e),
                    }
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let inner = Arc::clone(&self.inner);
        let prefix = prefix.cloned();
        retried_listing(move || inner.list(prefix.as_ref()))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let inner = Arc::clone(&self.inner);
        let prefix = prefix.cloned();
        let offset = offset.clone();
        retried_listing(move || inner.list_with_offset(prefix.as_ref(), &offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        retried(|| self.inner.list_with_delimiter(prefix)).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        let conditional = matches!(options.mode, CopyMode::Create);
        match retried(|| self.inner.copy_opts(from, to, options.clone())).await {
            Err(e @ object_store::Error::AlreadyExists { .. }) if conditional => {
                let source = retried(|| async { self.inner.get(from).await?.bytes().await }).await;
                match source {
                    Ok(bytes) if self.holds(to, &bytes).await => Ok(()),
                    _ => Err(e),
                }
            }
            other => other,
        }
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        // not retried: after a lost answer the source is gone and the target may be another's
        self.inner.rename_opts(from, to, options).await
    }
}

/// A listing whose start is retried: a failure before the first entry lists again; one after
/// it reaches the caller (the entries already given cannot be taken back).
fn retried_listing<F>(list: F) -> BoxStream<'static, Result<ObjectMeta>>
where
    F: Fn() -> BoxStream<'static, Result<ObjectMeta>> + Send + Sync + 'static,
{
    futures::stream::once(async move {
        let start = Instant::now();
        let mut attempt = 1;
        loop {
            let mut stream = list();
            match stream.next().await {
                Some(Err(e))
                    if temporary(&e)
                        && attempt < POLICY.max_attempts
                        && start.elapsed() < POLICY.max_elapsed =>
                {
                    attempt += 1;
                    tokio::time::sleep(POLICY.backoff(attempt)).await;
                }
                Some(first) => {
                    if matches!(&first, Err(e) if temporary(e)) {
                        GAVE_UP.fetch_add(1, Ordering::Relaxed);
                    }
                    return futures::stream::once(async { first }).chain(stream).boxed();
                }
                None => return futures::stream::empty().boxed(),
            }
        }
    })
    .flatten()
    .boxed()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use object_store::memory::InMemory;

    use super::*;

    /// A store whose first `lost` writes are done but answered with a dropped connection, and
    /// whose reads fail `flaky` times first.
    #[derive(Debug)]
    struct Lossy {
        inner: InMemory,
        lost: AtomicUsize,
        flaky: AtomicUsize,
    }

    impl fmt::Display for Lossy {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "Lossy")
        }
    }

    fn reset() -> object_store::Error {
        object_store::Error::Generic {
            store: "test",
            source: Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
        }
    }

    fn take(n: &AtomicUsize) -> bool {
        n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
            .is_ok()
    }

    #[async_trait]
    impl ObjectStore for Lossy {
        async fn put_opts(&self, l: &Path, p: PutPayload, o: PutOptions) -> Result<PutResult> {
            let done = self.inner.put_opts(l, p, o).await?;
            if take(&self.lost) {
                return Err(reset());
            }
            Ok(done)
        }
        async fn put_multipart_opts(
            &self,
            l: &Path,
            o: PutMultipartOptions,
        ) -> Result<Box<dyn MultipartUpload>> {
            self.inner.put_multipart_opts(l, o).await
        }
        async fn get_opts(&self, l: &Path, o: GetOptions) -> Result<GetResult> {
            if take(&self.flaky) {
                return Err(reset());
            }
            self.inner.get_opts(l, o).await
        }
        fn delete_stream(
            &self,
            l: BoxStream<'static, Result<Path>>,
        ) -> BoxStream<'static, Result<Path>> {
            self.inner.delete_stream(l)
        }
        fn list(&self, p: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
            if take(&self.flaky) {
                return futures::stream::once(async { Err(reset()) }).boxed();
            }
            self.inner.list(p)
        }
        async fn list_with_delimiter(&self, p: Option<&Path>) -> Result<ListResult> {
            self.inner.list_with_delimiter(p).await
        }
        async fn copy_opts(&self, f: &Path, t: &Path, o: CopyOptions) -> Result<()> {
            self.inner.copy_opts(f, t, o).await
        }
    }

    fn store(lost: usize, flaky: usize) -> Arc<dyn ObjectStore> {
        ResilientStore::wrap(Arc::new(Lossy {
            inner: InMemory::new(),
            lost: AtomicUsize::new(lost),
            flaky: AtomicUsize::new(flaky),
        }))
    }

    fn create() -> PutOptions {
        PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_commit_whose_answer_was_lost_is_the_writers_own() {
        let s = store(1, 0);
        let commit = Path::from("t/_delta_log/00000000000000000001.json");
        // the put is done, its answer lost; the retry finds the same bytes: done, once
        s.put_opts(&commit, PutPayload::from_static(b"mine"), create())
            .await
            .unwrap();
        assert_eq!(s.get(&commit).await.unwrap().bytes().await.unwrap(), "mine");
        // another writer's commit of the same version is still a race lost
        let theirs = s
            .put_opts(&commit, PutPayload::from_static(b"theirs"), create())
            .await
            .unwrap_err();
        assert!(matches!(theirs, object_store::Error::AlreadyExists { .. }));
    }

    #[tokio::test]
    async fn reads_and_listings_that_fail_for_a_moment_are_retried() {
        let s = store(0, 2);
        s.put(&Path::from("a/b"), PutPayload::from_static(b"x"))
            .await
            .unwrap();
        assert_eq!(
            s.get(&Path::from("a/b"))
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
            "x"
        );
        let listed: Vec<_> = s.list(Some(&Path::from("a"))).collect().await;
        assert_eq!(listed.len(), 1);
        assert!(listed[0].is_ok());
        // an outage longer than the retries reaches the caller, and is counted
        let before = storage_failures();
        let s = store(0, usize::MAX);
        assert!(s.get(&Path::from("a/b")).await.is_err());
        assert!(storage_failures() > before);
    }
}
