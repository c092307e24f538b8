//! The rows a statement writes, as a plan another engine can run: the statement's own plan
//! (checked by the access gate), run in the statement's own context — its memory pool, object
//! stores and settings — whatever context runs the plan around it, with each batch checked and
//! counted on its way to the table.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, PlanProperties,
};
use futures::StreamExt;

use crate::error::{Error, Result};

/// A check of each batch a statement writes (a required column left NULL, say).
pub type BatchCheck = Arc<dyn Fn(&RecordBatch) -> Result<()> + Send + Sync>;

/// What the rows of one write came to: how many, and the first error met while reading them
/// (kept as lakemeta's own error, which the writer that ran the plan only reports as text).
#[derive(Default)]
pub struct Tally {
    rows: AtomicU64,
    failure: Mutex<Option<Error>>,
}

impl Tally {
    /// The rows read so far.
    pub fn rows(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }

    /// Starts counting again (the write is made again).
    pub fn restart(&self) {
        self.rows.store(0, Ordering::Relaxed);
    }

    /// The first error met while reading the rows, taken.
    pub fn take_failure(&self) -> Option<Error> {
        self.failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    fn fail(&self, error: Error) -> DataFusionError {
        let text = error.to_string();
        let mut slot = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(error);
        }
        DataFusionError::Execution(text)
    }
}

/// A statement's plan bound to its task context: a leaf to the planner that runs it, so no
/// rule of another session rewrites what the gate checked.
pub struct BoundPlan {
    input: Arc<dyn ExecutionPlan>,
    task: Arc<TaskContext>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    check: Option<BatchCheck>,
    tally: Arc<Tally>,
}

impl BoundPlan {
    /// `input`, run in `task`, its batches labelled with `schema` (the same columns, perhaps
    /// nullable where the plan's are not), checked by `check` and counted in `tally`.
    pub fn new(
        input: Arc<dyn ExecutionPlan>,
        task: Arc<TaskContext>,
        schema: SchemaRef,
        check: Option<BatchCheck>,
        tally: Arc<Tally>,
    ) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            input.output_partitioning().clone(),
            input.pipeline_behavior(),
            input.boundedness(),
        );
        Self {
            input,
            task,
            schema,
            properties: Arc::new(properties),
            check,
            tally,
        }
    }
}

impl fmt::Debug for BoundPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundPlan")
            .field("input", &self.input.name())
            .finish()
    }
}

impl DisplayAs for BoundPlan {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "BoundPlan: {}", self.input.name())
    }
}

impl ExecutionPlan for BoundPlan {
    fn name(&self) -> &str {
        "BoundPlan"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if children.is_empty() {
            Ok(self)
        } else {
            datafusion::common::internal_err!("BoundPlan has no inputs to replace")
        }
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        let tally = Arc::clone(&self.tally);
        let stream = match self.input.execute(partition, Arc::clone(&self.task)) {
            Ok(s) => s,
            Err(e) => return Err(tally.fail(Error::from(e).unwrap_df())),
        };
        let schema = Arc::clone(&self.schema);
        let check = self.check.clone();
        let batches = stream.map(move |batch| {
            let batch = batch.map_err(|e| tally.fail(Error::from(e).unwrap_df()))?;
            let batch = labelled(batch, &schema).map_err(|e| tally.fail(e))?;
            if let Some(check) = &check {
                check(&batch).map_err(|e| tally.fail(e))?;
            }
            tally
                .rows
                .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            Ok(batch)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            batches,
        )))
    }
}

/// `batch` as a batch of `schema`: the same columns, cast where a type differs (a plan's
/// batches may carry a type its schema settled otherwise).
fn labelled(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    if batch.num_columns() != schema.fields().len() {
        return Err(Error::invalid(format!(
            "the rows have {} columns, and the table {}: send rows of the table's columns",
            batch.num_columns(),
            schema.fields().len()
        )));
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(Arc::clone(c))
            } else {
                arrow::compute::cast(c, f.data_type()).map_err(Error::from)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}
