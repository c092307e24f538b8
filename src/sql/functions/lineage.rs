//! `lineage(product, direction [, max_depth])` and `impact_analysis(product[.column]
//! [, max_depth])`: walks of the lineage graph as table functions.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use async_trait::async_trait;
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{DataFusionError, ScalarValue, plan_err};
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::Expr;

use super::computed::{Computed, Rows};
use super::health::{health_of, health_of_these};
use super::run_checks::string_arg;
use crate::catalog::{Catalog, CatalogState};
use crate::error::Error;
use crate::lineage::{Direction, Reached};
use crate::model::ProductName;

/// The start of a walk, checked against the catalog: a product, or one of its columns.
fn start_of(
    function: &str,
    state: &CatalogState,
    text: &str,
) -> datafusion::common::Result<(ProductName, Option<String>)> {
    let parts: Vec<&str> = text.split('.').collect();
    let (name, column) = match parts.as_slice() {
        [d, p] => (ProductName::new(d.to_lowercase(), p.to_lowercase()), None),
        [d, p, c] if !c.is_empty() => (
            ProductName::new(d.to_lowercase(), p.to_lowercase()),
            Some(c.to_string()),
        ),
        _ => {
            return plan_err!(
                "{function}: '{text}' is not a product or a column: write domain.product or \
                 domain.product.column, e.g. 'orders.orders_fact.order_total'"
            );
        }
    };
    let product = state.product(&name).map_err(external)?;
    let column = match column {
        None => None,
        Some(c) => Some(
            product
                .column_named(&c)
                .map_err(|m| external(Error::invalid(format!("{function}: {m}"))))?
                .name
                .clone(),
        ),
    };
    Ok((name, column))
}

fn external(e: Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// The optional depth limit: a non-negative integer literal, or NULL for no limit.
fn depth_arg(function: &str, exprs: &[Expr], i: usize) -> datafusion::common::Result<Option<u32>> {
    let value = match exprs.get(i) {
        None => return Ok(None),
        Some(Expr::Literal(v, _)) => v.clone(),
        Some(other) => {
            return plan_err!(
                "{function}: argument {} (max_depth) must be an integer literal, not {other}",
                i + 1
            );
        }
    };
    if value.is_null() {
        return Ok(None);
    }
    let n = match value.cast_to(&DataType::Int64) {
        Ok(ScalarValue::Int64(Some(n))) => n,
        _ => {
            return plan_err!("{function}: max_depth must be a whole number of hops, not {value}");
        }
    };
    if n < 0 {
        return plan_err!(
            "{function}: max_depth must be 0 or more, not {n}; leave it out (or NULL) for no \
             limit"
        );
    }
    Ok(Some(u32::try_from(n).unwrap_or(u32::MAX)))
}

/// A walk of the lineage graph, made when the query runs (what it needs of `meta.lineage` is
/// read then, not when the statement is planned; see [`CatalogState::walk`]).
#[derive(Debug)]
struct Walk {
    state: Arc<CatalogState>,
    start: (ProductName, Option<String>),
    direction: Direction,
    depth: Option<u32>,
}

impl Walk {
    async fn reached(&self) -> datafusion::common::Result<Vec<Reached>> {
        let product = self.start.0.to_string();
        self.state
            .walk(
                &product,
                self.start.1.as_deref(),
                self.direction,
                self.depth,
            )
            .await
            .map_err(external)
    }
}

/// The `lineage` table function.
#[derive(Debug)]
pub struct LineageFunction {
    catalog: Arc<Catalog>,
}

impl LineageFunction {
    /// The function over a catalog.
    pub fn new(catalog: Arc<Catalog>) -> Self {
        Self { catalog }
    }
}

fn lineage_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("product", DataType::Utf8, false),
        Field::new("column_name", DataType::Utf8, true),
        Field::new("domain", DataType::Utf8, false),
        Field::new("depth", DataType::Int32, false),
        Field::new("path", DataType::Utf8, false),
    ]))
}

impl TableFunctionImpl for LineageFunction {
    fn call_with_args(
        &self,
        args: TableFunctionArgs,
    ) -> datafusion::common::Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if exprs.len() < 2 || exprs.len() > 3 {
            return plan_err!(
                "lineage takes a product (or column), a direction and an optional depth: \
                 lineage('domain.product[.column]', 'upstream' | 'downstream' [, max_depth])"
            );
        }
        let state = self.catalog.state();
        let text =
            string_arg("lineage", exprs, 0, "'domain.product[.column]'")?.unwrap_or_default();
        let start = start_of("lineage", &state, &text)?;
        let direction: Direction = string_arg("lineage", exprs, 1, "'upstream' or 'downstream'")?
            .unwrap_or_default()
            .parse()
            .map_err(|m: String| DataFusionError::Plan(format!("lineage: {m}")))?;
        let depth = depth_arg("lineage", exprs, 2)?;
        Ok(Arc::new(Computed(LineageTable(Walk {
            state,
            start,
            direction,
            depth,
        }))))
    }
}

/// The products (or columns) a `lineage` walk reached.
#[derive(Debug)]
struct LineageTable(Walk);

