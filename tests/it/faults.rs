//! Storage faults, injected: an object store wrapped to fail (server errors, throttling,
//! timeouts, connection resets, a write whose answer is lost; single faults, which lakemeta's
//! retries absorb, and outages longer than its retries) and to answer late (latency), at random
//! points chosen by a seed, under INSERT, CTAS, lineage writes, Flight SQL bulk ingests, apply and
//! RUN CHECKS. After each operation, read with faults off from a new session — as a new process
//! would: every table reads, an operation reported done is there once, one that failed is there
//! at most once, and its error says whether retrying may help. A failing run prints its seed;
//! `LAKEMETA_FAULT_SEED=n` runs that seed again.

use std::fmt;
use std::ops::Range;
use std::path::Path as FsPath;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use lakemeta::contracts::{apply_specs, load_path};
use lakemeta::model::Principal;
use lakemeta::sql::{Session, SessionOptions};
use lakemeta::storage::{SystemTableKind, Warehouse, WarehouseLocation, root_store};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What a fault looks like to the caller.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// The server failed (HTTP 500 or 503) before doing anything.
    ServerError,
    /// The request was throttled (HTTP 503 Slow Down) before doing anything.
    Throttled,
    /// The request timed out before doing anything.
    Timeout,
    /// The connection was reset before the request arrived.
    Reset,
    /// The write was done but its answer was lost (a reset after the server acted): the caller
    /// cannot tell from the error whether it happened.
    AnswerLost,
}

impl Fault {
    fn error(self, op: &str, location: &str) -> object_store::Error {
        let source: Box<dyn std::error::Error + Send + Sync> = match self {
            Fault::ServerError => format!("HTTP 500 Internal Server Error on {op}").into(),
            Fault::Throttled => format!("HTTP 503 Slow Down on {op}").into(),
            Fault::Timeout => Box::new(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("{op} timed out"),
            )),
            Fault::Reset | Fault::AnswerLost => Box::new(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                format!("connection reset during {op} of {location}"),
            )),
        };
        object_store::Error::Generic {
            store: "injected",
            source,
        }
    }
}

/// The dice: a seeded generator, the chance of a fault per call, and what was injected.
#[derive(Debug)]
struct Dice {
    rng: Mutex<StdRng>,
    /// Faults per 1,000 calls; 0 turns injection off.
    per_mille: AtomicU32,
    injected: AtomicUsize,
    calls: AtomicUsize,
    enabled: AtomicBool,
    /// Calls slowed down by injected latency.
    delayed: AtomicUsize,
    /// Calls still to fail in the current outage (a run of failures longer than lakemeta's
    /// retries, so that errors reach the caller).
    outage: AtomicUsize,
}

impl Dice {
    fn new(seed: u64) -> Self {
        Self {
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            per_mille: AtomicU32::new(0),
            injected: AtomicUsize::new(0),
            calls: AtomicUsize::new(0),
            delayed: AtomicUsize::new(0),
            enabled: AtomicBool::new(false),
            outage: AtomicUsize::new(0),
        }
    }

    fn on(&self, per_mille: u32) {
        self.per_mille.store(per_mille, Ordering::SeqCst);
        self.enabled.store(true, Ordering::SeqCst);
    }

    fn off(&self) {
        self.enabled.store(false, Ordering::SeqCst);
        self.outage.store(0, Ordering::SeqCst);
    }

    /// Latency for this call (1 in 20, up to 25 ms), or none.
    fn lag(&self) -> Option<Duration> {
        if !self.enabled.load(Ordering::SeqCst) {
            return None;
        }
        let mut rng = self.rng.lock().unwrap();
        if rng.random_range(0..20) != 0 {
            return None;
        }
        self.delayed.fetch_add(1, Ordering::Relaxed);
        Some(Duration::from_millis(rng.random_range(1..=25)))
    }

    /// Waits out the latency the dice give this call.
    async fn wait(&self) {
        if let Some(d) = self.lag() {
            tokio::time::sleep(d).await;
        }
    }

    /// A fault for this call, or none. `writes` allows a lost answer.
    fn roll(&self, writes: bool) -> Option<Fault> {
        if !self.enabled.load(Ordering::SeqCst) {
            return None;
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut rng = self.rng.lock().unwrap();
        let in_outage = self.outage.load(Ordering::SeqCst) > 0;
        if in_outage {
            self.outage.fetch_sub(1, Ordering::SeqCst);
        } else if rng.random_range(0..1000) < 4 {
            self.outage.store(rng.random_range(5..40), Ordering::SeqCst);
        } else if rng.random_range(0..1000) >= self.per_mille.load(Ordering::SeqCst) {
            return None;
        }
        self.injected.fetch_add(1, Ordering::Relaxed);
        let kinds = if writes { 5 } else { 4 };
        Some(match rng.random_range(0..kinds) {
            0 => Fault::ServerError,
            1 => Fault::Throttled,
            2 => Fault::Timeout,
            3 => Fault::Reset,
            _ => Fault::AnswerLost,
        })
    }
}

/// An object store that fails when the dice say so.
#[derive(Debug)]
struct FaultyStore {
    inner: Arc<dyn ObjectStore>,
    dice: Arc<Dice>,
}

impl fmt::Display for FaultyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Faulty({})", self.inner)
    }
}

