use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use serde::Serialize;

use super::snapshot::CatalogState;
use crate::error::{Error, Result};
use crate::governance::Caller;
use crate::model::{ProductName, now_micros};

#[derive(Serialize)]
struct ColumnRow<'a> {
    product: String,
    domain: &'a str,
    product_name: &'a str,
    name: &'a str,
    data_type: &'a str,
    nullable: bool,
    description: &'a str,
    tags: &'a [String],
    classification: &'a str,
    primary_key: bool,
    unique: bool,
    accepted_values: &'a [String],
    ordinal: i32,
}

/// `meta.columns`: one row per product column, unnested from `meta.products.columns` (they are
/// stored in the product's row so that one commit changes a product and its columns at once).
/// The rows of a snapshot are built the first time a statement scans them and shared by every
/// later scan of that snapshot; a statement that does not read them does not pay for them.
#[derive(Debug)]
pub(crate) struct SnapshotColumns {
    state: Arc<CatalogState>,
    rows: tokio::sync::OnceCell<Arc<MemTable>>,
}

impl SnapshotColumns {
    /// The columns of `state`'s products, not built yet.
    pub(crate) fn new(state: Arc<CatalogState>) -> Self {
        Self {
            state,
            rows: tokio::sync::OnceCell::new(),
        }
    }

    async fn table(&self) -> Result<Arc<MemTable>> {
        self.rows
            .get_or_try_init(|| async { columns_table(&self.state).map(Arc::new) })
            .await
            .cloned()
    }
}

#[async_trait]
impl TableProvider for SnapshotColumns {
    fn schema(&self) -> SchemaRef {
        columns_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let table = self
            .table()
            .await
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        table.scan(state, projection, filters, limit).await
    }
}

fn columns_schema() -> SchemaRef {
    let list = |n: &str| {
        Field::new(
            n,
            DataType::List(Arc::new(Field::new("element", DataType::Utf8, true))),
            false,
        )
    };
    Arc::new(Schema::new(vec![
        Field::new("product", DataType::Utf8, false),
        Field::new("domain", DataType::Utf8, false),
        Field::new("product_name", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("data_type", DataType::Utf8, false),
        Field::new("nullable", DataType::Boolean, false),
        Field::new("description", DataType::Utf8, false),
        list("tags"),
        Field::new("classification", DataType::Utf8, false),
        Field::new("primary_key", DataType::Boolean, false),
        Field::new("unique", DataType::Boolean, false),
        list("accepted_values"),
        Field::new("ordinal", DataType::Int32, false),
    ]))
}

/// The rows of `meta.columns` for the products of `state`.
fn columns_table(state: &CatalogState) -> Result<MemTable> {
    let started = std::time::Instant::now();
    let schema = columns_schema();
    super::stored::decode_all(&state.products);
    let rows: Vec<ColumnRow> = state
        .products
        .values()
        .flat_map(|p| {
            p.columns.iter().map(move |c| ColumnRow {
                product: format!("{}.{}", p.domain, p.name),
                domain: &p.domain,
                product_name: &p.name,
                name: &c.name,
                data_type: &c.data_type,
                nullable: c.nullable,
                description: &c.description,
                tags: &c.tags,
                classification: &c.classification,
                primary_key: c.primary_key,
                unique: c.unique,
                accepted_values: &c.accepted_values,
                ordinal: c.ordinal,
            })
        })
        .collect();
    let batch = serde_arrow::to_record_batch(schema.fields(), &rows)
        .map_err(|e| Error::invalid(format!("building meta.columns: {e}")))?;
    tracing::debug!(elapsed = ?started.elapsed(), "meta.columns built");
    Ok(MemTable::try_new(schema, vec![vec![batch]])?)
}

/// `meta.columns` as one caller reads it: the snapshot's rows (shared by every caller) and a
/// last column, `mask`, worked out when a statement scans it: the mask the caller reads the
/// column through (`email`, `last4`, `hash`, `sql`, …), NULL where they read raw values or the
/// column is not PII. For a product the caller may not read, the mask a grant would give them.
#[derive(Debug)]
pub(crate) struct CallerColumns {
    base: Arc<dyn TableProvider>,
    state: Arc<CatalogState>,
    caller: Arc<Caller>,
    schema: SchemaRef,
}

impl CallerColumns {
    /// `meta.columns` over the shared rows `base`, for `caller`.
    pub(crate) fn new(
        base: Arc<dyn TableProvider>,
        state: Arc<CatalogState>,
        caller: Arc<Caller>,
    ) -> Self {
        let mut fields: Vec<Field> = base
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.push(Field::new("mask", DataType::Utf8, true));
        Self {
            base,
            state,
            caller,
            schema: Arc::new(Schema::new(fields)),
        }
    }

    /// The masks of `product`'s columns for the caller, by column name.
    fn masks_of(&self, product: &str, now: i64) -> HashMap<String, String> {
        let g = &self.state.governance;
        let who = &self.caller.principal().name;
        let Some(p) = product
            .parse::<ProductName>()
            .ok()
            .and_then(|n| self.state.products.get(&n))
        else {
            return HashMap::new();
        };
        if !p
            .columns
            .iter()
            .any(|c| g.policy().column_mask(c).is_some())
        {
            return HashMap::new();
        }
        g.protection_of(who, p, self.state.domains.get(&p.domain), now)
            .masks
            .into_iter()
            .map(|m| (m.column, m.rule.kind_name().to_string()))
            .collect()
    }

    /// `batch` of the shared rows with the caller's `mask` column added.
    fn with_masks(
        &self,
        batch: &RecordBatch,
        cache: &mut HashMap<String, HashMap<String, String>>,
        now: i64,
    ) -> datafusion::common::Result<RecordBatch> {
        let products = batch.column(0).as_string::<i32>();
        let names = batch.column(3).as_string::<i32>();
        let mut mask = StringBuilder::with_capacity(batch.num_rows(), 0);
        for row in 0..batch.num_rows() {
            if products.is_null(row) {
                mask.append_null();
                continue;
            }
            let product = products.value(row);
            if !cache.contains_key(product) {
                let masks = self.masks_of(product, now);
                cache.insert(product.to_string(), masks);
            }
            mask.append_option(cache.get(product).and_then(|m| m.get(names.value(row))));
        }
        let mut columns = batch.columns().to_vec();
        columns.push(Arc::new(mask.finish()));
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns)?)
    }
}

#[async_trait]
impl TableProvider for CallerColumns {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let plan = self.base.scan(state, None, &[], None).await?;
        let shared = datafusion::physical_plan::collect(plan, state.task_ctx()).await?;
        let now = now_micros();
        let mut cache = HashMap::new();
        let batches = shared
            .iter()
            .map(|b| self.with_masks(b, &mut cache, now))
            .collect::<datafusion::common::Result<Vec<_>>>()?;
        let table = MemTable::try_new(Arc::clone(&self.schema), vec![batches])?;
        table.scan(state, projection, filters, limit).await
    }
}
