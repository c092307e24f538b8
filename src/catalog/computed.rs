//! The next snapshot worked out from a commit this process made, instead of read back: when
//! no other writer committed to a table between the snapshot a commit started from and the
//! commit itself, the table now holds the snapshot's rows with the commit's changes, so the
//! reload applies them in memory and reads nothing. A catalog of 100,000 products is then not
//! read again after each change.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::{Domain, OdpsProduct, ProductName};
use crate::storage::RowChange;

/// The changes one commit made to one table of the snapshot, from version `base` (the
/// snapshot's) to `end`.
#[derive(Debug, Clone)]
pub(crate) struct Computation<K, V> {
    base: u64,
    end: u64,
    changes: Vec<(K, Option<V>)>,
}

impl<K: Ord + Clone, V: Clone> Computation<K, V> {
    /// The computation for `changes` committed as `commits` (each commit's new version, `None`
    /// when it had nothing to write) on top of `base`; `None` when another writer's commit came
    /// in between (a version that does not follow the one before) or a change's outcome is not
    /// known without reading (an `Ensure` may have found a row already there).
    pub(crate) fn new<R>(
        base: Option<u64>,
        commits: &[Option<u64>],
        changes: &[RowChange<R>],
        key: impl Fn(&R) -> K,
        value: impl Fn(&R) -> V,
    ) -> Option<Self> {
        let base = base?;
        let mut end = base;
        for v in commits.iter().flatten() {
            if *v != end + 1 {
                return None;
            }
            end = *v;
        }
        let changes = changes
            .iter()
            .map(|c| match c {
                RowChange::Upsert { row, .. } => Some((key(row), Some(value(row)))),
                RowChange::Delete { expected } => Some((key(expected), None)),
                RowChange::Ensure { .. } => None,
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self { base, end, changes })
    }

    /// The rows at `end`, from the rows at `from` — `None` unless `from` is `base` and the
    /// table is now at `end`.
    pub(crate) fn apply(
        &self,
        from: Option<&u64>,
        now: Option<&u64>,
        rows: &BTreeMap<K, V>,
    ) -> Option<BTreeMap<K, V>> {
        if from != Some(&self.base) || now != Some(&self.end) {
            return None;
        }
        let mut out = rows.clone();
        for (k, v) in &self.changes {
            match v {
                Some(v) => out.insert(k.clone(), v.clone()),
                None => out.remove(k),
            };
        }
        Some(out)
    }
}

/// What a commit of this process lets the next reload work out instead of read.
#[derive(Debug, Clone, Default)]
pub(crate) struct Computed {
    /// `meta.domains`.
    pub(crate) domains: Option<Computation<String, Domain>>,
    /// `meta.products`.
    pub(crate) products: Option<Computation<ProductName, Arc<super::StoredProduct>>>,
    /// `meta.data_products`.
    pub(crate) data_products: Option<Computation<String, OdpsProduct>>,
}
