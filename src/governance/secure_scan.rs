//! The access gate below the planner: every table a statement can name is a [`GovernedTable`]
//! whose scan decides first — the principal may read the rows or the scan fails — and then
//! reads through a [`GovernedScanExec`], the marker [`verify_plan`](super::verify_plan) looks
//! for. A protected read — a row filter (the policy's, or the audit log's for a non-admin) or
//! masks — filters the raw rows inside the scan and then masks them, before any predicate,
//! limit or projection of the user's query sees them: it takes no pushed-down filter or limit
//! of the query and reports no statistics.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{ScanArgs, ScanResult};
use datafusion::catalog::{Session as DfSession, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DFSchema, Result, Statistics};
use datafusion::execution::{SendableRecordBatchStream, SessionState, TaskContext};
use datafusion::logical_expr::{Expr, LogicalPlan, TableProviderFilterPushDown, TableType};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};
use datafusion::physical_plan::{
    ChildStats, DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties,
    ReplaceChildrenOptions, StatisticsArgs,
};

use super::caller::Caller;
use super::masks::{fold, mask_expr};
use super::state::{Protection, ReadAccess};
use crate::error::Error;
use crate::storage::MaskKey;

/// A table as the gate serves it to one statement: the real provider, what the statement's
/// principal may do with it, and the caller to record reads in.
#[derive(Debug)]
pub struct GovernedTable {
    inner: Arc<dyn TableProvider>,
    /// The schema the statement sees: the table's, its masked columns nullable.
    schema: SchemaRef,
    /// `domain.product`, or `meta.<table>` for a system table.
    name: String,
    /// True for a data product (its reads are recorded); false for a system table.
    product: bool,
    /// Whether the principal may read it, decided when the statement started.
    access: std::result::Result<ReadAccess, String>,
    /// A predicate on raw rows that the principal sees only the rows of (a system table's).
    row_filter: Option<Expr>,
    /// The masks and the row filter the principal reads a product through.
    protection: Protection,
    /// The key of the `hash` mask.
    mask_key: Option<Arc<MaskKey>>,
    caller: Arc<Caller>,
}

impl GovernedTable {
    /// A data product, readable or not as `access` says, read through `protection`.
    pub fn product(
        inner: Arc<dyn TableProvider>,
        name: String,
        access: crate::error::Result<ReadAccess>,
        protection: Protection,
        mask_key: Arc<MaskKey>,
        caller: Arc<Caller>,
    ) -> Self {
        let schema = masked_schema(&inner.schema(), &protection);
        Self {
            inner,
            schema,
            name,
            product: true,
            access: access.map_err(|e| match e {
                Error::PermissionDenied(m) => m,
                other => other.to_string(),
            }),
            row_filter: None,
            protection,
            mask_key: Some(mask_key),
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
            schema: inner.schema(),
            inner,
            name,
            product: false,
            access: Ok(ReadAccess::Open),
            row_filter,
            protection: Protection::default(),
            mask_key: None,
            caller,
        }
    }

    /// True when the principal may see only some of the rows (or masked values): then nothing
    /// of the user's query runs below the gate.
    fn protected(&self) -> bool {
        self.row_filter.is_some() || !self.protection.is_none()
    }

    /// The failure of a policy that cannot be applied: the read fails closed.
    fn policy_failed(&self, why: String) -> datafusion::error::DataFusionError {
        datafusion::error::DataFusionError::External(Box::new(Error::PolicyFailed {
            table: self.name.clone(),
            version: self.protection.policy_version,
            reason: why,
        }))
    }

    /// The protected read: the raw rows of the columns the statement and the row filters need,
    /// filtered on raw values, then the wanted columns, masked.
    async fn protected_scan(
        &self,
        state: &dyn DfSession,
        wanted: &[usize],
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let schema = self.inner.schema();
        let full = DFSchema::try_from(Arc::clone(&schema))?;
        let mut predicates: Vec<Expr> = self.row_filter.iter().cloned().collect();
        let session = state.as_any().downcast_ref::<SessionState>();
        if let Some(rule) = &self.protection.row_filter {
            let session = session.ok_or_else(|| {
                self.policy_failed("the row filter needs a SQL session to be planned in".into())
            })?;
            let predicate = session
                .create_logical_expr(&rule.predicate, &full)
                .and_then(|e| fold(e, &full))
                .map_err(|e| self.policy_failed(format!("its row filter does not plan: {e}")))?;
            predicates.push(predicate);
        }
        // the columns to read: the wanted ones and those the filters name
        let mut needed: Vec<usize> = wanted.to_vec();
        for p in &predicates {
            for c in p.column_refs() {
                if let Ok(i) = schema.index_of(&c.name) {
                    needed.push(i);
                }
            }
        }
        needed.sort_unstable();
        needed.dedup();
        // the row filters — the policy's own predicates on raw values, never the query's — may
        // prune files and row groups: what they skip the principal may not see anyway. They
        // are applied again above the scan whatever the provider does with them.
        let raw = self
            .inner
            .scan(state, Some(&needed), &predicates, None)
            .await?;
        let raw_schema = DFSchema::try_from(raw.schema())?;
        let mut input = raw;
        for p in predicates {
            let physical = state.create_physical_expr(p, &raw_schema)?;
            input = Arc::new(FilterExec::try_new(physical, input)?);
        }
        let mut exprs = Vec::with_capacity(wanted.len());
        for i in wanted {
            let field = schema.field(*i);
            let name = field.name().clone();
            let mask = self.protection.masks.iter().find(|m| m.column == name);
            let logical = match (mask, &self.mask_key) {
                (None, _) => Expr::Column(datafusion::common::Column::new_unqualified(&name)),
                (Some(m), Some(key)) => {
                    let session = session.ok_or_else(|| {
                        self.policy_failed("a mask needs a SQL session to be planned in".into())
                    })?;
                    mask_expr(&m.rule, &name, field.data_type(), key, session)
                        .map_err(|why| self.policy_failed(format!("column {name}: {why}")))?
                }
                (Some(_), None) => {
                    return Err(self.policy_failed(format!("column {name}: no mask key")));
                }
            };
            let physical = state.create_physical_expr(logical, &raw_schema)?;
            exprs.push(ProjectionExpr::new(physical, name));
        }
        let mut projected: Arc<dyn ExecutionPlan> =
            Arc::new(ProjectionExec::try_new(exprs, input)?);
        // the read below the gate is the policy's alone (the raw scan, its filters, its masks):
        // the session's physical optimizer may parallelize it and push the row filter into the
        // scan, as it would a query's — the query itself stays above, where it cannot reach
        if let Some(session) = session {
            for rule in session.physical_optimizers() {
                projected = rule.optimize(projected, session.config_options())?;
            }
        }
        Ok(Arc::new(GovernedScanExec::protected(
            projected,
            self.name.clone(),
            &self.protection,
            self.row_filter.is_some(),
        )))
    }
}

