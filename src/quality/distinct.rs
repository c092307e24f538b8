//! Exact distinct counts for the fused check aggregate, fast at high cardinality.
//!
//! DataFusion's `count(DISTINCT x)` next to other aggregates keeps one set of values per input
//! partition and merges them at the end: for a key of ten million values the merge costs more
//! than the scan. Here every partition's accumulator inserts into one set shared by the whole
//! query, split into shards by hash, so nothing is merged: the count is the set's size. Values
//! are kept whole (bytes in an arena per shard), so the count is exact.

use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Field, FieldRef};
use arrow::row::{RowConverter, SortField};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Expr, Signature, Volatility,
};
use hashbrown::HashTable;

const SHARDS: usize = 64;

#[derive(Default)]
struct Shard {
    table: HashTable<(u64, usize, u32)>,
    arena: Vec<u8>,
}

/// Memory one new value takes in a shard: its bytes and its table entry.
fn footprint(bytes: &[u8]) -> usize {
    bytes.len() + std::mem::size_of::<(u64, usize, u32)>()
}

impl Shard {
    /// Adds a value; true when it was new.
    fn insert(&mut self, hash: u64, bytes: &[u8]) -> bool {
        let arena = &self.arena;
        let found = self
            .table
            .find(hash, |&(h, start, len)| {
                h == hash && &arena[start..start + len as usize] == bytes
            })
            .is_some();
        if !found {
            let start = self.arena.len();
            self.arena.extend_from_slice(bytes);
            self.table
                .insert_unique(hash, (hash, start, bytes.len() as u32), |e| e.0);
        }
        !found
    }
}

/// A set of byte strings shared by the accumulators of one query.
struct ShardedSet {
    shards: Vec<Mutex<Shard>>,
}

impl ShardedSet {
    fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }

    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map(|g| g.table.len()).unwrap_or(0))
            .sum()
    }
}

/// `count(DISTINCT a, b, …)` over rows where every argument is non-null, for one query.
#[derive(Clone)]
struct SharedDistinct {
    set: Arc<ShardedSet>,
    signature: Signature,
}

impl std::fmt::Debug for SharedDistinct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedDistinct")
    }
}

impl PartialEq for SharedDistinct {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.set, &other.set)
    }
}

impl Eq for SharedDistinct {}

impl std::hash::Hash for SharedDistinct {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (Arc::as_ptr(&self.set) as usize).hash(state);
    }
}

/// The number of distinct non-null values (or complete tuples) of `args`. Each call makes a new
/// function with its own set: use it in one query, once.
pub fn exact_distinct(args: Vec<Expr>) -> Expr {
    AggregateUDF::from(SharedDistinct {
        set: Arc::new(ShardedSet::new()),
        signature: Signature::variadic_any(Volatility::Volatile),
    })
    .call(args)
}

impl AggregateUDFImpl for SharedDistinct {
    fn name(&self) -> &str {
        "exact_distinct"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let types: Vec<DataType> = args
            .expr_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        Ok(Box::new(DistinctAccumulator {
            set: Arc::clone(&self.set),
            converter: None,
            types,
            added: 0,
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        // the values live in the shared set; partial states carry nothing
        Ok(vec![Arc::new(Field::new(
            format!("{}[shared]", args.name),
            DataType::Int64,
            true,
        ))])
    }
}

struct DistinctAccumulator {
    set: Arc<ShardedSet>,
    converter: Option<RowConverter>,
    types: Vec<DataType>,
    /// Bytes of the shared set this accumulator added: the accumulators' sizes add up to the
    /// set's, so the query's memory pool sees it once.
    added: usize,
}

impl std::fmt::Debug for DistinctAccumulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DistinctAccumulator")
    }
}

/// The shard of a hash, from its middle bits: the table inside a shard uses the low bits for
/// the slot and the top seven as the tag, and taking either for the shard would leave them
/// constant within it (long probes, or one tag for every value).
fn shard_of(hash: u64) -> usize {
    (hash >> 32) as usize % SHARDS
}

fn hash(bytes: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x6c61_6b65).hash_one(bytes)
}

impl DistinctAccumulator {
    fn insert_all<'a>(&mut self, values: impl Iterator<Item = Option<&'a [u8]>>) {
        let mut buckets: Vec<Vec<(u64, &[u8])>> = vec![Vec::new(); SHARDS];
        for v in values.flatten() {
            let h = hash(v);
            buckets[shard_of(h)].push((h, v));
        }
        for (i, bucket) in buckets.iter().enumerate() {
            if bucket.is_empty() {
                continue;
            }
            let mut shard = match self.set.shards[i].lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            for (h, v) in bucket {
                if shard.insert(*h, v) {
                    self.added += footprint(v);
                }
            }
        }
    }
}

