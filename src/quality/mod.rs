//! Quality: checks derived from contracts, evaluated in one fused scan per product (or from the
//! Delta log's statistics), their results, and the 0–100 quality score.

mod custom;
mod distinct;
mod fused;
mod pii_detect;
mod result;
mod rules;
mod runner;
mod score;

pub use pii_detect::{
    DETECTED_TYPES, Finding, MIN_SHARE, detect, find, find_in_batches, luhn, suggested_by_name,
};
pub use result::{CheckResult, CheckRun, Status, WITHHELD};
pub use rules::{Dimension, Metric, Rule, RuleError, rules_of};
pub use runner::{RunOptions, check_product};
pub use score::{ScoreInputs, quality_score};
