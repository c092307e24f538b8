//! Table functions whose rows are computed when the query runs, not while it is planned (so
//! planning stays free of I/O and errors surface as the query's).

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session as DfSession, TableProvider};
use datafusion::common::DataFusionError;
use datafusion::datasource::MemTable;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;

/// The rows of one call of a table function.
#[async_trait]
pub(crate) trait Rows: std::fmt::Debug + Send + Sync + 'static {
    /// The function's name, for errors.
    fn function(&self) -> &'static str;

    /// The schema of the rows.
    fn schema(&self) -> SchemaRef;

    /// Computes the rows, in the session of the query.
    async fn rows(&self, session: &SessionState) -> datafusion::common::Result<RecordBatch>;
}

/// A table provider over [`Rows`].
#[derive(Debug)]
pub(crate) struct Computed<R>(pub R);

#[async_trait]
impl<R: Rows> TableProvider for Computed<R> {
    fn schema(&self) -> SchemaRef {
        self.0.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        state: &dyn DfSession,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let session = state
            .as_any()
            .downcast_ref::<SessionState>()
            .ok_or_else(|| {
                DataFusionError::Execution(format!("{} needs a SessionState", self.0.function()))
            })?;
        let batch = self.0.rows(session).await?;
        let table = MemTable::try_new(self.schema(), vec![vec![batch]])?;
        table.scan(state, projection, filters, limit).await
    }
}
