//! The products of a snapshot as `meta.products` holds them. A snapshot read from the table
//! keeps its rows and decodes a product the first time something uses it — with the fifteen
//! rows next to it — so a statement that uses no product, or a few, does not pay for decoding
//! every one of 100,000 (what a new process paid before its first statement).

use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::DataType;

use super::snapshot::ProductMap;
use crate::error::{Error, Result};
use crate::model::{DataProduct, ProductName};
use crate::storage::decode_rows;

/// A data product of a snapshot: one made by this process, or a row of `meta.products`
/// decoded when first used. Reads as a [`DataProduct`].
#[derive(Debug)]
pub struct StoredProduct(Repr);

#[derive(Debug)]
enum Repr {
    Made(Box<DataProduct>),
    Stored { rows: Arc<StoredRows>, index: usize },
}

/// Rows of `meta.products` decoded together: a statement that uses a few products scattered
/// over the table decodes this many rows for each, not the thousands of a whole batch read.
/// A statement that uses every product decodes whole read batches instead ([`decode_all`]):
/// in runs of 16 a process's first search took a third longer.
const ROWS_DECODED_TOGETHER: usize = 16;

/// A run of rows of `meta.products`, decoded whole the first time one of them is used —
/// unless the batch it was read in was decoded whole first (see [`decode_all`]).
struct StoredRows {
    batch: RecordBatch,
    decoded: OnceLock<Vec<DataProduct>>,
    /// The batch as read, of which `batch` is the rows from `offset` on.
    read: Arc<ReadBatch>,
    offset: usize,
}

/// A batch of `meta.products` as read, decoded whole by a statement that uses every product.
struct ReadBatch {
    batch: RecordBatch,
    decoded: OnceLock<Vec<DataProduct>>,
}

impl std::fmt::Debug for StoredRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoredRows({} rows)", self.batch.num_rows())
    }
}

impl From<DataProduct> for StoredProduct {
    fn from(p: DataProduct) -> Self {
        Self(Repr::Made(Box::new(p)))
    }
}

impl Deref for StoredProduct {
    type Target = DataProduct;

    fn deref(&self) -> &DataProduct {
        match &self.0 {
            Repr::Made(p) => p,
            Repr::Stored { rows, index } => match rows.read.decoded.get() {
                Some(all) => &all[rows.offset + *index],
                None => &rows.products()[*index],
            },
        }
    }
}

