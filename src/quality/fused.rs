//! Evaluates the measurable checks of a product together: every figure they need becomes one
//! aggregate of a single fused query (one scan), unless the Delta log's statistics already
//! answer it exactly.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::catalog::TableProvider;
use datafusion::common::ScalarValue;
use datafusion::execution::context::SessionContext;
use datafusion::functions::expr_fn::regexp_like;
use datafusion::functions_aggregate::expr_fn::{count, max, min};
use datafusion::logical_expr::{Expr, ExprFunctionExt, cast, ident, lit};

use super::distinct::exact_distinct;
use super::rules::{Metric, Rule};
use crate::storage::TableStats;

/// One figure a check needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Agg {
    /// Number of rows.
    Rows,
    /// Nulls in a column.
    Nulls(String),
    /// Non-null values in a column.
    NonNull(String),
    /// Distinct values over rows where all the columns are non-null.
    Distinct(Vec<String>),
    /// Rows where all the columns are non-null.
    AllNonNull(Vec<String>),
    /// Smallest value.
    Min(String),
    /// Largest value.
    Max(String),
    /// Rows that match the rule's own predicate, keyed by the rule's name.
    CountIf(String),
}

/// What a rule measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// The value compared with the bound (`None`: nothing to compare, e.g. the max of an empty
    /// column).
    pub value: Option<f64>,
    /// How the value reads to a person.
    pub text: String,
    /// Rows violating the check, where that is a row count.
    pub failing: Option<i64>,
    /// True when the log statistics answered it without a scan.
    pub from_stats: bool,
}

/// The figures the log statistics answer exactly.
pub fn known_from_stats(stats: &TableStats) -> HashMap<Agg, ScalarValue> {
    let mut out = HashMap::new();
    if let Some(rows) = stats.rows {
        out.insert(Agg::Rows, ScalarValue::Int64(Some(rows as i64)));
    }
    for (name, c) in &stats.columns {
        if let Some(n) = c.null_count {
            out.insert(Agg::Nulls(name.clone()), ScalarValue::Int64(Some(n as i64)));
            if let Some(rows) = stats.rows {
                out.insert(
                    Agg::NonNull(name.clone()),
                    ScalarValue::Int64(Some(rows.saturating_sub(n) as i64)),
                );
            }
        }
        if let Some(v) = &c.min {
            out.insert(Agg::Min(name.clone()), v.clone());
        }
        if let Some(v) = &c.max {
            out.insert(Agg::Max(name.clone()), v.clone());
        }
    }
    out
}

/// The figures a rule needs. A range check whose bounds the statistics already prove met
/// needs no count of violating rows.
pub fn needs(rule: &Rule, known: &HashMap<Agg, ScalarValue>) -> Vec<Agg> {
    let key = || Agg::CountIf(rule.name.clone());
    match &rule.metric {
        Metric::RowCount => vec![Agg::Rows],
        Metric::NullValues { column, .. } => vec![Agg::Nulls(column.clone()), Agg::Rows],
        Metric::MissingValues { .. } => vec![key(), Agg::Rows],
        Metric::DuplicateValues { columns, .. } if columns.len() == 1 => vec![
            Agg::NonNull(columns[0].clone()),
            Agg::Distinct(columns.clone()),
            Agg::Rows,
        ],
        Metric::DuplicateValues { columns, .. } => vec![
            Agg::AllNonNull(columns.clone()),
            Agg::Distinct(columns.clone()),
            Agg::Rows,
        ],
        Metric::InvalidValues { .. } => vec![key(), Agg::Rows],
        Metric::PatternMismatch { .. } => vec![key()],
        Metric::OutOfRange {
            column,
            min: lo,
            max: hi,
        } => {
            let within = |agg: Agg, ok: &dyn Fn(f64) -> bool| {
                known.get(&agg).and_then(as_f64).is_some_and(ok)
            };
            let low_ok = lo.is_none_or(|lo| within(Agg::Min(column.clone()), &|v| v >= lo));
            let high_ok = hi.is_none_or(|hi| within(Agg::Max(column.clone()), &|v| v <= hi));
            if low_ok && high_ok {
                vec![Agg::Min(column.clone()), Agg::Max(column.clone())]
            } else {
                vec![key()]
            }
        }
        Metric::Min(c) => vec![Agg::Min(c.clone())],
        Metric::Max(c) | Metric::DataAgeMinutes(c) => vec![Agg::Max(c.clone())],
        Metric::DistinctCount(c) => vec![Agg::Distinct(vec![c.clone()])],
        Metric::CommitAgeMinutes | Metric::SchemaDrift | Metric::Sql { .. } => Vec::new(),
    }
}

