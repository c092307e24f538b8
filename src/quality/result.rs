//! The outcome of evaluating checks: one row per check, as `run_checks` returns it and
//! `meta.quality_results` stores it.

use serde::{Deserialize, Serialize};

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The measured value meets the bound.
    Pass,
    /// It does not.
    Fail,
    /// The check could not be evaluated (bad SQL, missing column, unreadable data).
    Error,
    /// The contract keeps the check for another engine or for people (`type: text`, another
    /// engine's `custom` check): lakemeta does not run it, and it counts neither for nor against
    /// the product.
    Skipped,
}

impl Status {
    /// `pass`, `fail`, `error` or `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Skipped => "skipped",
        }
    }
}

/// One check's result; one row of `meta.quality_results`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The run it belongs to (one per product per `RUN CHECKS`).
    pub run_id: String,
    /// `domain.product`.
    pub product: String,
    /// The check's name.
    pub check_name: String,
    /// Its kind.
    pub kind: String,
    /// The column, if any.
    pub column_name: Option<String>,
    /// `pass`, `fail`, `error` or `skipped` (not run by lakemeta).
    pub status: String,
    /// The measured value.
    pub observed: Option<String>,
    /// The bound it had to meet.
    pub expected: Option<String>,
    /// Rows that violate the check, where that is a count of rows.
    pub failing_rows: Option<i64>,
    /// The product's Delta version that was checked (none for plain files).
    pub product_version: Option<i64>,
    /// When the run started (microseconds, UTC).
    pub started_at: i64,
    /// How long the evaluation took; checks answered by the same scan share its time.
    pub duration_ms: i64,
    /// The measured value as a number (minutes for freshness, percent for percentages), for
    /// trends and the score.
    pub observed_value: Option<f64>,
    /// completeness, freshness, uniqueness or accuracy.
    pub dimension: Option<String>,
    /// How it was answered: `stats` (Delta log statistics, no scan), `scan` (the fused scan),
    /// `query` (a custom SQL query), `schema` or `log`.
    pub method: Option<String>,
    /// Why it failed or errored.
    pub message: Option<String>,
}

impl CheckResult {
    /// The status, parsed.
    pub fn status(&self) -> Status {
        match self.status.as_str() {
            "pass" => Status::Pass,
            "fail" => Status::Fail,
            "skipped" => Status::Skipped,
            _ => Status::Error,
        }
    }
}

/// The results of one product's checks.
#[derive(Debug, Clone)]
pub struct CheckRun {
    /// `domain.product`.
    pub product: String,
    /// One per check, in contract order.
    pub results: Vec<CheckResult>,
}

/// What a recorded result shows in place of a value of a PII column.
pub const WITHHELD: &str = "[withheld: PII]";

impl CheckRun {
    /// Removes the values of `private` columns (classified PII) from the results before they
    /// are recorded where every principal reads them: the observed value of a check that
    /// measures a value of such a column (`min`, `max`), and of any `sql` check of a product
    /// that has one (its query may select anything). Counts, ratios and minutes stay.
    pub fn withhold_values(&mut self, private: &[String]) {
        if private.is_empty() {
            return;
        }
        for r in &mut self.results {
            let value_of_private = matches!(r.kind.as_str(), "min" | "max")
                && r.column_name.as_ref().is_some_and(|c| private.contains(c));
            if value_of_private || r.kind == "sql" {
                if r.observed.is_some() {
                    r.observed = Some(WITHHELD.into());
                }
                r.observed_value = None;
                if let Some(m) = &mut r.message
                    && m.starts_with("observed ")
                {
                    *m = format!(
                        "observed {WITHHELD}, expected {}",
                        r.expected.as_deref().unwrap_or("-")
                    );
                }
            }
        }
    }

    /// Checks that failed or errored (a skipped check is neither).
    pub fn not_passed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| matches!(r.status(), Status::Fail | Status::Error))
            .count()
    }
}
