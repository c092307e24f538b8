//! The check every physical plan passes before it runs: whatever reads stored data must read it
//! through the gate ([`GovernedScanExec`]). A plan that reads files any other way fails, naming
//! the operator — fail closed, whatever SQL shape or optimizer rule produced it.

use std::sync::Arc;

use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::explain::ExplainExec;
use datafusion::physical_plan::memory::LazyMemoryExec;
use datafusion::physical_plan::placeholder_row::PlaceholderRowExec;
use datafusion::physical_plan::streaming::StreamingTableExec;
use datafusion::physical_plan::work_table::WorkTableExec;

use super::secure_scan::GovernedScanExec;
use crate::error::{Error, Result};

/// Fails when `plan` reads stored data anywhere but through the gate. Rows that hold no stored
/// data are fine without it: values written in the statement, table functions that computed
/// their rows (after their own checks), `information_schema`, generated series, the working
/// table of a recursive query, and the text of `EXPLAIN`.
pub fn verify_plan(plan: &Arc<dyn ExecutionPlan>) -> Result<()> {
    if plan.downcast_ref::<GovernedScanExec>().is_some() {
        return Ok(());
    }
    let children = plan.children();
    if children.is_empty() {
        return leaf_holds_no_stored_data(plan.as_ref());
    }
    for child in children {
        verify_plan(child)?;
    }
    Ok(())
}

fn leaf_holds_no_stored_data(plan: &dyn ExecutionPlan) -> Result<()> {
    let harmless = match plan.downcast_ref::<DataSourceExec>() {
        Some(source) => source
            .data_source()
            .downcast_ref::<MemorySourceConfig>()
            .is_some(),
        None => {
            plan.is::<EmptyExec>()
                || plan.is::<PlaceholderRowExec>()
                || plan.is::<LazyMemoryExec>()
                || plan.is::<StreamingTableExec>()
                || plan.is::<WorkTableExec>()
                || plan.is::<ExplainExec>()
        }
    };
    if harmless {
        Ok(())
    } else {
        Err(Error::PermissionDenied(format!(
            "the plan reads data through {} without passing lakemeta's access gate, so it is \
             refused; this is a bug in lakemeta: please report the statement",
            plan.name()
        )))
    }
}
