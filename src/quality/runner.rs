//! Runs all checks of a product: log statistics first, then one fused scan for the figures
//! they do not answer, then the checks that are queries of their own (custom SQL), the schema
//! check and the commit-age check. A check that cannot be evaluated is an `error` result with
//! the reason; the others still run.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use datafusion::common::ScalarValue;
use datafusion::execution::context::{SessionContext, SessionState};

use super::custom::run_sql_check;
use super::fused::{self, Agg, Measured};
use super::pii_detect::find_in_batches;
use super::result::{CheckResult, CheckRun, Status};
use super::rules::{Metric, Rule, RuleError, rules_of};
use crate::contracts::check_schema;
use crate::error::{Error, Result};
use crate::model::number;
use crate::model::{DataProduct, now_micros};
use crate::storage::{ProductData, Warehouse};

/// How checks are run.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Answer row counts, null counts and min/max from the Delta log where it knows them
    /// exactly (default). Off: scan for everything (to compare the two).
    pub use_stats: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self { use_stats: true }
    }
}

/// Evaluates every check of `product` and returns one result per check, in contract order.
/// Fails only when the product has no contract (and so no checks).
pub async fn check_product(
    warehouse: &Warehouse,
    product: &DataProduct,
    state: &SessionState,
    options: RunOptions,
    run_id: &str,
) -> Result<CheckRun> {
    let name = product.qualified_name().to_string();
    if product.checks.is_empty() {
        return Err(Error::invalid(format!(
            "data product {name} has no contract, so it has no checks: describe it in an ODCS \
             contract and run lakemeta apply"
        )));
    }
    let started = now_micros();
    let clock = Instant::now();
    let mut out = Outcomes::new(product, run_id, started);
    let rules = rules_of(product);
    let data = match open(warehouse, product, state).await {
        Ok(d) => d,
        Err(e) => {
            let message = format!("the data cannot be read: {e}");
            for (i, r) in rules.iter().enumerate() {
                match r {
                    Ok(rule) => out.error(i, rule, &message, 0),
                    Err(re) => out.rule_error(i, re),
                }
            }
            return Ok(out.finish(name));
        }
    };
    out.version = data.version().map(|v| v as i64);
    let schema = data.schema();
    // rules that can be evaluated, by position
    let mut valid: Vec<(usize, &Rule)> = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let rule = match r {
            Ok(rule) => rule,
            Err(re) => {
                out.rule_error(i, re);
                continue;
            }
        };
        let missing: Vec<String> = fused::columns(rule)
            .into_iter()
            .filter(|c| schema.field_with_name(c).is_err())
            .collect();
        if !missing.is_empty() {
            let have: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            out.error(
                i,
                rule,
                &format!(
                    "column '{}' is not in the table (its columns: {}); fix the contract or the \
                     table",
                    missing.join("', '"),
                    have.join(", ")
                ),
                0,
            );
            continue;
        }
        valid.push((i, rule));
    }

    // 1. what the Delta log knows
    let stats_clock = Instant::now();
    let referenced: BTreeSet<String> = valid.iter().flat_map(|(_, r)| fused::columns(r)).collect();
    let stats = data
        .stats(&referenced.into_iter().collect::<Vec<_>>())
        .await
        .unwrap_or_else(|e| {
            tracing::warn!("statistics of {name}: {e}");
            None
        });
    let known: HashMap<Agg, ScalarValue> = match (&stats, options.use_stats) {
        (Some(s), true) => fused::known_from_stats(s),
        _ => HashMap::new(),
    };
    let stats_ms = stats_clock.elapsed().as_millis() as i64;

    // 2. one fused scan for the rest
    let by_name: BTreeMap<String, &Rule> =
        valid.iter().map(|(_, r)| (r.name.clone(), *r)).collect();
    let mut wanted: Vec<Agg> = Vec::new();
    for (_, rule) in &valid {
        for a in fused::needs(rule, &known) {
            if !known.contains_key(&a) && !wanted.contains(&a) {
                wanted.push(a);
            }
        }
    }
    let ctx = SessionContext::new_with_state(state.clone());
    let scan_clock = Instant::now();
    let mut values = known.clone();
    let mut failed: HashMap<String, String> = HashMap::new();
    match fused::scan(&ctx, data.provider(), &wanted, &by_name).await {
        Ok(v) => values.extend(v),
        Err(_) => {
            // find the checks at fault: each one's figures on their own
            for (_, rule) in &valid {
                let own: Vec<Agg> = fused::needs(rule, &known)
                    .into_iter()
                    .filter(|a| !values.contains_key(a))
                    .collect();
                match fused::scan(&ctx, data.provider(), &own, &by_name).await {
                    Ok(v) => values.extend(v),
                    Err(e) => {
                        failed.insert(rule.name.clone(), e);
                    }
                }
            }
        }
    }
    let scan_ms = scan_clock.elapsed().as_millis() as i64;

    // 3. measure
    let answered_by_stats = |a: &Agg| known.contains_key(a);
    for (i, rule) in &valid {
        let i = *i;
        let rule_clock = Instant::now();
        match &rule.metric {
            Metric::SchemaDrift => {
                let diffs = check_schema(&product.columns, &schema);
                let ms = rule_clock.elapsed().as_millis() as i64;
                let (status, message) = if diffs.is_empty() {
                    (Status::Pass, None)
                } else {
                    (Status::Fail, Some(diffs.join("; ")))
                };
                out.push(
                    i,
                    rule,
                    status,
                    Some((
                        format!("{} differences", diffs.len()),
                        Some(diffs.len() as f64),
                    )),
                    Some("no differences from the contract".into()),
                    Some(diffs.len() as i64),
                    ms,
                    "schema",
                    message,
                );
            }
            Metric::CommitAgeMinutes => {
                let Some(ms) = stats.as_ref().and_then(|s| s.committed_at_ms) else {
                    out.error(
                        i,
                        rule,
                        "the time of the last commit is unknown: commit_freshness needs a Delta \
                         table whose latest commit file is still in the log",
                        stats_ms,
                    );
                    continue;
                };
                let minutes = (started as f64 / 1000.0 - ms as f64) / 60_000.0;
                let m = Measured {
                    value: Some(minutes),
                    text: format!("{} min", number(minutes.max(0.0))),
                    failing: None,
                    from_stats: false,
                };
                out.measured(i, rule, m, stats_ms, "log");
            }
            Metric::UnclassifiedPii { column, sample } => {
                let r =
                    unclassified_pii(&ctx, data.provider(), product, column.as_deref(), *sample)
                        .await;
                let ms = rule_clock.elapsed().as_millis() as i64;
                match r {
                    Ok(m) => out.measured(i, rule, m, ms, "sample"),
                    Err(e) => out.error(i, rule, &e.to_string(), ms),
                }
            }
            Metric::Sql { query } => {
                let r = run_sql_check(
                    state,
                    product,
                    data.provider(),
                    query,
                    &rule.column,
                    rule.bound.as_ref(),
                )
                .await;
                let ms = rule_clock.elapsed().as_millis() as i64;
                match r {
                    Ok(m) => out.measured(i, rule, m, ms, "query"),
                    Err(e) => out.error(i, rule, &e, ms),
                }
            }
            _ => {
                if let Some(e) = failed.get(&rule.name) {
                    out.error(i, rule, e, scan_ms);
                    continue;
                }
                match fused::measure(rule, &values, &answered_by_stats, started) {
                    Ok(m) => {
                        let (ms, method) = if m.from_stats {
                            (stats_ms, "stats")
                        } else {
                            (scan_ms, "scan")
                        };
                        out.measured(i, rule, m, ms, method);
                    }
                    Err(e) => out.error(i, rule, &e, scan_ms),
                }
            }
        }
    }
    tracing::debug!(
        "checks of {name}: {} figures scanned, {} from statistics, {} ms",
        wanted.len(),
        known.len(),
        clock.elapsed().as_millis()
    );
    Ok(out.finish(name))
}

