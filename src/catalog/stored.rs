//! The products of a snapshot as `meta.products` holds them. A snapshot read from the table
//! reads the products' names only (each data file fetched whole, its `domain` and `name`
//! columns decoded); a file's other columns are decoded when one of its products is first
//! used, and a product with the fifteen rows next to it — so a statement that uses no product,
//! or a few, does not pay for decoding every one of 100,000 (what a new process paid before
//! its first statement).

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use arrow::array::{Array, AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Int64Type};

use super::snapshot::ProductMap;
use crate::error::{Error, Result};
use crate::model::{DataProduct, ProductName};
use crate::storage::{FileKeys, decode_rows};

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
/// A statement that uses every product decodes whole files instead ([`decode_all`]):
/// in runs of 16 a process's first search took a third longer.
const ROWS_DECODED_TOGETHER: usize = 16;

/// A run of rows of `meta.products`, decoded whole the first time one of them is used —
/// unless the file it was read from was decoded whole first (see [`decode_all`]).
struct StoredRows {
    decoded: OnceLock<Vec<DataProduct>>,
    /// The file the rows are of, and where they are in it.
    read: Arc<ReadFile>,
    offset: usize,
    len: usize,
}

/// A data file of `meta.products`: its keys, read when the snapshot was; its rows, decoded
/// when first used; its products, decoded whole by a statement that uses every product.
struct ReadFile {
    keys: FileKeys,
    decoded: OnceLock<Vec<DataProduct>>,
}

impl std::fmt::Debug for StoredRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoredRows({} rows)", self.len)
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
        self.decoded
            .get_or_init(|| self.read.decode(self.offset, self.len))
    }
}

impl ReadFile {
    /// The products of `len` rows of the file from `offset`; when the file cannot be decoded,
    /// each reads as a product of its name only that says why.
    fn decode(&self, offset: usize, len: usize) -> Vec<DataProduct> {
        match self.keys.rows.rows() {
            Ok(rows) => decode_batch(&rows.slice(offset, len), &self.keys.keys.slice(offset, len)),
            Err(why) => (offset..offset + len)
                .map(|i| unreadable(&self.keys.keys, i, why.to_string()))
                .collect(),
        }
    }

    fn products(&self) -> &[DataProduct] {
        self.decoded
            .get_or_init(|| self.decode(0, self.keys.keys.num_rows()))
    }
}

/// Decodes every product of the map not decoded yet, whole files at a time, side by side on
/// the machine's cores: for a statement that uses them all (the search index,
/// `meta.columns`), which decoding in runs of [`ROWS_DECODED_TOGETHER`] would slow down by a
/// third.
pub(crate) fn decode_all(products: &ProductMap) {
    let files = files_of(products, products.keys());
    decode_side_by_side(&files, |f| {
        f.products();
    });
}

/// Who owns a product and how fresh its data is promised to be: what an impact analysis
/// reports of every product it reaches.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ownership {
    /// The owner (`owner`).
    pub owner: String,
    /// The freshness SLA in minutes (`sla_freshness_minutes`).
    pub sla_freshness_minutes: Option<i64>,
}

/// The columns of `meta.products` an [`Ownership`] is read from.
const OWNERSHIP_COLUMNS: [&str; 2] = ["owner", "sla_freshness_minutes"];

/// The [`Ownership`] of each of `names` that `products` holds. A product not decoded yet is
/// not decoded for it: the two columns alone are read of the files that hold such products.
/// An impact analysis in a new process reaches products spread over every file of the table,
/// and decoding those files whole (every column of every row) took most of its time. A file
/// whose columns cannot be read gives its products' own answer (which says why).
pub(crate) fn ownership_of<'a>(
    products: &ProductMap,
    names: impl IntoIterator<Item = &'a ProductName>,
) -> HashMap<ProductName, Ownership> {
    let of = |p: &DataProduct| Ownership {
        owner: p.owner.clone(),
        sla_freshness_minutes: p.sla_freshness_minutes,
    };
    let mut out = HashMap::new();
    // the rows still to read, by file: the file and, for each row, its place and its name
    type Rows<'n> = (Arc<ReadFile>, Vec<(usize, &'n ProductName)>);
    let mut pending: HashMap<*const ReadFile, Rows<'_>> = HashMap::new();
    for name in names {
        let Some(product) = products.get(name) else {
            continue;
        };
        match &product.0 {
            Repr::Stored { rows, index }
                if rows.decoded.get().is_none() && rows.read.decoded.get().is_none() =>
            {
                pending
                    .entry(Arc::as_ptr(&rows.read))
                    .or_insert_with(|| (Arc::clone(&rows.read), Vec::new()))
                    .1
                    .push((rows.offset + index, name));
            }
            _ => {
                out.insert(name.clone(), of(product));
            }
        }
    }
    for (file, rows) in pending.into_values() {
        match ownership_columns(&file) {
            Ok((owners, slas)) => {
                for (at, name) in rows {
                    let owner = (at < owners.len() && owners.is_valid(at))
                        .then(|| owners.value(at).to_string());
                    let sla = (at < slas.len() && slas.is_valid(at)).then(|| slas.value(at));
                    out.insert(
                        name.clone(),
                        Ownership {
                            owner: owner.unwrap_or_default(),
                            sla_freshness_minutes: sla,
                        },
                    );
                }
            }
            Err(why) => {
                tracing::debug!(error = %why, "owners read from the decoded products");
                for (_, name) in rows {
                    out.insert(name.clone(), of(&products[name]));
                }
            }
        }
    }
    out
}

