//! The access gate below the planner: every table a statement can name is a [`GovernedTable`]
//! whose scan decides first — the principal may read the rows or the scan fails — and then
//! reads through a [`GovernedScanExec`], the marker [`verify_plan`](super::verify_plan) looks
//! for. A table with a row filter (the audit log for a non-admin) filters the raw rows inside
//! the scan, before any predicate, limit or projection of the user's query sees them: it takes
//! no pushed-down filter or limit and reports no statistics.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{ScanArgs, ScanResult};
use datafusion::catalog::{Session as DfSession, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DFSchema, Result, Statistics};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, LogicalPlan, TableProviderFilterPushDown, TableType};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Column as ColumnExpr;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};
use datafusion::physical_plan::{
    ChildStats, DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties,
    ReplaceChildrenOptions, StatisticsArgs,
};

use super::caller::Caller;
use super::state::ReadAccess;
use crate::error::Error;

/// A table as the gate serves it to one statement: the real provider, what the statement's
/// principal may do with it, and the caller to record reads in.
#[derive(Debug)]
pub struct GovernedTable {
    inner: Arc<dyn TableProvider>,
    /// `domain.product`, or `meta.<table>` for a system table.
    name: String,
    /// True for a data product (its reads are recorded); false for a system table.
    product: bool,
    /// Whether the principal may read it, decided when the statement started.
    access: std::result::Result<ReadAccess, String>,
    /// A predicate on raw rows that the principal sees only the rows of.
    row_filter: Option<Expr>,
    caller: Arc<Caller>,
}

impl GovernedTable {
    /// A data product, readable or not as `access` says.
    pub fn product(
        inner: Arc<dyn TableProvider>,
        name: String,
        access: crate::error::Result<ReadAccess>,
        caller: Arc<Caller>,
    ) -> Self {
        Self {
            inner,
            name,
            product: true,
            access: access.map_err(|e| match e {
                Error::PermissionDenied(m) => m,
                other => other.to_string(),
            }),
            row_filter: None,
            caller,
        }
    }

    /// A system table, readable by every principal — only the rows `row_filter` keeps, if
    /// given.
    pub fn system(
        inner: Arc<dyn TableProvider>,
        name: String,
        row_filter: Option<Expr>,
        caller: Arc<Caller>,
    ) -> Self {
        Self {
            inner,
            name,
            product: false,
            access: Ok(ReadAccess::Open),
            row_filter,
            caller,
        }
    }

    /// True when the principal may see only some of the rows (or masked values): then nothing
    /// of the user's query runs below the gate.
    fn protected(&self) -> bool {
        self.row_filter.is_some()
    }
}

#[async_trait]
impl TableProvider for GovernedTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn constraints(&self) -> Option<&datafusion::common::Constraints> {
        self.inner.constraints()
    }

    fn get_table_definition(&self) -> Option<&str> {
        None
    }

    fn get_logical_plan(&'_ self) -> Option<Cow<'_, LogicalPlan>> {
        None
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        if self.protected() || self.access.is_err() {
            return Ok(vec![
                TableProviderFilterPushDown::Unsupported;
                filters.len()
            ]);
        }
        self.inner.supports_filters_pushdown(filters)
    }

    fn statistics(&self) -> Option<Statistics> {
        if self.protected() || self.access.is_err() {
            return None;
        }
        self.inner.statistics()
    }

    async fn scan(
        &self,
        state: &dyn DfSession,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let args = ScanArgs::default()
            .with_projection(projection.map(Vec::as_slice))
            .with_filters(Some(filters))
            .with_limit(limit);
        Ok(self.scan_with_args(state, args).await?.into_inner())
    }

    async fn scan_with_args<'a>(
        &self,
        state: &dyn DfSession,
        args: ScanArgs<'a>,
    ) -> Result<ScanResult> {
        let access = self.access.clone().map_err(|m| {
            datafusion::error::DataFusionError::External(Box::new(Error::PermissionDenied(m)))
        })?;
        let schema = self.inner.schema();
        let wanted: Vec<usize> = match args.projection() {
            Some(p) => p.to_vec(),
            None => (0..schema.fields().len()).collect(),
        };
        if self.product {
            let columns: Vec<String> = wanted
                .iter()
                .filter_map(|i| schema.fields().get(*i).map(|f| f.name().clone()))
                .collect();
            self.caller.record_read(&self.name, &columns, &access);
        }
        let Some(filter) = &self.row_filter else {
            let plan = self.inner.scan_with_args(state, args).await?.into_inner();
            let marked: Arc<dyn ExecutionPlan> =
                Arc::new(GovernedScanExec::new(plan, self.name.clone(), false));
            return Ok(ScanResult::new(marked));
        };
        // every column, no filter, no limit: the raw rows, then the row filter, then the
        // columns the statement asked for
        let raw = self.inner.scan(state, None, &[], None).await?;
        let df_schema = DFSchema::try_from(Arc::clone(&raw.schema()))?;
        let predicate = state.create_physical_expr(filter.clone(), &df_schema)?;
        let filtered: Arc<dyn ExecutionPlan> = Arc::new(FilterExec::try_new(predicate, raw)?);
        let exprs = wanted
            .iter()
            .map(|i| {
                let name = schema.field(*i).name().clone();
                let column: Arc<dyn PhysicalExpr> = Arc::new(ColumnExpr::new(&name, *i));
                ProjectionExpr::new(column, name)
            })
            .collect::<Vec<_>>();
        let projected: Arc<dyn ExecutionPlan> = Arc::new(ProjectionExec::try_new(exprs, filtered)?);
        let marked: Arc<dyn ExecutionPlan> =
            Arc::new(GovernedScanExec::new(projected, self.name.clone(), true));
        Ok(ScanResult::new(marked))
    }
}

/// The gate's mark on a plan: the rows below it were read through a [`GovernedTable`]. With
/// `protected` it is a barrier: no parent filter, limit or projection moves below it, and it
/// reports no statistics (which DataFusion would answer `count`/`min`/`max` from).
#[derive(Debug)]
pub struct GovernedScanExec {
    input: Arc<dyn ExecutionPlan>,
    table: String,
    protected: bool,
}

impl GovernedScanExec {
    fn new(input: Arc<dyn ExecutionPlan>, table: String, protected: bool) -> Self {
        Self {
            input,
            table,
            protected,
        }
    }

    /// The table it reads (`domain.product` or `meta.<table>`).
    pub fn table(&self) -> &str {
        &self.table
    }
}

impl DisplayAs for GovernedScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "GovernedScanExec: table={}{}",
            self.table,
            if self.protected { ", protected" } else { "" }
        )
    }
}

impl ExecutionPlan for GovernedScanExec {
    fn name(&self) -> &str {
        "GovernedScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return datafusion::common::internal_err!(
                "GovernedScanExec has one input, not {}",
                children.len()
            );
        }
        Ok(Arc::new(Self::new(
            children.swap_remove(0),
            self.table.clone(),
            self.protected,
        )))
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(
                datafusion::physical_plan::ChildrenPropertiesMode::Recompute,
            ),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        self.input.execute(partition, context)
    }

    fn child_stats_requests(&self, partition: Option<usize>) -> Vec<ChildStats> {
        if self.protected {
            vec![ChildStats::Skip]
        } else {
            vec![ChildStats::At(partition)]
        }
    }

    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        _args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        match input_stats.first() {
            Some(s) if !self.protected => Ok(Arc::clone(s)),
            _ => Ok(Arc::new(Statistics::new_unknown(&self.schema()))),
        }
    }
}