/// The `unclassified_pii` figure: the columns (all, or `column`) whose first `sample` rows'
/// values mostly look like a PII type the column is not classified or tagged as. The text names
/// each with the type and how many values matched — never a value.
async fn unclassified_pii(
    ctx: &SessionContext,
    provider: Arc<dyn datafusion::catalog::TableProvider>,
    product: &DataProduct,
    column: Option<&str>,
    sample: usize,
) -> Result<Measured> {
    let batches = ctx
        .read_table(provider)?
        .limit(0, Some(sample))?
        .collect()
        .await?;
    let checked: Vec<&crate::model::Column> = product
        .columns
        .iter()
        .filter(|c| column.is_none_or(|k| k.eq_ignore_ascii_case(&c.name)))
        .collect();
    let mut found: Vec<String> = Vec::new();
    for c in checked {
        let (Some(f), _) = find_in_batches(&batches, &c.name) else {
            continue;
        };
        let declared = c.classification.eq_ignore_ascii_case(f.classification)
            || c.tags
                .iter()
                .any(|t| t.eq_ignore_ascii_case(f.classification));
        if !declared {
            found.push(format!(
                "{} looks like {} ({} of {} sampled values) and is not classified so",
                c.name, f.classification, f.matched, f.sampled
            ));
        }
    }
    let text = if found.is_empty() {
        "no unclassified PII".to_string()
    } else {
        format!(
            "{} unclassified PII column{}: {}; add `classification: <type>` to the contract \
             (lakemeta classify proposes them)",
            found.len(),
            if found.len() == 1 { "" } else { "s" },
            found.join("; ")
        )
    };
    Ok(Measured {
        value: Some(found.len() as f64),
        text,
        failing: None,
        from_stats: false,
    })
}