/// The `owner` and `sla_freshness_minutes` columns of a file of `meta.products`.
fn ownership_columns(file: &ReadFile) -> std::result::Result<(StringArray, Int64Array), String> {
    let batch = file.keys.rows.columns(&OWNERSHIP_COLUMNS)?;
    let owners = arrow::compute::cast(batch.column(0), &DataType::Utf8)
        .map_err(|e| e.to_string())?
        .as_string::<i32>()
        .clone();
    let slas = arrow::compute::cast(batch.column(1), &DataType::Int64)
        .map_err(|e| e.to_string())?
        .as_primitive::<Int64Type>()
        .clone();
    Ok((owners, slas))
}

/// The files of `meta.products` holding the rows of `names` whose rows are not decoded yet,
/// each once.
fn files_of<'a>(
    products: &ProductMap,
    names: impl IntoIterator<Item = &'a ProductName>,
) -> Vec<Arc<ReadFile>> {
    let mut seen = std::collections::HashSet::new();
    let mut files = Vec::new();
    for name in names {
        if let Some(Repr::Stored { rows, .. }) = products.get(name).map(|p| &p.0)
            && rows.read.decoded.get().is_none()
            && seen.insert(Arc::as_ptr(&rows.read))
        {
            files.push(Arc::clone(&rows.read));
        }
    }
    files
}

/// Runs `work` on every file, the files split between the machine's cores (on the calling
/// thread alone when a thread cannot be started).
fn decode_side_by_side(files: &[Arc<ReadFile>], work: impl Fn(&ReadFile) + Sync) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if files.len() < 2 || cores < 2 {
        files.iter().for_each(|f| work(f));
        return;
    }
    let per_thread = files.len().div_ceil(cores);
    let work = &work;
    std::thread::scope(|scope| {
        for part in files.chunks(per_thread) {
            let started = std::thread::Builder::new()
                .spawn_scoped(scope, move || part.iter().for_each(|f| work(f)));
            if started.is_err() {
                part.iter().for_each(|f| work(f));
            }
        }
    });
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

/// Every row of a batch, decoded; a row that cannot be decoded reads as a product of its name
/// only (from `keys`, the same rows' keys) that says so, and is logged.
fn decode_batch(batch: &RecordBatch, keys: &RecordBatch) -> Vec<DataProduct> {
    match decode_rows::<DataProduct>(std::slice::from_ref(batch)) {
        Ok(rows) if rows.len() == batch.num_rows() => rows,
        _ => (0..batch.num_rows())
            .map(
                |i| match decode_rows::<DataProduct>(&[batch.slice(i, 1)]).map(|mut v| v.pop()) {
                    Ok(Some(p)) => p,
                    Ok(None) => unreadable(keys, i, "no row".to_string()),
                    Err(e) => unreadable(keys, i, e.to_string()),
                },
            )
            .collect(),
    }
}