#[async_trait]
impl Rows for LineageTable {
    fn function(&self) -> &'static str {
        "lineage"
    }

    fn schema(&self) -> SchemaRef {
        lineage_schema()
    }

    async fn rows(&self, _session: &SessionState) -> datafusion::common::Result<RecordBatch> {
        let reached = self.0.reached().await?;
        let domain = |p: &str| p.split('.').next().unwrap_or_default().to_string();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                reached.iter().map(|r| r.product.as_str()),
            )),
            Arc::new(StringArray::from_iter(
                reached.iter().map(|r| r.column.as_deref()),
            )),
            Arc::new(StringArray::from_iter_values(
                reached.iter().map(|r| domain(&r.product)),
            )),
            Arc::new(Int32Array::from_iter_values(
                reached.iter().map(|r| r.depth as i32),
            )),
            Arc::new(StringArray::from_iter_values(
                reached.iter().map(|r| r.path.join(" -> ")),
            )),
        ];
        Ok(RecordBatch::try_new(lineage_schema(), columns)?)
    }
}

/// The `impact_analysis` table function.
#[derive(Debug)]
pub struct ImpactAnalysisFunction {
    catalog: Arc<Catalog>,
}

impl ImpactAnalysisFunction {
    /// The function over a catalog.
    pub fn new(catalog: Arc<Catalog>) -> Self {
        Self { catalog }
    }
}

fn impact_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("product", DataType::Utf8, false),
        Field::new("column_name", DataType::Utf8, true),
        Field::new("depth", DataType::Int32, false),
        Field::new("path", DataType::Utf8, false),
        Field::new("domain", DataType::Utf8, false),
        Field::new("owner", DataType::Utf8, true),
        Field::new("sla_freshness_minutes", DataType::Int64, true),
        Field::new("quality_status", DataType::Utf8, true),
        Field::new("quality_score", DataType::Float64, true),
        Field::new(
            "checked_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ]))
}

impl TableFunctionImpl for ImpactAnalysisFunction {
    fn call_with_args(
        &self,
        args: TableFunctionArgs,
    ) -> datafusion::common::Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if exprs.is_empty() || exprs.len() > 2 {
            return plan_err!(
                "impact_analysis takes a product (or column) and an optional depth: \
                 impact_analysis('domain.product[.column]' [, max_depth])"
            );
        }
        let state = self.catalog.state();
        let text = string_arg("impact_analysis", exprs, 0, "'domain.product[.column]'")?
            .unwrap_or_default();
        let start = start_of("impact_analysis", &state, &text)?;
        let depth = depth_arg("impact_analysis", exprs, 1)?;
        Ok(Arc::new(Computed(ImpactTable(Walk {
            state,
            start,
            direction: Direction::Downstream,
            depth,
        }))))
    }
}

/// The products an impact analysis reaches, with their latest quality: both read when the
/// query runs.
#[derive(Debug)]
struct ImpactTable(Walk);

#[async_trait]
impl Rows for ImpactTable {
    fn function(&self) -> &'static str {
        "impact_analysis"
    }

    fn schema(&self) -> SchemaRef {
        impact_schema()
    }

    async fn rows(&self, session: &SessionState) -> datafusion::common::Result<RecordBatch> {
        let reached = self.0.reached().await?;
        let state = &self.0.state;
        // a walk on a snapshot whose graph was not read (the first of a process) reads the
        // quality of the products it reached; later ones, everyone's once per snapshot
        let mut products: Vec<String> = reached.iter().map(|r| r.product.clone()).collect();
        products.sort_unstable();
        products.dedup();
        let health = async {
            if state.lineage_if_read().is_none() {
                health_of_these(state, session, &products).await
            } else {
                health_of(state, session).await
            }
        };
        // of the reached products only the owner and SLA are read, not their whole rows, off
        // the async threads while their quality is read
        let names: Vec<ProductName> = products.iter().filter_map(|p| p.parse().ok()).collect();
        let of = Arc::clone(state);
        let owners = tokio::task::spawn_blocking(move || of.ownership_of(&names));
        let (health, owners) = tokio::join!(health, owners);
        let health = health?;
        let owners = owners.map_err(|e| DataFusionError::External(Box::new(e)))?;
        let r = &reached;
        let product = |x: &Reached| owners.get(&x.product.parse().ok()?);
        let h = |x: &Reached| health.get(&x.product);
        let domain = |p: &str| p.split('.').next().unwrap_or_default().to_string();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                r.iter().map(|x| x.product.as_str()),
            )),
            Arc::new(StringArray::from_iter(
                r.iter().map(|x| x.column.as_deref()),
            )),
            Arc::new(Int32Array::from_iter_values(
                r.iter().map(|x| x.depth as i32),
            )),
            Arc::new(StringArray::from_iter_values(
                r.iter().map(|x| x.path.join(" -> ")),
            )),
            Arc::new(StringArray::from_iter_values(
                r.iter().map(|x| domain(&x.product)),
            )),
            Arc::new(StringArray::from_iter(
                r.iter().map(|x| product(x).map(|p| p.owner.clone())),
            )),
            Arc::new(Int64Array::from_iter(
                r.iter()
                    .map(|x| product(x).and_then(|p| p.sla_freshness_minutes)),
            )),
            Arc::new(StringArray::from_iter(
                r.iter().map(|x| h(x).map(|v| v.0.clone())),
            )),
            Arc::new(Float64Array::from_iter(
                r.iter().map(|x| h(x).and_then(|v| v.1)),
            )),
            Arc::new(
                TimestampMicrosecondArray::from_iter(r.iter().map(|x| h(x).and_then(|v| v.2)))
                    .with_timezone("UTC"),
            ),
        ];
        Ok(RecordBatch::try_new(impact_schema(), columns)?)
    }
}