/// The columns a rule reads.
pub fn columns(rule: &Rule) -> Vec<String> {
    match &rule.metric {
        Metric::RowCount | Metric::CommitAgeMinutes | Metric::SchemaDrift | Metric::Sql { .. } => {
            Vec::new()
        }
        Metric::NullValues { column, .. }
        | Metric::MissingValues { column, .. }
        | Metric::InvalidValues { column, .. }
        | Metric::PatternMismatch { column, .. }
        | Metric::OutOfRange { column, .. }
        | Metric::Min(column)
        | Metric::Max(column)
        | Metric::DistinctCount(column)
        | Metric::DataAgeMinutes(column) => vec![column.clone()],
        Metric::DuplicateValues { columns, .. } => columns.clone(),
    }
}

/// The aggregate expression of a figure.
fn agg_expr(
    agg: &Agg,
    rules: &BTreeMap<String, &Rule>,
    schema: &SchemaRef,
) -> Result<Expr, String> {
    let all = || count(lit(1));
    // string columns as they are (Utf8View stays a view); others cast for comparisons as text
    let text = |c: &str| match schema.field_with_name(c).map(|f| f.data_type().clone()) {
        Ok(DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8) => ident(c),
        _ => cast(ident(c), DataType::Utf8),
    };
    let e = match agg {
        Agg::Rows => all(),
        Agg::Nulls(c) => all()
            .filter(ident(c).is_null())
            .build()
            .map_err(|e| e.to_string())?,
        Agg::NonNull(c) => count(ident(c)),
        Agg::Distinct(cols) => exact_distinct(cols.iter().map(ident).collect()),
        Agg::AllNonNull(cols) => all()
            .filter(all_not_null(cols))
            .build()
            .map_err(|e| e.to_string())?,
        Agg::Min(c) => min(ident(c)),
        Agg::Max(c) => max(ident(c)),
        Agg::CountIf(name) => {
            let rule = rules
                .get(name)
                .ok_or_else(|| format!("no rule named {name}"))?;
            let predicate = match &rule.metric {
                Metric::MissingValues {
                    column, missing, ..
                } => {
                    ident(column).is_null().or(text(column)
                        .in_list(missing.iter().map(|v| lit(v.clone())).collect(), false))
                }
                Metric::InvalidValues {
                    column, accepted, ..
                } => ident(column).is_not_null().and(
                    text(column).in_list(accepted.iter().map(|v| lit(v.clone())).collect(), true),
                ),
                Metric::PatternMismatch { column, pattern } => {
                    regex::Regex::new(pattern).map_err(|e| {
                        format!("the pattern '{pattern}' is not a valid regular expression: {e}")
                    })?;
                    ident(column).is_not_null().and(!regexp_like(
                        text(column),
                        lit(pattern.clone()),
                        None,
                    ))
                }
                Metric::OutOfRange {
                    column,
                    min: lo,
                    max: hi,
                } => {
                    let field = schema.field_with_name(column).map_err(|e| e.to_string())?;
                    if !field.data_type().is_numeric() {
                        return Err(format!(
                            "a range check needs a numeric column; '{column}' is {}",
                            field.data_type()
                        ));
                    }
                    let v = cast(ident(column), DataType::Float64);
                    let low = lo.map(|lo| v.clone().lt(lit(lo)));
                    let high = hi.map(|hi| v.gt(lit(hi)));
                    match (low, high) {
                        (Some(a), Some(b)) => a.or(b),
                        (Some(a), None) | (None, Some(a)) => a,
                        (None, None) => lit(false),
                    }
                }
                other => return Err(format!("no predicate for {other:?}")),
            };
            all().filter(predicate).build().map_err(|e| e.to_string())?
        }
    };
    Ok(e)
}

fn all_not_null(cols: &[String]) -> Expr {
    cols.iter()
        .map(|c| ident(c).is_not_null())
        .reduce(Expr::and)
        .unwrap_or(lit(true))
}

/// Runs one aggregate query computing `aggs` over `provider`. Returns one value per figure.
pub async fn scan(
    ctx: &SessionContext,
    provider: Arc<dyn TableProvider>,
    aggs: &[Agg],
    rules: &BTreeMap<String, &Rule>,
) -> Result<HashMap<Agg, ScalarValue>, String> {
    if aggs.is_empty() {
        return Ok(HashMap::new());
    }
    let schema = provider.schema();
    let exprs = aggs
        .iter()
        .enumerate()
        .map(|(i, a)| agg_expr(a, rules, &schema).map(|e| e.alias(format!("m{i}"))))
        .collect::<Result<Vec<_>, String>>()?;
    let df = ctx
        .read_table(provider)
        .and_then(|df| df.aggregate(vec![], exprs))
        .map_err(|e| e.to_string())?;
    let batches = df.collect().await.map_err(|e| e.to_string())?;
    let batch = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .ok_or("the aggregate returned no row")?;
    let mut out = HashMap::new();
    for (i, a) in aggs.iter().enumerate() {
        let v = ScalarValue::try_from_array(batch.column(i), 0).map_err(|e| e.to_string())?;
        out.insert(a.clone(), v);
    }
    Ok(out)
}