async fn open(
    warehouse: &Warehouse,
    product: &DataProduct,
    state: &SessionState,
) -> Result<ProductData> {
    let data = warehouse.data();
    let url = data.resolve(&product.location)?;
    let (key, store) = data.store_for(&url)?;
    state.runtime_env().register_object_store(&key, store);
    data.open(&product.location, product.data_format(), state)
        .await
}

/// Results collected by position, so they come out in contract order.
struct Outcomes {
    product: String,
    run_id: String,
    started: i64,
    version: Option<i64>,
    results: BTreeMap<usize, CheckResult>,
}

impl Outcomes {
    fn new(product: &DataProduct, run_id: &str, started: i64) -> Self {
        Self {
            product: product.qualified_name().to_string(),
            run_id: run_id.to_string(),
            started,
            version: None,
            results: BTreeMap::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        i: usize,
        rule: &Rule,
        status: Status,
        observed: Option<(String, Option<f64>)>,
        expected: Option<String>,
        failing: Option<i64>,
        ms: i64,
        method: &str,
        message: Option<String>,
    ) {
        self.results.insert(
            i,
            CheckResult {
                run_id: self.run_id.clone(),
                product: self.product.clone(),
                check_name: rule.name.clone(),
                kind: rule.kind.clone(),
                column_name: (!rule.column.is_empty()).then(|| rule.column.clone()),
                status: status.as_str().into(),
                observed_value: observed.as_ref().and_then(|(_, v)| *v),
                observed: observed.map(|(t, _)| t),
                expected,
                failing_rows: failing,
                product_version: self.version,
                started_at: self.started,
                duration_ms: ms,
                dimension: Some(rule.dimension.as_str().into()),
                method: Some(method.into()),
                message,
            },
        );
    }

    fn measured(&mut self, i: usize, rule: &Rule, m: Measured, ms: i64, method: &str) {
        let expected = rule
            .bound
            .as_ref()
            .map(|b| b.to_string())
            .unwrap_or_else(|| "no failing rows".into());
        let by_text = rule.bound.as_ref().and_then(|b| b.holds_text(&m.text));
        let pass = match (&rule.bound, m.value, by_text) {
            (_, _, Some(holds)) => holds,
            (Some(b), Some(v), None) => b.holds(v),
            (Some(_), None, None) => false,
            (None, _, _) => m.failing.unwrap_or(0) == 0,
        };
        let message = (!pass).then(|| match (m.value, by_text) {
            (None, None) => format!("{} has no value to compare (no non-null data)", rule.name),
            _ => format!("observed {}, expected {expected}", m.text),
        });
        let status = if pass { Status::Pass } else { Status::Fail };
        self.push(
            i,
            rule,
            status,
            Some((m.text, m.value)),
            Some(expected),
            m.failing,
            ms,
            method,
            message,
        );
    }

    fn error(&mut self, i: usize, rule: &Rule, message: &str, ms: i64) {
        let expected = rule.bound.as_ref().map(|b| b.to_string());
        self.push(
            i,
            rule,
            Status::Error,
            None,
            expected,
            None,
            ms,
            "none",
            Some(message.to_string()),
        );
    }

    fn rule_error(&mut self, i: usize, e: &RuleError) {
        self.results.insert(
            i,
            CheckResult {
                run_id: self.run_id.clone(),
                product: self.product.clone(),
                check_name: e.name.clone(),
                kind: e.kind.clone(),
                column_name: (!e.column.is_empty()).then(|| e.column.clone()),
                status: if e.not_run {
                    Status::Skipped
                } else {
                    Status::Error
                }
                .as_str()
                .into(),
                observed: None,
                observed_value: None,
                expected: None,
                failing_rows: None,
                product_version: self.version,
                started_at: self.started,
                duration_ms: 0,
                dimension: None,
                method: Some("none".into()),
                message: Some(e.message.clone()),
            },
        );
    }

    fn finish(self, product: String) -> CheckRun {
        CheckRun {
            product,
            results: self.results.into_values().collect(),
        }
    }
}