impl FaultyStore {
    /// Runs a write, failing before or (a lost answer) after it as the dice say.
    async fn write<T>(
        &self,
        op: &str,
        location: &Path,
        run: impl std::future::Future<Output = object_store::Result<T>>,
    ) -> object_store::Result<T> {
        self.dice.wait().await;
        match self.dice.roll(true) {
            None => run.await,
            Some(Fault::AnswerLost) => {
                run.await?;
                Err(Fault::AnswerLost.error(op, location.as_ref()))
            }
            Some(f) => Err(f.error(op, location.as_ref())),
        }
    }

    /// `stream`, its first entry late when the dice give the listing latency.
    fn lagged<T: Send + 'static>(&self, stream: BoxStream<'static, T>) -> BoxStream<'static, T> {
        match self.dice.lag() {
            None => stream,
            Some(d) => futures::stream::once(async move {
                tokio::time::sleep(d).await;
                stream
            })
            .flatten()
            .boxed(),
        }
    }

    fn read(&self, op: &str, location: &str) -> object_store::Result<()> {
        match self.dice.roll(false) {
            None => Ok(()),
            Some(f) => Err(f.error(op, location)),
        }
    }
}

#[async_trait]
impl ObjectStore for FaultyStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.write(
            "put",
            location,
            self.inner.put_opts(location, payload, opts),
        )
        .await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.dice.wait().await;
        self.read("multipart upload", location.as_ref())?;
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.dice.wait().await;
        self.read("get", location.as_ref())?;
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        self.dice.wait().await;
        self.read("get ranges", location.as_ref())?;
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let dice = Arc::clone(&self.dice);
        let checked = locations
            .then(move |p| {
                let dice = Arc::clone(&dice);
                async move {
                    let p = p?;
                    dice.wait().await;
                    match dice.roll(false) {
                        Some(f) => Err(f.error("delete", p.as_ref())),
                        None => Ok(p),
                    }
                }
            })
            .boxed();
        self.inner.delete_stream(checked)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let at = prefix.map(|p| p.to_string()).unwrap_or_default();
        if let Err(e) = self.read("list", &at) {
            return futures::stream::once(async move { Err(e) }).boxed();
        }
        self.lagged(self.inner.list(prefix))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let at = prefix.map(|p| p.to_string()).unwrap_or_default();
        if let Err(e) = self.read("list", &at) {
            return futures::stream::once(async move { Err(e) }).boxed();
        }
        self.lagged(self.inner.list_with_offset(prefix, offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let at = prefix.map(|p| p.to_string()).unwrap_or_default();
        self.dice.wait().await;
        self.read("list", &at)?;
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.write("copy", to, self.inner.copy_opts(from, to, options))
            .await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        self.write("rename", to, self.inner.rename_opts(from, to, options))
            .await
    }
}

/// The platform admin of the example mesh, who runs every operation and reads everything.
pub(super) const ADMIN: &str = "admin";

/// A session on the warehouse at `dir` whose storage fails when `dice` say so.
async fn faulty_session(dir: &FsPath, dice: &Arc<Dice>) -> Session {
    let location = WarehouseLocation::parse(dir.to_str().unwrap()).unwrap();
    let inner = root_store(&location).unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(FaultyStore {
        inner,
        dice: Arc::clone(dice),
    });
    let wh = Warehouse::open_on(location, store).await.unwrap();
    Session::open(Arc::new(wh), SessionOptions::new(Principal::new(ADMIN)))
        .await
        .unwrap()
}

/// How many rows `sql` counts, read by a new session without faults.
pub(super) async fn count(dir: &FsPath, sql: &str) -> Result<i64, String> {
    count_in(&super::session_as(dir.to_str().unwrap(), ADMIN).await, sql).await
}

/// How many rows `sql` counts in session `s`.
pub(super) async fn count_in(s: &Session, sql: &str) -> Result<i64, String> {
    let out = s.sql(sql).await.map_err(|e| e.to_string())?;
    let b = &out[0].batches[0];
    Ok(arrow::util::display::array_value_to_string(b.column(0), 0)
        .unwrap()
        .parse()
        .unwrap())
}