impl Accumulator for DistinctAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        if let [a] = values {
            match a.data_type() {
                DataType::Utf8View => {
                    let s = a.as_string_view();
                    self.insert_all(s.iter().map(|v| v.map(str::as_bytes)));
                    return Ok(());
                }
                DataType::Utf8 => {
                    let s = a.as_string::<i32>();
                    self.insert_all(s.iter().map(|v| v.map(str::as_bytes)));
                    return Ok(());
                }
                DataType::LargeUtf8 => {
                    let s = a.as_string::<i64>();
                    self.insert_all(s.iter().map(|v| v.map(str::as_bytes)));
                    return Ok(());
                }
                _ => {}
            }
        }
        if self.converter.is_none() {
            let fields = self
                .types
                .iter()
                .map(|t| SortField::new(t.clone()))
                .collect();
            self.converter = Some(RowConverter::new(fields)?);
        }
        let Some(converter) = &self.converter else {
            return Ok(());
        };
        let rows = converter.convert_columns(values)?;
        let complete = |i: usize| values.iter().all(|a| a.is_valid(i));
        self.insert_all((0..rows.num_rows()).map(|i| complete(i).then(|| rows.row(i).data())));
        Ok(())
    }

    fn merge_batch(&mut self, _states: &[ArrayRef]) -> Result<()> {
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Int64(Some(0))])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(self.set.len() as i64)))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.added
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{Int64Type, Schema, SchemaRef};
    use datafusion::datasource::MemTable;
    use datafusion::logical_expr::{col, ident};
    use datafusion::prelude::SessionContext;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("s", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
        ]))
    }

    fn batch(s: Vec<Option<String>>, n: Vec<Option<i64>>) -> Vec<RecordBatch> {
        let columns = vec![
            Arc::new(StringArray::from(s)) as ArrayRef,
            Arc::new(Int64Array::from(n)) as ArrayRef,
        ];
        vec![RecordBatch::try_new(schema(), columns).unwrap()]
    }

    fn first_row(batches: &[RecordBatch]) -> Vec<i64> {
        (0..batches[0].num_columns())
            .map(|i| batches[0].column(i).as_primitive::<Int64Type>().value(0))
            .collect()
    }

    /// A context with table `t` of the given partitions, and `exact_distinct` of `s`, `n` and
    /// `(s, n)` over it.
    async fn exact_counts(parts: Vec<Vec<RecordBatch>>) -> (SessionContext, Vec<i64>) {
        let ctx = SessionContext::new();
        let table = MemTable::try_new(schema(), parts).unwrap();
        ctx.register_table("t", Arc::new(table)).unwrap();
        let out = ctx
            .table("t")
            .await
            .unwrap()
            .aggregate(
                vec![],
                vec![
                    exact_distinct(vec![col("s")]),
                    exact_distinct(vec![ident("n")]),
                    exact_distinct(vec![col("s"), col("n")]),
                ],
            )
            .unwrap()
            .collect()
            .await
            .unwrap();
        let counts = first_row(&out);
        (ctx, counts)
    }

    /// Values spread over partitions that overlap: the shared set counts each once, as
    /// `count(DISTINCT …)` does; tuples with a null part are left out.
    #[tokio::test]
    async fn counts_like_count_distinct_across_partitions() {
        let some = |v: &[&str]| v.iter().map(|x| Some(x.to_string())).collect::<Vec<_>>();
        let mut first = some(&["a", "b"]);
        first.push(None);
        let parts = vec![
            batch(first, vec![Some(1), Some(2), Some(3)]),
            batch(some(&["b", "c", "a"]), vec![Some(2), None, Some(9)]),
        ];
        // s: a, b, c; n: 1, 2, 3, 9; (s, n): (a,1), (b,2), (a,9)
        assert_eq!(exact_counts(parts).await.1, vec![3, 4, 3]);
    }

    /// Many values in every shard, partitions that overlap: the same count as DataFusion's own
    /// `count(DISTINCT …)`, and the accumulators account for the set's memory once.
    #[tokio::test]
    async fn agrees_with_count_distinct_at_volume() {
        let parts: Vec<Vec<RecordBatch>> = (0..4i64)
            .map(|p| {
                let ids = (p * 30_000)..(p * 30_000 + 50_000);
                let s = ids
                    .clone()
                    .map(|i| (i % 97 != 0).then(|| format!("k-{}", i % 110_000)))
                    .collect();
                batch(s, ids.map(|i| Some(i % 70_001)).collect())
            })
            .collect();
        let (ctx, ours) = exact_counts(parts).await;
        let expected = ctx
            .sql(
                "SELECT count(DISTINCT s), count(DISTINCT n), \
                 count(DISTINCT (s, n)) FILTER (WHERE s IS NOT NULL) FROM t",
            )
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(ours, first_row(&expected));
        assert!(ours[0] > 100_000, "{ours:?}");

        let set = Arc::new(ShardedSet::new());
        let accumulator = || DistinctAccumulator {
            set: Arc::clone(&set),
            converter: None,
            types: vec![DataType::Utf8],
            added: 0,
        };
        let (mut a, mut b) = (accumulator(), accumulator());
        let values: ArrayRef = Arc::new(StringArray::from(vec!["x", "y", "x"]));
        a.update_batch(std::slice::from_ref(&values)).unwrap();
        b.update_batch(&[values]).unwrap();
        assert_eq!(a.evaluate().unwrap(), ScalarValue::Int64(Some(2)));
        assert_eq!(
            a.added,
            2 * footprint(b"x"),
            "the first to insert a value accounts for it"
        );
        assert_eq!(
            b.added, 0,
            "a value already in the set is not counted twice"
        );
    }
}
