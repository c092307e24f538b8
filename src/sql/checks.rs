//! `RUN CHECKS`: evaluates the checks of one or more products and records every result in
//! `meta.quality_results` in one commit.

use std::io::IsTerminal;

use super::functions::new_run_id;
use super::output::Output;
use super::session::Session;
use super::statements::CheckTarget;
use crate::error::{Error, Result};
use crate::model::DataProduct;
use crate::quality::{CheckResult, RunOptions, Status, check_product};
use crate::storage::SystemTableKind;

/// The columns `RUN CHECKS` shows (all of them are recorded).
const SHOWN: [&str; 10] = [
    "product",
    "check_name",
    "kind",
    "column_name",
    "status",
    "observed",
    "expected",
    "failing_rows",
    "method",
    "message",
];

impl Session {
    /// The products a target names: named ones must exist and have a contract; a domain or
    /// everything means the products that have one.
    pub(crate) fn check_targets(&self, target: &CheckTarget) -> Result<Vec<DataProduct>> {
        let state = self.catalog().state();
        Ok(match target {
            CheckTarget::Products(names) => {
                let mut out = Vec::new();
                for n in names {
                    let p = state.product(n)?;
                    if p.checks.is_empty() {
                        return Err(Error::invalid(format!(
                            "data product {n} has no contract, so it has no checks: describe \
                             it in an ODCS contract and run lakemeta apply"
                        )));
                    }
                    out.push(p.clone());
                }
                out
            }
            CheckTarget::Domain(d) => {
                state.domain(d)?;
                state
                    .products_in(d)
                    .filter(|p| !p.checks.is_empty())
                    .cloned()
                    .collect()
            }
            CheckTarget::All => state
                .products
                .values()
                .filter(|p| !p.checks.is_empty())
                .map(|p| DataProduct::clone(p))
                .collect(),
        })
    }

    /// Runs the checks of `target` and records the results in one commit. Nothing is written
    /// until every product has been checked, so a failed or interrupted run leaves no part of
    /// itself behind.
    pub(crate) async fn run_checks(&self, target: &CheckTarget) -> Result<Output> {
        let products = self.check_targets(target)?;
        // the checks read each product's data, and their results are its owners' to record
        let state = self.catalog().state();
        let who = &self.principal().name;
        for p in &products {
            let name = p.qualified_name();
            let access = state.read_whole(who, &name, "RUN CHECKS")?;
            state.check_write_product(who, &name).map_err(|e| match e {
                Error::PermissionDenied(m) => Error::PermissionDenied(format!(
                    "{m}; RUN CHECKS records results, which only a product's owners and admins \
                     do — run_checks('{name}') evaluates the checks without recording them"
                )),
                other => other,
            })?;
            let columns: Vec<String> = p.columns.iter().map(|c| c.name.clone()).collect();
            self.caller()
                .record_read(&name.to_string(), &columns, &access, &Default::default());
            self.caller().record_write(&name.to_string());
        }
        if products.is_empty() {
            return Ok(Output::message(
                "RUN CHECKS: no product here has a contract, so there is nothing to check",
            ));
        }
        let run_id = new_run_id();
        let state = self.state();
        let mut results: Vec<CheckResult> = Vec::new();
        // a progress line for runs of several products, on a terminal only
        let progress = products.len() > 1 && std::io::stderr().is_terminal();
        for (i, p) in products.iter().enumerate() {
            if progress {
                eprint!(
                    "\r\x1b[2K[{}/{}] checking {} …",
                    i + 1,
                    products.len(),
                    p.qualified_name()
                );
            }
            let run =
                check_product(self.warehouse(), p, &state, RunOptions::default(), &run_id).await;
            if progress {
                eprint!("\r\x1b[2K");
            }
            // every principal reads the recorded results: no PII value goes into them
            let mut run = run?;
            let policy = self.catalog().state().governance.policy().clone();
            let private: Vec<String> = p
                .columns
                .iter()
                .filter(|c| policy.column_mask(c).is_some())
                .map(|c| c.name.clone())
                .collect();
            run.withhold_values(&private);
            results.extend(run.results);
        }
        let table = self.warehouse().table(SystemTableKind::QualityResults);
        {
            let _writing = self.catalog().begin_write();
            table.append(&results).await?;
        }
        let failed = results
            .iter()
            .filter(|r| r.status() == Status::Fail)
            .count();
        let errors = results
            .iter()
            .filter(|r| r.status() == Status::Error)
            .count();
        let skipped = results
            .iter()
            .filter(|r| r.status() == Status::Skipped)
            .count();
        let batch = SystemTableKind::QualityResults.to_batch(&results)?;
        let schema = batch.schema();
        let indices: Vec<usize> = SHOWN
            .iter()
            .filter_map(|c| schema.index_of(c).ok())
            .collect();
        let batch = batch.project(&indices)?;
        let mut out = Output::rows(batch.schema(), vec![batch]);
        out.message = Some(format!(
            "RUN CHECKS {run_id}: {} checks of {} product{}: {} passed, {failed} failed, {errors} \
             errors{}; recorded in meta.quality_results",
            results.len(),
            products.len(),
            if products.len() == 1 { "" } else { "s" },
            results.len() - failed - errors - skipped,
            if skipped > 0 {
                format!(", {skipped} not run by lakemeta (text or another engine's)")
            } else {
                String::new()
            }
        ));
        out.failed_checks = failed + errors;
        out.checks = results.len();
        Ok(out)
    }
}
