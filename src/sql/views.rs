//! Views of the `meta` schema written in SQL (`sql/views/*.sql`), shared by every session of a
//! catalog (every call of every user of a server). A view's SQL is planned each time a
//! statement reads it, over the reading session's own tables — the system tables as its
//! caller's gate serves them (`meta.audit_log`: a user's own rows) — so no caller's plan or
//! rows reach another's, and a view always reads the snapshot its statement reads.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session as DfSession, TableProvider};
use datafusion::datasource::{TableType, ViewTable};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::context::{SessionContext, SessionState};
use datafusion::logical_expr::{Expr, LogicalPlan, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;

use crate::error::{Error, Result};

/// The views: name in `meta` and SQL.
const VIEWS: &[(&str, &str)] = &[
    (
        "product_health",
        include_str!("../../sql/views/product_health.sql"),
    ),
    (
        "domain_dependencies",
        include_str!("../../sql/views/domain_dependencies.sql"),
    ),
    (
        // the caller's gate decides whose audit rows the view counts (admins: everyone's)
        "product_usage",
        include_str!("../../sql/views/product_usage.sql"),
    ),
];

/// A view of `meta`, planned when a statement reads it.
#[derive(Debug)]
struct SharedView {
    name: &'static str,
    sql: &'static str,
    /// Its columns, as planned once: the system tables' columns are the same for every caller.
    schema: SchemaRef,
}

/// Plans a view's SQL in `state`.
async fn plan_view(state: &SessionState, name: &str, sql: &str) -> Result<LogicalPlan> {
    state
        .create_logical_plan(sql)
        .await
        .map_err(|e| Error::invalid(format!("the view meta.{name} does not plan: {e}")))
}

#[async_trait]
impl TableProvider for SharedView {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    fn get_table_definition(&self) -> Option<&str> {
        Some(self.sql)
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        // the filters are applied on top of the view's plan
        Ok(vec![TableProviderFilterPushDown::Exact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn DfSession,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let session = state
            .as_any()
            .downcast_ref::<SessionState>()
            .ok_or_else(|| {
                DataFusionError::Plan(format!(
                    "the view meta.{} is read through a lakemeta session only",
                    self.name
                ))
            })?;
        let plan = plan_view(session, self.name, self.sql)
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let columns = |s: &arrow::datatypes::Schema| -> Vec<(String, arrow::datatypes::DataType)> {
            s.fields()
                .iter()
                .map(|f| (f.name().clone(), f.data_type().clone()))
                .collect()
        };
        if columns(plan.schema().as_arrow()) != columns(&self.schema) {
            return Err(DataFusionError::Plan(format!(
                "the view meta.{} no longer has the columns it was planned with (the system \
                 tables' columns changed while lakemeta ran): restart it",
                self.name
            )));
        }
        ViewTable::new(plan, Some(self.sql.to_string()))
            .scan(state, projection, filters, limit)
            .await
    }
}

/// The views of `meta`, their columns worked out in `ctx`, whose catalog must already hold the
/// system tables.
pub(crate) async fn plan_views(
    ctx: &SessionContext,
) -> Result<BTreeMap<String, Arc<dyn TableProvider>>> {
    let state = ctx.state();
    let mut out = BTreeMap::new();
    for (name, sql) in VIEWS {
        let plan = plan_view(&state, name, sql).await?;
        let view: Arc<dyn TableProvider> = Arc::new(SharedView {
            name,
            sql,
            schema: Arc::new(plan.schema().as_arrow().clone()),
        });
        out.insert(name.to_string(), view);
    }
    Ok(out)
}