impl PartialEq for StoredProduct {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl StoredRows {
    fn products(&self) -> &[DataProduct] {
        self.decoded.get_or_init(|| decode_batch(&self.batch))
    }
}

/// Decodes every product of the map not decoded yet, a whole read batch at a time: for a
/// statement that uses them all (the search index, `meta.columns`), which decoding in runs of
/// [`ROWS_DECODED_TOGETHER`] would slow down by a third.
pub(crate) fn decode_all(products: &ProductMap) {
    for p in products.values() {
        if let Repr::Stored { rows, .. } = &p.0 {
            rows.read
                .decoded
                .get_or_init(|| decode_batch(&rows.read.batch));
        }
    }
}

/// The `domain` and `name` columns of a batch of `meta.products`.
fn keys(batch: &RecordBatch) -> Result<(StringArray, StringArray)> {
    let column = |name: &str| -> Result<StringArray> {
        let c = batch.column_by_name(name).ok_or_else(|| {
            Error::invalid(format!(
                "the system table products has no column {name}; the warehouse was written by \
                 another program: open it with the lakemeta that wrote it"
            ))
        })?;
        let c = arrow::compute::cast(c, &DataType::Utf8)?;
        c.as_any()
            .downcast_ref::<StringArray>()
            .cloned()
            .ok_or_else(|| Error::invalid(format!("the products column {name} is not text")))
    };
    Ok((column("domain")?, column("name")?))
}

/// Every row of a batch, decoded; a row that cannot be decoded (the batch's first row was, when
/// it was read) reads as a product of its name only that says so, and is logged.
fn decode_batch(batch: &RecordBatch) -> Vec<DataProduct> {
    match decode_rows::<DataProduct>(std::slice::from_ref(batch)) {
        Ok(rows) if rows.len() == batch.num_rows() => rows,
        _ => (0..batch.num_rows())
            .map(
                |i| match decode_rows::<DataProduct>(&[batch.slice(i, 1)]).map(|mut v| v.pop()) {
                    Ok(Some(p)) => p,
                    Ok(None) => unreadable(batch, i, "no row".to_string()),
                    Err(e) => unreadable(batch, i, e.to_string()),
                },
            )
            .collect(),
    }
}

fn unreadable(batch: &RecordBatch, i: usize, why: String) -> DataProduct {
    let (domain, name) = match keys(batch) {
        Ok((d, n)) if !d.is_null(i) && !n.is_null(i) => {
            (d.value(i).to_string(), n.value(i).to_string())
        }
        _ => (String::new(), String::new()),
    };
    tracing::error!(product = %format!("{domain}.{name}"), error = %why, "a row of meta.products could not be read");
    DataProduct {
        domain,
        name,
        description: format!("this product's row of meta.products could not be read: {why}"),
        ..DataProduct::default()
    }
}

/// The products of the batches of `meta.products`, each decoded when first used. A batch whose
/// first row does not decode fails here, so that a table of another layout is refused when it
/// is read, as a whole.
pub(crate) fn stored_products(batches: Vec<RecordBatch>) -> Result<ProductMap> {
    let mut map = ProductMap::new();
    for batch in batches {
        if batch.num_rows() == 0 {
            continue;
        }
        decode_rows::<DataProduct>(&[batch.slice(0, 1)])?;
        let (domains, names) = keys(&batch)?;
        let read = Arc::new(ReadBatch {
            batch: batch.clone(),
            decoded: OnceLock::new(),
        });
        for start in (0..batch.num_rows()).step_by(ROWS_DECODED_TOGETHER) {
            let len = ROWS_DECODED_TOGETHER.min(batch.num_rows() - start);
            let rows = Arc::new(StoredRows {
                batch: batch.slice(start, len),
                decoded: OnceLock::new(),
                read: Arc::clone(&read),
                offset: start,
            });
            for index in 0..len {
                let at = start + index;
                if domains.is_null(at) || names.is_null(at) {
                    continue;
                }
                let name = ProductName::new(domains.value(at), names.value(at));
                let product = StoredProduct(Repr::Stored {
                    rows: Arc::clone(&rows),
                    index,
                });
                map.insert(name, Arc::new(product));
            }
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::SystemTableKind;

    fn product(i: usize) -> DataProduct {
        DataProduct {
            domain: format!("d{}", i % 3),
            name: format!("p{i}"),
            description: format!("number {i}"),
            tags: vec!["pii".into()],
            ..DataProduct::default()
        }
    }

    #[test]
    fn products_are_decoded_when_first_used_and_read_as_written() {
        let made: Vec<DataProduct> = (0..10).map(product).collect();
        let batch = crate::storage::encode_rows(SystemTableKind::Products, &made).unwrap();
        let map = stored_products(vec![batch.slice(0, 4), batch.slice(4, 6)]).unwrap();
        assert_eq!(map.len(), 10);
        let p7 = &map[&ProductName::new("d1", "p7")];
        let Repr::Stored { rows, .. } = &p7.0 else {
            panic!("{p7:?}");
        };
        assert!(rows.decoded.get().is_none());
        assert_eq!(***p7, made[7]);
        assert!(rows.decoded.get().is_some());
        for p in &made {
            assert_eq!(**map[&p.qualified_name()], *p);
        }
    }

    #[test]
    fn a_statement_using_every_product_decodes_whole_read_batches() {
        let made: Vec<DataProduct> = (0..40).map(product).collect();
        let batch = crate::storage::encode_rows(SystemTableKind::Products, &made).unwrap();
        let map = stored_products(vec![batch]).unwrap();
        let runs = |name: &ProductName| match &map[name].0 {
            Repr::Stored { rows, .. } => Arc::clone(rows),
            Repr::Made(_) => panic!("{name} was read"),
        };
        // one product used: its run of rows is decoded, not the batch
        let p3 = ProductName::new("d0", "p3");
        assert_eq!(**map[&p3], made[3]);
        assert!(runs(&p3).decoded.get().is_some());
        assert!(runs(&p3).read.decoded.get().is_none());
        // every product used: the batch is decoded once, the other runs are not
        decode_all(&map);
        let p37 = ProductName::new("d1", "p37");
        assert!(runs(&p37).read.decoded.get().is_some());
        assert!(runs(&p37).decoded.get().is_none());
        for p in &made {
            assert_eq!(**map[&p.qualified_name()], *p);
        }
    }

    #[test]
    fn a_table_of_another_layout_is_refused_when_read() {
        let batch = RecordBatch::try_new(
            Arc::new(arrow::datatypes::Schema::new(vec![
                arrow::datatypes::Field::new("domain", DataType::Utf8, false),
                arrow::datatypes::Field::new("name", DataType::Int64, false),
            ])),
            vec![
                Arc::new(StringArray::from(vec!["d"])),
                Arc::new(arrow::array::Int64Array::from(vec![1])),
            ],
        )
        .unwrap();
        assert!(stored_products(vec![batch]).is_err());
    }
}