#[async_trait]
impl TableProvider for GovernedTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
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
            self.caller
                .record_read(&self.name, &columns, &access, &self.protection);
        }
        if !self.protected() {
            let plan = self.inner.scan_with_args(state, args).await?.into_inner();
            let marked: Arc<dyn ExecutionPlan> =
                Arc::new(GovernedScanExec::new(plan, self.name.clone()));
            return Ok(ScanResult::new(marked));
        }
        Ok(ScanResult::new(self.protected_scan(state, &wanted).await?))
    }
}

/// `schema` with the masked columns nullable (a mask may read NULL where the table has none).
fn masked_schema(schema: &SchemaRef, protection: &Protection) -> SchemaRef {
    if protection.masks.is_empty() {
        return Arc::clone(schema);
    }
    let fields: Vec<arrow::datatypes::FieldRef> = schema
        .fields()
        .iter()
        .map(|f| {
            if protection.masks.iter().any(|m| &m.column == f.name()) {
                Arc::new(f.as_ref().clone().with_nullable(true))
            } else {
                Arc::clone(f)
            }
        })
        .collect();
    Arc::new(arrow::datatypes::Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ))
}

/// The gate's mark on a plan: the rows below it were read through a [`GovernedTable`].
///
/// An open read keeps its input as a child (the optimizer may push the query's filters and
/// limits into the scan, and `count`/`min`/`max` may be answered from statistics). A protected
/// read — masks, or a row filter — is a leaf: its input (the raw scan, the row filters, the
/// masks) is invisible to the optimizer, so no filter, limit, TopK or join filter of the query
/// runs below it; it reports no statistics; and `EXPLAIN [ANALYZE]` shows which masks and filters
/// applied but neither their literals nor the rows before filtering.
#[derive(Debug)]
pub struct GovernedScanExec {
    input: Arc<dyn ExecutionPlan>,
    table: String,
    /// For a protected read, what applied (`email: mask email`, `row filter`, `policy v3`).
    protected: Option<Vec<String>>,
}

impl GovernedScanExec {
    fn new(input: Arc<dyn ExecutionPlan>, table: String) -> Self {
        Self {
            input,
            table,
            protected: None,
        }
    }

    fn protected(
        input: Arc<dyn ExecutionPlan>,
        table: String,
        protection: &Protection,
        own_rows: bool,
    ) -> Self {
        let mut applied = protection.describe();
        if own_rows {
            applied.push("own rows".into());
        }
        if !protection.is_none() {
            applied.push(format!("policy v{}", protection.policy_version));
        }
        Self {
            input,
            table,
            protected: Some(applied),
        }
    }

    /// The table it reads (`domain.product` or `meta.<table>`).
    pub fn table(&self) -> &str {
        &self.table
    }

    /// True for a protected read (masks or row filters applied below it).
    pub fn is_protected(&self) -> bool {
        self.protected.is_some()
    }
}

impl DisplayAs for GovernedScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "GovernedScanExec: table={}", self.table)?;
        if let Some(applied) = &self.protected {
            write!(f, ", protected [{}]", applied.join(", "))?;
        }
        Ok(())
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
        if self.protected.is_some() {
            Vec::new()
        } else {
            vec![&self.input]
        }
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true; self.children().len()]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false; self.children().len()]
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
        let expected = self.children().len();
        if children.len() != expected {
            return datafusion::common::internal_err!(
                "GovernedScanExec has {expected} inputs, not {}",
                children.len()
            );
        }
        if expected == 0 {
            return Ok(self);
        }
        Ok(Arc::new(Self {
            input: children.swap_remove(0),
            table: self.table.clone(),
            protected: self.protected.clone(),
        }))
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
        if self.protected.is_some() {
            Vec::new()
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
            Some(s) if self.protected.is_none() => Ok(Arc::clone(s)),
            _ => Ok(Arc::new(Statistics::new_unknown(&self.schema()))),
        }
    }
}