/// A product of the name at row `i` of `keys` that says why its row could not be read.
fn unreadable(keys_batch: &RecordBatch, i: usize, why: String) -> DataProduct {
    let (domain, name) = match keys(keys_batch) {
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

/// The key columns [`stored_products`] reads of `meta.products`.
pub(crate) const KEY_COLUMNS: [&str; 2] = ["domain", "name"];

/// The products of the files of `meta.products` (their [`KEY_COLUMNS`] read, the rest when
/// first used), each decoded when first used. The first file's first row is decoded here, so
/// that a table of another layout is refused when it is read, as a whole.
pub(crate) fn stored_products(files: Vec<FileKeys>) -> Result<ProductMap> {
    let mut map = ProductMap::new();
    let mut checked = false;
    for file in files {
        let count = file.keys.num_rows();
        if count == 0 {
            continue;
        }
        if !checked {
            let rows = file.rows.rows().map_err(|why| {
                Error::invalid(format!(
                    "meta.products cannot be read: {why}; the warehouse was written by another \
                     program: open it with the lakemeta that wrote it"
                ))
            })?;
            decode_rows::<DataProduct>(&[rows.slice(0, 1)])?;
            checked = true;
        }
        let (domains, names) = keys(&file.keys)?;
        let read = Arc::new(ReadFile {
            keys: file,
            decoded: OnceLock::new(),
        });
        for start in (0..count).step_by(ROWS_DECODED_TOGETHER) {
            let len = ROWS_DECODED_TOGETHER.min(count - start);
            let rows = Arc::new(StoredRows {
                decoded: OnceLock::new(),
                read: Arc::clone(&read),
                offset: start,
                len,
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
    use crate::storage::{FileRows, SystemTableKind};

    /// Batches as the files of `meta.products`, their rows decoded already.
    fn files(batches: Vec<RecordBatch>) -> Vec<FileKeys> {
        batches
            .into_iter()
            .map(|b| {
                let keys = KEY_COLUMNS.map(|c| b.schema().index_of(c).unwrap());
                FileKeys {
                    keys: b.project(&keys).unwrap(),
                    rows: Arc::new(FileRows::decoded("test".into(), b)),
                }
            })
            .collect()
    }

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
        let map = stored_products(files(vec![batch.slice(0, 4), batch.slice(4, 6)])).unwrap();
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
    fn a_statement_using_every_product_decodes_whole_files() {
        let made: Vec<DataProduct> = (0..40).map(product).collect();
        let batch = crate::storage::encode_rows(SystemTableKind::Products, &made).unwrap();
        let map = stored_products(files(vec![batch])).unwrap();
        let runs = |name: &ProductName| match &map[name].0 {
            Repr::Stored { rows, .. } => Arc::clone(rows),
            Repr::Made(_) => panic!("{name} was read"),
        };
        // one product used: its run of rows is decoded, not the file
        let p3 = ProductName::new("d0", "p3");
        assert_eq!(**map[&p3], made[3]);
        assert!(runs(&p3).decoded.get().is_some());
        assert!(runs(&p3).read.decoded.get().is_none());
        // every product used: the file is decoded once, the other runs are not
        decode_all(&map);
        let p37 = ProductName::new("d1", "p37");
        assert!(runs(&p37).read.decoded.get().is_some());
        assert!(runs(&p37).decoded.get().is_none());
        for p in &made {
            assert_eq!(**map[&p.qualified_name()], *p);
        }
    }

    /// Batches as the files of `meta.products` fetched and not decoded: Parquet files, of
    /// which only the keys are read.
    fn fetched(batches: Vec<RecordBatch>) -> Vec<FileKeys> {
        batches
            .into_iter()
            .map(|b| {
                let mut bytes = Vec::new();
                let mut w =
                    parquet::arrow::ArrowWriter::try_new(&mut bytes, b.schema(), None).unwrap();
                w.write(&b).unwrap();
                w.close().unwrap();
                let keys = KEY_COLUMNS.map(|c| b.schema().index_of(c).unwrap());
                FileKeys {
                    keys: b.project(&keys).unwrap(),
                    rows: Arc::new(FileRows::fetched(
                        "test".into(),
                        bytes.into(),
                        SystemTableKind::Products.schema(),
                    )),
                }
            })
            .collect()
    }

    #[test]
    fn owners_are_read_without_decoding_the_products() {
        let made: Vec<DataProduct> = (0..30)
            .map(|i| DataProduct {
                owner: format!("team-{i}"),
                sla_freshness_minutes: (i % 2 == 0).then_some(i as i64 * 10),
                ..product(i)
            })
            .collect();
        let batch = crate::storage::encode_rows(SystemTableKind::Products, &made).unwrap();
        let map = stored_products(fetched(vec![batch.slice(0, 10), batch.slice(10, 20)])).unwrap();
        let second_file = |name: &ProductName| match &map[name].0 {
            Repr::Stored { rows, .. } => Arc::clone(&rows.read),
            Repr::Made(_) => panic!("{name} was read"),
        };
        let p25 = ProductName::new("d1", "p25");
        // one product of the first file (read whole to check its layout) decoded already: its
        // answer comes from it, the other rows' from the first file's decoded columns and the
        // second file's rows from its two columns alone
        assert_eq!(map[&ProductName::new("d0", "p3")].owner, "team-3");
        let wanted: Vec<ProductName> = [3, 4, 11, 24, 25]
            .iter()
            .map(|&i| made[i].qualified_name())
            .chain([ProductName::new("d0", "missing")])
            .collect();
        let got = ownership_of(&map, &wanted);
        assert_eq!(got.len(), 5, "{got:?}");
        for i in [3, 4, 11, 24, 25] {
            let p = &made[i];
            assert_eq!(
                got[&p.qualified_name()],
                Ownership {
                    owner: p.owner.clone(),
                    sla_freshness_minutes: p.sla_freshness_minutes,
                }
            );
        }
        // the second file's other rows stay undecoded
        assert!(second_file(&p25).decoded.get().is_none());
        assert!(!second_file(&p25).keys.rows.is_decoded());
        let Repr::Stored { rows, .. } = &map[&p25].0 else {
            unreachable!()
        };
        assert!(rows.decoded.get().is_none());
        assert_eq!(**map[&p25], made[25]);
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
        assert!(stored_products(files(vec![batch])).is_err());
    }
}
