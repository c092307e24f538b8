//! Evaluates the measurable checks of a product together: every figure they need becomes one
//! aggregate of a single fused query (one scan), unless the Delta log's statistics already
//! answer it exactly.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::catalog::TableProvider;
use datafusion::common::ScalarValue;
use datafusion::execution::context::SessionContext;
use datafusion::functions::expr_fn::{character_length, regexp_like};
use datafusion::functions_aggregate::expr_fn::{count, max, min};
use datafusion::logical_expr::{Expr, ExprFunctionExt, cast, ident, lit, try_cast};

use super::distinct::exact_distinct;
use super::rules::{Metric, RangeEnd, RangeValue, Rule};
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
        Metric::LengthOutOfRange { .. } => vec![key()],
        Metric::PatternMismatch { percent, .. } => {
            if *percent {
                vec![key(), Agg::Rows]
            } else {
                vec![key()]
            }
        }
        Metric::OutOfRange {
            column,
            min: lo,
            max: hi,
            percent,
        } => {
            let rows = || {
                if *percent {
                    vec![Agg::Rows]
                } else {
                    Vec::new()
                }
            };
            // the statistics' smallest and largest values answer it when both lie within
            let within = |agg: Agg, end: &RangeEnd, low: bool| {
                known.get(&agg).is_some_and(|v| {
                    use std::cmp::Ordering::{Equal, Greater, Less};
                    match (end_cmp(v, &end.value), low, end.exclusive) {
                        (Some(Greater), true, _) | (Some(Less), false, _) => true,
                        (Some(Equal), _, exclusive) => !exclusive,
                        _ => false,
                    }
                })
            };
            let low_ok = lo
                .as_ref()
                .is_none_or(|lo| within(Agg::Min(column.clone()), lo, true));
            let high_ok = hi
                .as_ref()
                .is_none_or(|hi| within(Agg::Max(column.clone()), hi, false));
            let mut wanted = if low_ok && high_ok {
                vec![Agg::Min(column.clone()), Agg::Max(column.clone())]
            } else {
                vec![key()]
            };
            wanted.extend(rows());
            wanted
        }
        Metric::Min(c) => vec![Agg::Min(c.clone())],
        Metric::Max(c) | Metric::DataAgeMinutes(c) => vec![Agg::Max(c.clone())],
        Metric::DistinctCount(c) => vec![Agg::Distinct(vec![c.clone()])],
        Metric::CommitAgeMinutes
        | Metric::SchemaDrift
        | Metric::Sql { .. }
        | Metric::UnclassifiedPii { .. } => Vec::new(),
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
        | Metric::LengthOutOfRange { column, .. }
        | Metric::OutOfRange { column, .. }
        | Metric::Min(column)
        | Metric::Max(column)
        | Metric::DistinctCount(column)
        | Metric::DataAgeMinutes(column) => vec![column.clone()],
        Metric::DuplicateValues { columns, .. } => columns.clone(),
        Metric::UnclassifiedPii { column, .. } => column.iter().cloned().collect(),
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
                Metric::LengthOutOfRange { column, min, max } => {
                    let len = || character_length(text(column));
                    let short = min.map(|m| len().lt(lit(m as i64)));
                    let long = max.map(|m| len().gt(lit(m as i64)));
                    let outside = match (short, long) {
                        (Some(a), Some(b)) => a.or(b),
                        (Some(a), None) | (None, Some(a)) => a,
                        (None, None) => lit(false),
                    };
                    ident(column).is_not_null().and(outside)
                }
                Metric::PatternMismatch {
                    column, pattern, ..
                } => {
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
                    ..
                } => {
                    let field = schema.field_with_name(column).map_err(|e| e.to_string())?;
                    let outside = |end: &RangeEnd, low: bool| -> Result<Expr, String> {
                        let (v, bound) = range_operands(column, field.data_type(), &end.value)?;
                        Ok(match (low, end.exclusive) {
                            (true, false) => v.lt(bound),
                            (true, true) => v.lt_eq(bound),
                            (false, false) => v.gt(bound),
                            (false, true) => v.gt_eq(bound),
                        })
                    };
                    let low = lo.as_ref().map(|e| outside(e, true)).transpose()?;
                    let high = hi.as_ref().map(|e| outside(e, false)).transpose()?;
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
        Metric::PatternMismatch { percent, .. } => counted(count(&key)?, *percent),
        Metric::LengthOutOfRange { .. } => counted(count(&key)?, false),
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
        Metric::OutOfRange { percent, .. } => {
            let n = if values.contains_key(&key) {
                count(&key)?
            } else {
                0
            };
            counted(n, *percent)
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
        Metric::CommitAgeMinutes
        | Metric::SchemaDrift
        | Metric::Sql { .. }
        | Metric::UnclassifiedPii { .. } => Err("measured elsewhere".into()),
    }
}

/// The column and the bound of one end of a range, as expressions of one type: numbers as
/// doubles; a date, timestamp or time as the column's own type.
fn range_operands(
    column: &str,
    data_type: &DataType,
    end: &RangeValue,
) -> Result<(Expr, Expr), String> {
    match end {
        RangeValue::Number(n) if data_type.is_numeric() => {
            Ok((cast(ident(column), DataType::Float64), lit(*n)))
        }
        RangeValue::Text(t) if data_type.is_temporal() => {
            let bound = ScalarValue::try_from_string(t.clone(), data_type).map_err(|_| {
                format!("the range bound '{t}' is not a {data_type} value for column '{column}'")
            })?;
            Ok((ident(column), lit(bound)))
        }
        // a number, date, timestamp or time held as text (a time of day in a Delta table, a
        // contract's `physicalType: varchar` with a `logicalType: date`): its values read as
        // the bound's type; a value that does not read so is not counted
        RangeValue::Number(n)
            if matches!(
                data_type,
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
            ) =>
        {
            Ok((try_cast(ident(column), DataType::Float64), lit(*n)))
        }
        RangeValue::Text(t)
            if matches!(
                data_type,
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
            ) =>
        {
            let as_type = match (t.contains(':'), t.contains('-')) {
                (true, true) => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                (true, false) => DataType::Time64(TimeUnit::Microsecond),
                _ => DataType::Date32,
            };
            let bound = ScalarValue::try_from_string(t.clone(), &as_type).map_err(|_| {
                format!(
                    "the range bound '{t}' needs a date, timestamp or time column; '{column}' \
                     is {data_type}"
                )
            })?;
            Ok((try_cast(ident(column), as_type), lit(bound)))
        }
        RangeValue::Number(_) => Err(format!(
            "a range of numbers needs a numeric column; '{column}' is {data_type}"
        )),
        RangeValue::Text(t) => Err(format!(
            "the range bound '{t}' needs a date, timestamp or time column; '{column}' is \
             {data_type}"
        )),
    }
}

/// How a known value compares with a range's end (`None`: not comparable).
fn end_cmp(v: &ScalarValue, end: &RangeValue) -> Option<std::cmp::Ordering> {
    match end {
        // a number held as text has its smallest text, not its smallest number, in the log
        RangeValue::Number(n) if v.data_type().is_numeric() => as_f64(v)?.partial_cmp(n),
        RangeValue::Number(_) => None,
        // text (a time a Delta table holds as text) is compared by scanning, not by its order
        RangeValue::Text(t) if v.data_type().is_temporal() => {
            let bound = ScalarValue::try_from_string(t.clone(), &v.data_type()).ok()?;
            v.partial_cmp(&bound)
        }
        RangeValue::Text(_) => None,
    }
}