/// Every system table and every product lakemeta stores reads, from a new session without
/// faults (an external product, such as a lineage event's database table, is another
/// system's to read).
pub(super) async fn everything_reads(dir: &FsPath, seed: u64) {
    reads_everything(&super::session_as(dir.to_str().unwrap(), ADMIN).await, seed).await
}

/// Every system table and every managed product reads in session `s`.
pub(super) async fn reads_everything(s: &Session, seed: u64) {
    for kind in SystemTableKind::ALL {
        let sql = format!("SELECT count(*) FROM meta.{}", kind.name());
        s.sql(&sql)
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: {sql}: {e}"));
    }
    let products = s
        .sql("SELECT domain, name FROM meta.products WHERE kind = 'managed'")
        .await
        .unwrap_or_else(|e| panic!("seed {seed}: meta.products: {e}"));
    for b in &products[0].batches {
        for i in 0..b.num_rows() {
            let d = arrow::util::display::array_value_to_string(b.column(0), i).unwrap();
            let n = arrow::util::display::array_value_to_string(b.column(1), i).unwrap();
            let sql = format!("SELECT count(*) FROM {d}.{n}");
            // a product the reader holds no grant for is refused by the gate, not the storage
            if let Err(e) = s.sql(&sql).await
                && !e.is_denial()
            {
                panic!("seed {seed}: {sql}: {e}");
            }
        }
    }
}

/// The error of an operation under faults: it names the storage failure and says whether
/// retrying may help.
fn says_whether_to_retry(e: &lakemeta::Error, seed: u64, op: &str) {
    let text = e.to_string();
    assert!(
        text.contains("retry") || text.contains("try again"),
        "seed {seed}: {op}: the error does not say whether retrying may help: {text}"
    );
}

/// Rows per Flight ingest.
const FEED_ROWS: i64 = 3;

/// A Flight SQL bulk ingest of [`FEED_ROWS`] rows with id `k` into `shop.feed` (created if it
/// is not there), by alice of the server at `url`.
async fn flight_ingest(url: &str, k: i64) -> Result<i64, tonic::Status> {
    use arrow::array::{ArrayRef, Int64Array, RecordBatch};
    let ids = Arc::new(Int64Array::from(vec![k; FEED_ROWS as usize])) as ArrayRef;
    let batch = RecordBatch::try_from_iter([("id", ids)]).unwrap();
    super::flight::ingest(
        url,
        ("alice", "wonderland"),
        ("shop", "feed"),
        arrow_flight::sql::TableExistsOption::Append,
        vec![batch],
    )
    .await
}

/// Totals over the runs, for the README's figures.
#[derive(Default, Debug)]
struct Tally {
    runs: usize,
    operations: usize,
    failed: usize,
    injected: usize,
    delayed: usize,
    calls: usize,
}

