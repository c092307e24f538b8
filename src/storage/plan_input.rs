//! The rows of a Delta write as a query plan: deltalake's write takes a logical plan, which here
//! scans a physical plan the caller made (and checked) and streams its rows into the table's
//! files as they come, so a write never holds its input.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session as DfSession, TableProvider};
use datafusion::common::Result as DfResult;
use datafusion::execution::SessionState;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, TableType};
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};
use futures::future::BoxFuture;

use crate::error::Result;

/// Makes the plan of a write's rows.
pub type PlanMaker<'a> =
    Box<dyn Fn() -> BoxFuture<'a, Result<Arc<dyn ExecutionPlan>>> + Send + Sync + 'a>;

/// Where the rows of a write come from.
pub struct WriteInput<'a> {
    /// Makes the plan of the rows. A write that must be made again (another commit won the
    /// race) asks for a new plan: a plan's rows are read once.
    pub plan: PlanMaker<'a>,
    /// The columns of the rows.
    pub schema: SchemaRef,
    /// The runtime the write runs in: its memory pool holds the write's buffers as well as
    /// the query's, and its object stores are the ones the plan reads.
    pub runtime: Arc<RuntimeEnv>,
}

/// A table whose one scan is a plan made elsewhere.
#[derive(Debug)]
struct PlanTable {
    plan: Arc<dyn ExecutionPlan>,
}

#[async_trait]
impl TableProvider for PlanTable {
    fn schema(&self) -> SchemaRef {
        self.plan.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        _state: &dyn DfSession,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let schema = self.plan.schema();
        let all = (0..schema.fields().len()).collect::<Vec<_>>();
        match projection {
            Some(p) if *p != all => {
                let exprs = p
                    .iter()
                    .map(|&i| {
                        let name = schema.field(i).name().clone();
                        ProjectionExpr {
                            expr: Arc::new(Column::new(&name, i)),
                            alias: name,
                        }
                    })
                    .collect::<Vec<_>>();
                Ok(Arc::new(ProjectionExec::try_new(
                    exprs,
                    Arc::clone(&self.plan),
                )?))
            }
            _ => Ok(Arc::clone(&self.plan)),
        }
    }
}

/// A logical plan that scans `plan`.
pub(super) fn scan_of(plan: Arc<dyn ExecutionPlan>) -> Result<LogicalPlan> {
    let source = datafusion::datasource::provider_as_source(Arc::new(PlanTable { plan }));
    Ok(LogicalPlanBuilder::scan("input", source, None)?.build()?)
}

/// deltalake's own session (its planner knows its write operators) on `runtime`.
pub(super) fn write_session(runtime: &Arc<RuntimeEnv>) -> SessionState {
    let delta = deltalake::delta_datafusion::create_session().state();
    SessionStateBuilder::new_from_existing(delta)
        .with_runtime_env(Arc::clone(runtime))
        .build()
}
