//! lakemeta's SQL functions: quality aggregates, the quality score, the principal's functions,
//! and the `run_checks`, `lineage`, `impact_analysis`, `search_catalog` and `explain_access`
//! table functions.

mod aggregates;
mod computed;
mod explain_access;
mod health;
mod lineage;
mod principal;
mod run_checks;
mod score;
mod search;

use std::sync::Arc;

use datafusion::execution::context::SessionContext;

pub use aggregates::{duplicate_count, freshness_minutes, null_ratio};
pub use explain_access::ExplainAccessFunction;
pub(crate) use health::latest_health;
pub use lineage::{ImpactAnalysisFunction, LineageFunction};
pub use principal::{current_user_udf, is_member_udf, principal_attribute_udf};
pub use run_checks::{RunChecksFunction, new_run_id};
pub use score::quality_score_udf;
pub use search::SearchCatalogFunction;

use crate::catalog::Catalog;
use crate::governance::Caller;

/// Registers every lakemeta function in a session run by `caller`.
pub fn register(ctx: &SessionContext, catalog: &Arc<Catalog>, caller: &Arc<Caller>) {
    ctx.register_udf(current_user_udf(caller));
    ctx.register_udf(is_member_udf(caller));
    ctx.register_udf(principal_attribute_udf(caller));
    ctx.register_udaf(null_ratio());
    ctx.register_udaf(duplicate_count());
    ctx.register_udaf(freshness_minutes());
    ctx.register_udf(quality_score_udf());
    ctx.register_udtf(
        "run_checks",
        Arc::new(RunChecksFunction::new(
            Arc::clone(catalog),
            Arc::clone(caller),
        )),
    );
    ctx.register_udtf(
        "lineage",
        Arc::new(LineageFunction::new(Arc::clone(catalog))),
    );
    ctx.register_udtf(
        "search_catalog",
        Arc::new(SearchCatalogFunction::new(
            Arc::clone(catalog),
            Arc::clone(caller),
        )),
    );
    ctx.register_udtf(
        "impact_analysis",
        Arc::new(ImpactAnalysisFunction::new(Arc::clone(catalog))),
    );
    ctx.register_udtf(
        "explain_access",
        Arc::new(ExplainAccessFunction::new(
            Arc::clone(catalog),
            Arc::clone(caller),
        )),
    );
}
