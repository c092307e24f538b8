//! `run_checks('domain.product' [, 'stats' | 'scan'])`: evaluates all checks of a product (one
//! fused scan, Delta statistics where they answer exactly) and returns one row per check.
//! Nothing is recorded; `RUN CHECKS FOR` records.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{DataFusionError, ScalarValue, plan_err};
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::Expr;

use super::computed::{Computed, Rows};
use crate::catalog::Catalog;
use crate::error::Error;
use crate::governance::Caller;
use crate::model::{DataProduct, ProductName};
use crate::quality::{RunOptions, check_product};
use crate::storage::SystemTableKind;

/// The `run_checks` table function.
#[derive(Debug)]
pub struct RunChecksFunction {
    catalog: Arc<Catalog>,
    caller: Arc<Caller>,
}

impl RunChecksFunction {
    /// The function over a catalog, run by `caller` (who must be allowed to read the product:
    /// the checks read its data).
    pub fn new(catalog: Arc<Catalog>, caller: Arc<Caller>) -> Self {
        Self { catalog, caller }
    }
}

/// The literal string of a table-function argument.
pub(crate) fn string_arg(
    function: &str,
    exprs: &[Expr],
    i: usize,
    what: &str,
) -> datafusion::common::Result<Option<String>> {
    match exprs.get(i) {
        None => Ok(None),
        Some(Expr::Literal(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::Utf8View(Some(s))
            | ScalarValue::LargeUtf8(Some(s)),
            _,
        )) => Ok(Some(s.clone())),
        Some(other) => plan_err!(
            "{function}: argument {} must be a string literal ({what}), not {other}",
            i + 1
        ),
    }
}

impl TableFunctionImpl for RunChecksFunction {
    fn call_with_args(
        &self,
        args: TableFunctionArgs,
    ) -> datafusion::common::Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if exprs.is_empty() || exprs.len() > 2 {
            return plan_err!(
                "run_checks takes a product and an optional mode: run_checks('domain.product' \
                 [, 'stats' | 'scan'])"
            );
        }
        let product = string_arg("run_checks", exprs, 0, "the product, 'domain.product'")?
            .unwrap_or_default();
        let name: ProductName = product
            .parse()
            .map_err(|m: String| DataFusionError::Plan(format!("run_checks: {m}")))?;
        let use_stats = match string_arg("run_checks", exprs, 1, "'stats' or 'scan'")?.as_deref() {
            None | Some("stats") => true,
            Some("scan") => false,
            Some(other) => {
                return plan_err!(
                    "run_checks: unknown mode '{other}': use 'stats' (Delta statistics where \
                     they answer exactly, the default) or 'scan' (scan for everything)"
                );
            }
        };
        let state = self.catalog.state();
        let p = state
            .product(&name)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let access = state
            .read_whole(&self.caller.principal().name, &name, "run_checks")
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let columns: Vec<String> = p.columns.iter().map(|c| c.name.clone()).collect();
        self.caller
            .record_read(&name.to_string(), &columns, &access, &Default::default());
        if p.checks.is_empty() {
            return Err(DataFusionError::External(Box::new(Error::invalid(
                format!(
                    "data product {name} has no contract, so it has no checks: describe it in an \
                 ODCS contract and run lakemeta apply"
                ),
            ))));
        }
        Ok(Arc::new(Computed(RunChecksTable {
            catalog: Arc::clone(&self.catalog),
            product: p.clone(),
            options: RunOptions { use_stats },
        })))
    }
}

/// The rows of one `run_checks` call; the checks run when the query executes its scan.
#[derive(Debug)]
struct RunChecksTable {
    catalog: Arc<Catalog>,
    product: DataProduct,
    options: RunOptions,
}

#[async_trait]
impl Rows for RunChecksTable {
    fn function(&self) -> &'static str {
        "run_checks"
    }

    fn schema(&self) -> SchemaRef {
        SystemTableKind::QualityResults.schema()
    }

    async fn rows(&self, session: &SessionState) -> datafusion::common::Result<RecordBatch> {
        let run_id = new_run_id();
        let run = check_product(
            self.catalog.warehouse(),
            &self.product,
            session,
            self.options,
            &run_id,
        )
        .await
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
        SystemTableKind::QualityResults
            .to_batch(&run.results)
            .map_err(|e| DataFusionError::External(Box::new(e)))
    }
}

/// A new run identifier: time-ordered and unique enough for concurrent runs.
pub fn new_run_id() -> String {
    let now = chrono::Utc::now();
    format!(
        "{}-{:08x}",
        now.format("%Y%m%dT%H%M%S%.3fZ"),
        rand::random::<u32>()
    )
}
