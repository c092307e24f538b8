//! The object store goes away: a SeaweedFS server of the test's own is killed (kill -9) in the
//! middle of an apply of the example mesh and of a Flight SQL bulk ingest, and started again on
//! the same ports over the same data, at once or after an outage longer than the retries last.
//! Each operation either succeeds — lakemeta's retries bridged
//! the outage — or fails with an error that says to retry; either way every table reads
//! afterwards, nothing is half there, and running the operation again converges. The moments
//! come from a printed seed; `LAKEMETA_OUTAGE_SEED=n` replays them.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lakemeta::contracts::{apply_specs, load_path};
use lakemeta::model::Principal;
use lakemeta::sql::{Session, SessionOptions};
use lakemeta::storage::{Warehouse, WarehouseLocation};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::faults::{ADMIN, count_in, reads_everything};
use super::support::{S3Server, s3_warehouse};

const MESH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mesh");

/// How long a long outage keeps the store away: longer than lakemeta's and the S3 client's
/// retries last together, so the operation fails.
const LONG_OUTAGE: Duration = Duration::from_secs(40);

/// Kills SeaweedFS and starts it again, at once or (`long`) after [`LONG_OUTAGE`].
fn outage(server: &mut S3Server, long: bool) {
    server.kill();
    if long {
        std::thread::sleep(LONG_OUTAGE);
    }
    server.restart();
}

/// Rows per ingest.
const ROWS: i64 = 100_000;

/// A session of the mesh's admin on the warehouse at `url` of `server`.
async fn session(server: &S3Server, url: &str) -> Session {
    let env = server.env();
    let location = WarehouseLocation::parse(url).unwrap().with_options(env);
    let wh = Warehouse::open(location).await.unwrap();
    Session::open(Arc::new(wh), SessionOptions::new(Principal::new(ADMIN)))
        .await
        .unwrap()
}

/// The example mesh applied by `s`: whether it succeeded, or its error.
async fn apply(s: Arc<Session>) -> Result<(), String> {
    let specs = load_path(Path::new(MESH)).unwrap();
    apply_specs(s.catalog(), &specs, &s.state(), s.principal())
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A bulk ingest of [`ROWS`] rows replacing `orders.feed`, by alice (of the mesh's
/// orders-team) through the server at `url`.
async fn ingest(url: String) -> Result<i64, tonic::Status> {
    super::flight::ingest(
        &url,
        ("alice", "wonderland"),
        ("orders", "feed"),
        arrow_flight::sql::TableExistsOption::Replace,
        super::flight::id_batches(ROWS),
    )
    .await
}

/// An error of an operation the outage made fail says to retry.
fn says_to_retry(error: &str, at: &str) {
    assert!(
        error.contains("retry"),
        "{at}: the error does not say to retry: {error}"
    );
}

/// `outages` kills of SeaweedFS at seeded moments of each operation, checked as the module says.
fn outages(outages: usize) {
    let seed = std::env::var("LAKEMETA_OUTAGE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("outage seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut server = S3Server::start();
    let (mut mid, mut survived, mut failed) = (0, 0, 0);

    // apply: how long one takes, then outages in the middle of others
    let url = s3_warehouse("outage-apply-reference");
    let started = Instant::now();
    let s = Arc::new(rt.block_on(session(&server, &url)));
    rt.block_on(apply(Arc::clone(&s))).unwrap();
    let took = started.elapsed();
    let took_apply = took;
    let products = "SELECT count(*) FROM meta.products";
    let applied = rt.block_on(count_in(&s, products)).unwrap();
    for i in 0..outages {
        let url = s3_warehouse(&format!("outage-apply-{i}"));
        let s = Arc::new(rt.block_on(session(&server, &url)));
        let delay = Duration::from_micros(rng.random_range(0..=took.as_micros() as u64));
        let task = rt.spawn(apply(Arc::clone(&s)));
        std::thread::sleep(delay);
        mid += usize::from(!task.is_finished());
        outage(&mut server, i % 2 == 1);
        let at = format!("seed {seed}: apply, SeaweedFS killed after {delay:?} (outage {i})");
        let outcome = rt.block_on(task).unwrap();
        match &outcome {
            Ok(()) => survived += 1,
            Err(e) => {
                failed += 1;
                says_to_retry(e, &at)
            }
        }
        let fresh = rt.block_on(session(&server, &url));
        rt.block_on(reads_everything(&fresh, seed));
        let n = rt.block_on(count_in(&fresh, products)).unwrap();
        if outcome.is_ok() {
            assert_eq!(n, applied, "{at}: apply reported done");
        }
        rt.block_on(apply(Arc::new(fresh)))
            .unwrap_or_else(|e| panic!("{at}: apply again: {e}"));
        let fresh = rt.block_on(session(&server, &url));
        assert_eq!(
            rt.block_on(count_in(&fresh, products)),
            Ok(applied),
            "{at}: apply again"
        );
    }

    // Flight bulk ingest to a server over the warehouse the first apply made
    let users = tempfile::tempdir().unwrap();
    let catalog = Arc::clone(s.catalog());
    let (flight, _stop) = rt.block_on(super::flight::server_over(catalog, users.path()));
    let started = Instant::now();
    assert_eq!(
        rt.block_on(ingest(flight.clone()))
            .map_err(|e| e.to_string()),
        Ok(ROWS)
    );
    let took = started.elapsed();
    let rows = "SELECT count(*) FROM orders.feed";
    for i in 0..outages {
        let delay = Duration::from_micros(rng.random_range(0..=took.as_micros() as u64));
        let task = rt.spawn(ingest(flight.clone()));
        std::thread::sleep(delay);
        mid += usize::from(!task.is_finished());
        outage(&mut server, i % 2 == 1);
        let at =
            format!("seed {seed}: Flight ingest, SeaweedFS killed after {delay:?} (outage {i})");
        match rt.block_on(task).unwrap() {
            Ok(n) => {
                assert_eq!(n, ROWS, "{at}");
                survived += 1;
            }
            Err(status) => {
                failed += 1;
                assert_eq!(status.code(), tonic::Code::Unavailable, "{at}: {status}");
                says_to_retry(status.message(), &at);
            }
        }
        // a replace is all or nothing: the old rows or the new, never a mix or none
        let fresh = rt.block_on(session(&server, &url));
        rt.block_on(reads_everything(&fresh, seed));
        assert_eq!(rt.block_on(count_in(&fresh, rows)), Ok(ROWS), "{at}");
        assert_eq!(
            rt.block_on(ingest(flight.clone()))
                .map_err(|e| e.to_string()),
            Ok(ROWS),
            "{at}: ingest again"
        );
    }
    eprintln!(
        "outages: {} SeaweedFS kills, {mid} mid-operation: {survived} operations bridged by \
         retries, {failed} failed saying to retry (apply took {took_apply:?})",
        2 * outages
    );
}

#[test]
fn seaweedfs_killed_and_restarted_mid_apply_and_mid_flight_ingest() {
    outages(2);
}

/// `cargo test --test it -- --ignored soak_seaweedfs`.
#[test]
#[ignore = "soak: 20 outages per operation, half of them long"]
fn soak_seaweedfs_outages() {
    outages(20);
}