/// One seeded run: a warehouse with a product, then INSERT, CTAS, lineage, an apply of the
/// example mesh and its checks under faults, each verified with faults off.
async fn run(seed: u64, per_mille: u32, tally: &mut Tally) {
    let dir = tempfile::tempdir().unwrap();
    let dice = Arc::new(Dice::new(seed));
    let s = faulty_session(dir.path(), &dice).await;
    s.sql(
        "CREATE DOMAIN shop OWNER 'orders-team'; \
         CREATE TABLE shop.sales AS SELECT * FROM (VALUES (0, 1.5)) t(id, amount)",
    )
    .await
    .unwrap();
    let mut failed = Vec::new();
    for k in 1..=3i64 {
        let steps = [
            (
                "INSERT",
                format!("INSERT INTO shop.sales VALUES ({k}, 2.5)"),
                format!("SELECT count(*) FROM shop.sales WHERE id = {k}"),
            ),
            (
                "CTAS",
                format!("CREATE TABLE shop.t{k} AS SELECT {k} AS id"),
                format!("SELECT count(*) FROM meta.products WHERE name = 't{k}'"),
            ),
            (
                "CREATE LINEAGE",
                format!("CREATE LINEAGE shop.sales -> shop.t{k}"),
                format!("SELECT count(*) FROM meta.lineage WHERE target = 'shop.t{k}'"),
            ),
        ];
        for (op, sql, probe) in steps {
            if op == "CREATE LINEAGE" && failed.contains(&format!("CTAS {k}")) {
                continue; // its target may not exist
            }
            dice.on(per_mille);
            let result = s.sql(&sql).await;
            dice.off();
            tally.operations += 1;
            everything_reads(dir.path(), seed).await;
            let n = count(dir.path(), &probe)
                .await
                .unwrap_or_else(|e| panic!("seed {seed}: {probe}: {e}"));
            match &result {
                Ok(_) => assert!(
                    n >= 1,
                    "seed {seed}: {op} {k} reported done but {probe} is {n}"
                ),
                Err(e) => {
                    tally.failed += 1;
                    failed.push(format!("{op} {k}"));
                    says_whether_to_retry(e, seed, op);
                }
            }
            if op == "INSERT" || op == "CTAS" {
                assert!(n <= 1, "seed {seed}: {op} {k} is there {n} times");
            }
        }
    }
    // Flight SQL bulk ingests to a server over the faulty storage: a client told the rows
    // were taken finds them there once; a refused one is told to retry (`unavailable`)
    let users_dir = tempfile::tempdir().unwrap();
    let (url, _stop) = super::flight::server_over(Arc::clone(s.catalog()), users_dir.path()).await;
    for k in 1..=2i64 {
        dice.on(per_mille);
        let result = flight_ingest(&url, k).await;
        dice.off();
        tally.operations += 1;
        everything_reads(dir.path(), seed).await;
        let probe = format!("SELECT count(*) FROM shop.feed WHERE id = {k}");
        let n = count(dir.path(), &probe).await.unwrap_or(0);
        match result {
            Ok(taken) => {
                assert_eq!(taken, FEED_ROWS, "seed {seed}: ingest {k}");
                assert_eq!(
                    n, FEED_ROWS,
                    "seed {seed}: ingest {k} reported done: {probe} is {n}"
                );
            }
            Err(status) => {
                tally.failed += 1;
                assert!(
                    n == 0 || n == FEED_ROWS,
                    "seed {seed}: ingest {k} left {n} rows"
                );
                if status.code() == tonic::Code::Unavailable {
                    assert!(
                        status.message().contains("retry"),
                        "seed {seed}: ingest {k}: {status}"
                    );
                } else {
                    // the storage did not fail this call's own writes: a reload of the catalog
                    // (the product is not there yet) or the product's state is what it says
                    panic!("seed {seed}: ingest {k} failed, not as unavailable: {status}");
                }
            }
        }
    }
    // an apply of the example mesh under faults, then again without: the catalog converges
    let specs = load_path(FsPath::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/mesh"
    )))
    .unwrap();
    dice.on(per_mille);
    let applied = apply_specs(s.catalog(), &specs, &s.state(), s.principal()).await;
    dice.off();
    tally.operations += 1;
    everything_reads(dir.path(), seed).await;
    if let Err(e) = &applied {
        tally.failed += 1;
        says_whether_to_retry(e, seed, "apply");
    }
    let fresh = super::session_as(dir.path().to_str().unwrap(), ADMIN).await;
    apply_specs(fresh.catalog(), &specs, &fresh.state(), fresh.principal())
        .await
        .unwrap_or_else(|e| panic!("seed {seed}: apply again without faults: {e}"));
    let products = count(
        dir.path(),
        "SELECT count(*) FROM meta.products WHERE domain <> 'shop'",
    )
    .await
    .unwrap();
    assert_eq!(
        products, 9,
        "seed {seed}: the mesh's products after apply again"
    );
    // the checks of the mesh's contracts under faults: results recorded when reported done
    let results = "SELECT count(*) FROM meta.quality_results";
    let before = count(dir.path(), results).await.unwrap();
    dice.on(per_mille);
    let checked = s.sql("RUN CHECKS FOR DOMAIN orders").await;
    dice.off();
    tally.operations += 1;
    everything_reads(dir.path(), seed).await;
    let after = count(dir.path(), results).await.unwrap();
    match &checked {
        Ok(_) => assert!(
            after > before,
            "seed {seed}: RUN CHECKS reported done, no results"
        ),
        Err(e) => {
            tally.failed += 1;
            says_whether_to_retry(e, seed, "RUN CHECKS");
        }
    }
    tally.runs += 1;
    tally.injected += dice.injected.load(Ordering::Relaxed);
    tally.delayed += dice.delayed.load(Ordering::Relaxed);
    tally.calls += dice.calls.load(Ordering::Relaxed);
}

/// Seeded runs at two fault rates; the seed of each is printed so a failure can be replayed.
async fn runs(count: u64) -> Tally {
    let base = std::env::var("LAKEMETA_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    let mut tally = Tally::default();
    for i in 0..count {
        let seed = base.wrapping_add(i);
        let per_mille = if i % 2 == 0 { 20 } else { 100 };
        eprintln!("fault run seed {seed} ({per_mille} faults per 1,000 calls)");
        run(seed, per_mille, &mut tally).await;
    }
    eprintln!("faults: {tally:?}");
    tally
}

#[tokio::test(flavor = "multi_thread")]
async fn storage_faults_lose_nothing_and_say_whether_to_retry() {
    let tally = runs(4).await;
    assert!(tally.injected > 0, "no fault was injected: {tally:?}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "soak: a hundred seeded runs"]
async fn soak_storage_faults() {
    runs(100).await;
}