/// A figure as a number (timestamps as microseconds since the epoch).
pub fn as_f64(v: &ScalarValue) -> Option<f64> {
    if v.is_null() {
        return None;
    }
    match v.data_type() {
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => {
            match v
                .cast_to(&DataType::Timestamp(TimeUnit::Microsecond, None))
                .ok()?
            {
                ScalarValue::TimestampMicrosecond(Some(us), _) => Some(us as f64),
                _ => None,
            }
        }
        _ => match v.cast_to(&DataType::Float64).ok()? {
            ScalarValue::Float64(Some(f)) => Some(f),
            _ => None,
        },
    }
}

/// Computes a rule's measurement from the figures. `now_us` is the run's start.
pub fn measure(
    rule: &Rule,
    values: &HashMap<Agg, ScalarValue>,
    stats_answered: &dyn Fn(&Agg) -> bool,
    now_us: i64,
) -> Result<Measured, String> {
    let needs_list = needs(rule, values);
    let from_stats = !needs_list.is_empty() && needs_list.iter().all(stats_answered);
    let get = |a: &Agg| -> Result<Option<f64>, String> {
        values
            .get(a)
            .map(as_f64)
            .ok_or_else(|| format!("the figure {a:?} was not computed"))
    };
    let count = |a: &Agg| -> Result<i64, String> { Ok(get(a)?.unwrap_or(0.0) as i64) };
    let counted = |n: i64, percent: bool| -> Result<Measured, String> {
        if percent {
            let rows = count(&Agg::Rows)?;
            let p = if rows == 0 {
                0.0
            } else {
                n as f64 * 100.0 / rows as f64
            };
            Ok(Measured {
                value: Some(p),
                text: format!("{}%", crate::model::number(p)),
                failing: Some(n),
                from_stats,
            })
        } else {
            Ok(Measured {
                value: Some(n as f64),
                text: n.to_string(),
                failing: Some(n),
                from_stats,
            })
        }
    };
    let key = Agg::CountIf(rule.name.clone());
    match &rule.metric {
        Metric::RowCount => {
            let n = count(&Agg::Rows)?;
            Ok(Measured {
                value: Some(n as f64),
                text: n.to_string(),
                failing: None,
                from_stats,
            })
        }
        Metric::NullValues { column, percent } => {
            counted(count(&Agg::Nulls(column.clone()))?, *percent)
        }
        Metric::MissingValues { percent, .. } | Metric::InvalidValues { percent, .. } => {
            counted(count(&key)?, *percent)
        }
        Metric::PatternMismatch { .. } => counted(count(&key)?, false),
        Metric::DuplicateValues { columns, percent } => {
            let distinct = count(&Agg::Distinct(columns.clone()))?;
            let n = if columns.len() == 1 {
                count(&Agg::NonNull(columns[0].clone()))? - distinct
            } else {
                let complete = count(&Agg::AllNonNull(columns.clone()))?;
                let rows = count(&Agg::Rows)?;
                (rows - complete) + (complete - distinct)
            };
            counted(n, *percent)
        }
        Metric::OutOfRange { .. } => {
            let n = if values.contains_key(&key) {
                count(&key)?
            } else {
                0
            };
            counted(n, false)
        }
        Metric::Min(c) | Metric::Max(c) => {
            let agg = if matches!(rule.metric, Metric::Min(_)) {
                Agg::Min(c.clone())
            } else {
                Agg::Max(c.clone())
            };
            let raw = values.get(&agg).cloned().unwrap_or(ScalarValue::Null);
            Ok(Measured {
                value: as_f64(&raw),
                text: if raw.is_null() {
                    "NULL".into()
                } else {
                    raw.to_string()
                },
                failing: None,
                from_stats,
            })
        }
        Metric::DistinctCount(c) => {
            let n = count(&Agg::Distinct(vec![c.clone()]))?;
            Ok(Measured {
                value: Some(n as f64),
                text: n.to_string(),
                failing: None,
                from_stats,
            })
        }
        Metric::DataAgeMinutes(c) => {
            let newest = get(&Agg::Max(c.clone()))?;
            Ok(match newest {
                None => Measured {
                    value: None,
                    text: "no data".into(),
                    failing: None,
                    from_stats,
                },
                Some(us) => {
                    let minutes = (now_us as f64 - us) / 60_000_000.0;
                    Measured {
                        value: Some(minutes),
                        text: format!("{} min", crate::model::number(minutes.max(0.0))),
                        failing: None,
                        from_stats,
                    }
                }
            })
        }
        Metric::CommitAgeMinutes | Metric::SchemaDrift | Metric::Sql { .. } => {
            Err("measured elsewhere".into())
        }
    }
}
