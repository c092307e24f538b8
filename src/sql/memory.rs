//! Memory for the queries of a server: each query has a limit of its own, inside one pool that
//! every running query shares, so that many queries at once cannot hold more than the server
//! was given.

use std::fmt;
use std::sync::Arc;

use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::memory_pool::{
    FairSpillPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};

/// The memory pool of one query: a reservation grows only when both the query's own limit and
/// the shared pool have room for it. Inside each, memory that can spill is shared fairly among
/// the operators that can spill (DataFusion's [`FairSpillPool`]): a query's sorts share its
/// limit, and the running queries' sorts share the server's pool.
#[derive(Debug)]
pub struct QueryPool {
    own: FairSpillPool,
    limit: usize,
    shared: Arc<dyn MemoryPool>,
}

impl QueryPool {
    /// A query's pool of at most `limit` bytes, drawn from `shared`.
    pub fn new(limit: usize, shared: Arc<dyn MemoryPool>) -> Self {
        Self {
            own: FairSpillPool::new(limit),
            limit,
            shared,
        }
    }
}

impl fmt::Display for QueryPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "query pool ({} of {} bytes) in {}",
            self.own.reserved(),
            self.limit,
            self.shared
        )
    }
}

impl MemoryPool for QueryPool {
    fn name(&self) -> &str {
        "lakemeta query pool"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.own.register(consumer);
        self.shared.register(consumer);
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.own.unregister(consumer);
        self.shared.unregister(consumer);
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.own.grow(reservation, additional);
        self.shared.grow(reservation, additional);
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.own.shrink(reservation, shrink);
        self.shared.shrink(reservation, shrink);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> DfResult<()> {
        self.own
            .try_grow(reservation, additional)
            .map_err(|e| exhausted(e, "this query's limit, lakemeta serve --query-memory"))?;
        if let Err(e) = self.shared.try_grow(reservation, additional) {
            self.own.shrink(reservation, additional);
            return Err(exhausted(
                e,
                "the memory all running queries share, lakemeta serve --server-memory",
            ));
        }
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.own.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.limit)
    }
}

/// A refusal that names which limit refused.
fn exhausted(error: DataFusionError, which: &str) -> DataFusionError {
    DataFusionError::ResourcesExhausted(format!("{} (refused by {which})", error.message()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(limit: usize, shared: &Arc<dyn MemoryPool>) -> Arc<dyn MemoryPool> {
        Arc::new(QueryPool::new(limit, Arc::clone(shared)))
    }

    #[test]
    fn a_query_is_held_to_its_limit_and_all_of_them_to_the_shared_pool() {
        let shared: Arc<dyn MemoryPool> = Arc::new(FairSpillPool::new(100));
        let first = query(60, &shared);
        let second = query(60, &shared);

        let a = MemoryConsumer::new("a").register(&first);
        a.try_grow(50).unwrap();
        let err = a.try_grow(20).unwrap_err().to_string();
        assert!(err.contains("--query-memory"), "{err}");
        assert_eq!((first.reserved(), shared.reserved()), (50, 50));

        // the second query is within its own limit, but the two together are not
        let b = MemoryConsumer::new("b").register(&second);
        let err = b.try_grow(55).unwrap_err().to_string();
        assert!(err.contains("--server-memory"), "{err}");
        // a refusal of the shared pool leaves nothing counted against the query
        assert_eq!((second.reserved(), shared.reserved()), (0, 50));
        b.try_grow(50).unwrap();
        assert_eq!(shared.reserved(), 100);

        // what a query frees, the others may take
        drop(a);
        assert_eq!((first.reserved(), shared.reserved()), (0, 50));
        let c = MemoryConsumer::new("c").register(&first);
        c.try_grow(50).unwrap();
        assert_eq!(shared.reserved(), 100);
    }

    #[test]
    fn spilling_operators_share_the_pool_fairly() {
        let shared: Arc<dyn MemoryPool> = Arc::new(FairSpillPool::new(100));
        let first = query(100, &shared);
        let second = query(100, &shared);
        let a = MemoryConsumer::new("sort a")
            .with_can_spill(true)
            .register(&first);
        let b = MemoryConsumer::new("sort b")
            .with_can_spill(true)
            .register(&second);
        // two spilling operators of two queries: each may hold half of the shared pool
        a.try_grow(50).unwrap();
        assert!(a.try_grow(1).is_err());
        b.try_grow(50).unwrap();
        drop(b);
        // alone again, the first may have all of it
        a.try_grow(50).unwrap();
        assert_eq!(shared.reserved(), 100);
    }
}
