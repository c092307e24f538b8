//! A contract's checks as rules the runner can evaluate: what to measure and the bound the
//! measurement must meet.

use serde_json::Value;

use crate::model::{Bound, Check, DataProduct, bound};

/// The quality dimension a check counts towards in the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    /// Nulls and missing values (30 points).
    Completeness,
    /// Age of the data (30 points).
    Freshness,
    /// Duplicates of keys (20 points).
    Uniqueness,
    /// Valid values, ranges, volumes, schema and custom checks (20 points).
    Accuracy,
}

impl Dimension {
    /// The name stored in `quality_results.dimension`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Completeness => "completeness",
            Dimension::Freshness => "freshness",
            Dimension::Uniqueness => "uniqueness",
            Dimension::Accuracy => "accuracy",
        }
    }
}

/// What a rule measures.
#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    /// Number of rows.
    RowCount,
    /// Nulls in a column (count, or percent of rows).
    NullValues {
        /// Column.
        column: String,
        /// Measure in percent of rows.
        percent: bool,
    },
    /// Nulls plus values listed as "missing" (e.g. `''`, `'N/A'`).
    MissingValues {
        /// Column.
        column: String,
        /// Values that count as missing besides NULL.
        missing: Vec<String>,
        /// Measure in percent of rows.
        percent: bool,
    },
    /// Non-null values that occur more than once (rows minus distinct values), over one or more
    /// columns. With several columns (a composite key) a row with a null key part counts too.
    DuplicateValues {
        /// Columns.
        columns: Vec<String>,
        /// Measure in percent of rows.
        percent: bool,
    },
    /// Non-null values outside the accepted list.
    InvalidValues {
        /// Column.
        column: String,
        /// The accepted values.
        accepted: Vec<String>,
        /// Measure in percent of rows.
        percent: bool,
    },
    /// Non-null values that do not match a regular expression.
    PatternMismatch {
        /// Column.
        column: String,
        /// The regular expression (must match somewhere in the value; anchor it for a full
        /// match).
        pattern: String,
        /// Measure in percent of rows.
        percent: bool,
    },
    /// Non-null values outside the range `min`..`max`.
    OutOfRange {
        /// Column.
        column: String,
        /// Lower end.
        min: Option<RangeEnd>,
        /// Upper end.
        max: Option<RangeEnd>,
        /// Measure in percent of rows.
        percent: bool,
    },
    /// Non-null values whose length in characters is outside `min`..`max`.
    LengthOutOfRange {
        /// Column.
        column: String,
        /// Fewest characters.
        min: Option<u64>,
        /// Most characters.
        max: Option<u64>,
    },
    /// Smallest value.
    Min(String),
    /// Largest value.
    Max(String),
    /// Number of distinct non-null values.
    DistinctCount(String),
    /// Minutes since the newest value of a timestamp column.
    DataAgeMinutes(String),
    /// Minutes since the last Delta commit.
    CommitAgeMinutes,
    /// Differences between the table's real schema and the contract.
    SchemaDrift,
    /// Columns whose sampled values look like a PII type they are not classified (or tagged)
    /// as: every column of the product, or one.
    UnclassifiedPii {
        /// The one column checked, `None` for all of them.
        column: Option<String>,
        /// How many rows are sampled.
        sample: usize,
    },
    /// A custom SQL query: failing rows, or one metric when the rule has a bound.
    Sql {
        /// The query, `{object}` / `${object}` standing for the product.
        query: String,
    },
}

/// Rows an `unclassified_pii` check samples unless its `arguments.sample` says otherwise.
pub const DEFAULT_PII_SAMPLE: usize = 10_000;

/// One evaluable check.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The check's name, unique within the product.
    pub name: String,
    /// Its kind (not_null, unique, primary_key, accepted_values, pattern, range, min, max,
    /// distinct_count, row_count, completeness, freshness, commit_freshness, schema, sql).
    pub kind: String,
    /// The column, empty for table-level checks.
    pub column: String,
    /// What is measured.
    pub metric: Metric,
    /// The bound; `None` for a custom SQL check that returns failing rows (it passes when there
    /// are none) and for the schema check (it passes without drift).
    pub bound: Option<Bound>,
    /// Score dimension.
    pub dimension: Dimension,
}

/// Why a check cannot be evaluated as declared.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleError {
    /// The check's name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// Its column.
    pub column: String,
    /// The reason, naming the fix.
    pub message: String,
    /// True for a check lakemeta keeps but does not run (text, another engine's check): it is
    /// reported as `skipped` rather than as an error.
    pub not_run: bool,
}

/// The rules of a product's checks; checks that cannot be understood come back as errors (they
/// are reported as `error` results, and the others still run).
pub fn rules_of(product: &DataProduct) -> Vec<Result<Rule, RuleError>> {
    product.checks.iter().map(|c| rule_of(product, c)).collect()
}

fn rule_of(product: &DataProduct, check: &Check) -> Result<Rule, RuleError> {
    let fail = |message: String| RuleError {
        name: check.name.clone(),
        kind: check.kind.clone(),
        column: check.column.clone(),
        message,
        not_run: false,
    };
    let def: Value = if check.definition.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&check.definition)
            .map_err(|e| fail(format!("the stored definition is not JSON ({e})")))?
    };
    if let Some(message) = not_run_reason(&check.kind, &def) {
        return Err(RuleError {
            not_run: true,
            ..fail(message)
        });
    }
    let col = check.column.clone();
    let need_column = || {
        if col.is_empty() {
            Err(fail(format!(
                "a {} check needs a column: declare it under a schema property",
                check.kind
            )))
        } else {
            Ok(col.clone())
        }
    };
    let percent = def.get("unit").and_then(Value::as_str) == Some("percent");
    let declared = bound(&def).map_err(fail)?;
    let zero = Some(declared.clone().unwrap_or(Bound::Eq(0.0)));
    let (metric, bound, dimension) = match check.kind.as_str() {
        "not_null" => (
            Metric::NullValues {
                column: need_column()?,
                percent,
            },
            zero,
            Dimension::Completeness,
        ),
        "completeness" => {
            let missing: Vec<String> = def
                .get("arguments")
                .and_then(|a| a.get("missingValues"))
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default();
            let limit = def.get("maxNullPercent").and_then(Value::as_f64);
            let (percent, bound) = match (declared.clone(), limit) {
                (Some(b), _) => (percent, b),
                (None, Some(l)) => (true, Bound::Le(l)),
                (None, None) => (true, Bound::Le(5.0)),
            };
            let column = need_column()?;
            let metric = if missing.is_empty() {
                Metric::NullValues { column, percent }
            } else {
                Metric::MissingValues {
                    column,
                    missing,
                    percent,
                }
            };
            (metric, Some(bound), Dimension::Completeness)
        }
        "unique" => (
            Metric::DuplicateValues {
                // a table-level entry names its combination in arguments.properties
                columns: match def
                    .get("arguments")
                    .and_then(|a| a.get("properties"))
                    .and_then(|v| serde_json::from_value::<Vec<String>>(v.clone()).ok())
                    .filter(|c| col.is_empty() && !c.is_empty())
                {
                    Some(columns) => columns,
                    None => vec![need_column()?],
                },
                percent,
            },
            zero,
            Dimension::Uniqueness,
        ),
        "primary_key" => {
            let columns: Vec<String> = def
                .get("columns")
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .filter(|c: &Vec<String>| !c.is_empty())
                .or_else(|| (!col.is_empty()).then(|| vec![col.clone()]))
                .ok_or_else(|| fail("a primary_key check needs its columns".into()))?;
            (
                Metric::DuplicateValues {
                    columns,
                    percent: false,
                },
                zero,
                Dimension::Uniqueness,
            )
        }
        "accepted_values" => {
            let column = need_column()?;
            let from_def: Option<Vec<Value>> = def
                .get("arguments")
                .and_then(|a| a.get("validValues"))
                .or_else(|| def.get("validValues"))
                .and_then(|v| v.as_array().cloned());
            let accepted: Vec<String> = match from_def {
                Some(values) => values.iter().map(plain).collect(),
                None => product
                    .columns
                    .iter()
                    .find(|c| c.name == column)
                    .map(|c| c.accepted_values.clone())
                    .unwrap_or_default(),
            };
            if accepted.is_empty() {
                return Err(fail(
                    "an accepted_values check needs arguments.validValues: list the values".into(),
                ));
            }
            (
                Metric::InvalidValues {
                    column,
                    accepted,
                    percent,
                },
                zero,
                Dimension::Accuracy,
            )
        }
        "pattern" => {
            let pattern = def
                .get("arguments")
                .and_then(|a| a.get("pattern"))
                .or_else(|| def.get("pattern"))
                .and_then(Value::as_str)
                .ok_or_else(|| fail("a pattern check needs arguments.pattern".into()))?;
            (
                Metric::PatternMismatch {
                    column: need_column()?,
                    pattern: pattern.to_string(),
                    percent,
                },
                zero,
                Dimension::Accuracy,
            )
        }
        "range" => {
            let min = RangeEnd::of(&def, "min").map_err(&fail)?;
            let max = RangeEnd::of(&def, "max").map_err(&fail)?;
            if min.is_none() && max.is_none() {
                return Err(fail("a range check needs min, max or both".into()));
            }
            (
                Metric::OutOfRange {
                    column: need_column()?,
                    min,
                    max,
                    percent,
                },
                zero,
                Dimension::Accuracy,
            )
        }
        "length" => {
            let end = |k: &str| def.get(k).and_then(Value::as_u64);
            let (min, max) = (end("min"), end("max"));
            if min.is_none() && max.is_none() {
                return Err(fail("a length check needs min, max or both".into()));
            }
            (
                Metric::LengthOutOfRange {
                    column: need_column()?,
                    min,
                    max,
                },
                zero,
                Dimension::Accuracy,
            )
        }
        "min" | "max" | "distinct_count" => {
            let column = need_column()?;
            let b = declared.clone().ok_or_else(|| {
                fail(format!(
                    "a {} check needs a bound: mustBe, mustBeGreaterThan, mustBeBetween, …",
                    check.kind
                ))
            })?;
            let metric = match check.kind.as_str() {
                "min" => Metric::Min(column),
                "max" => Metric::Max(column),
                _ => Metric::DistinctCount(column),
            };
            (metric, Some(b), Dimension::Accuracy)
        }
        "row_count" => {
            let b = declared.clone().unwrap_or(Bound::Gt(0.0));
            (Metric::RowCount, Some(b), Dimension::Accuracy)
        }
        "freshness" => {
            let minutes = def.get("maxMinutes").and_then(Value::as_f64);
            let b = declared
                .clone()
                .or(minutes.map(Bound::Le))
                .unwrap_or(Bound::Le(60.0));
            (
                Metric::DataAgeMinutes(need_column()?),
                Some(b),
                Dimension::Freshness,
            )
        }
        "commit_freshness" => {
            let minutes = def.get("maxMinutes").and_then(Value::as_f64);
            let b = declared
                .clone()
                .or(minutes.map(Bound::Le))
                .unwrap_or(Bound::Le(60.0));
            (Metric::CommitAgeMinutes, Some(b), Dimension::Freshness)
        }
        "schema" => (Metric::SchemaDrift, None, Dimension::Accuracy),
        "unclassified_pii" => {
            let sample = match def.get("arguments").and_then(|a| a.get("sample")) {
                None => DEFAULT_PII_SAMPLE,
                Some(v) => v
                    .as_u64()
                    .filter(|n| (1..=10_000_000).contains(n))
                    .map(|n| n as usize)
                    .ok_or_else(|| {
                        fail(format!(
                            "arguments.sample is {v}: give a number of rows from 1 to \
                             10000000 (default {DEFAULT_PII_SAMPLE})"
                        ))
                    })?,
            };
            (
                Metric::UnclassifiedPii {
                    column: (!col.is_empty()).then(|| col.clone()),
                    sample,
                },
                zero,
                Dimension::Accuracy,
            )
        }
        "sql" | "custom" => {
            let query = def
                .get("query")
                .and_then(Value::as_str)
                .ok_or_else(|| fail("a sql check needs a 'query'".into()))?;
            (
                Metric::Sql {
                    query: query.to_string(),
                },
                declared.clone(),
                Dimension::Accuracy,
            )
        }
        other => {
            return Err(fail(format!(
                "unknown check kind '{other}': use nullValues, missingValues, duplicateValues, \
                 invalidValues (validValues or pattern), rowCount, min, max, distinctCount, \
                 unclassified_pii, or type: sql"
            )));
        }
    };
    Ok(Rule {
        name: check.name.clone(),
        kind: check.kind.clone(),
        column: col,
        metric,
        bound,
        dimension,
    })
}

/// A JSON scalar as text (`'a'` → `a`, `3` → `3`).
/// Why lakemeta keeps a check without running it, for the kinds it does not run: `text` (for
/// people), `custom` (another engine's), `not_run` (a library metric lakemeta cannot apply
/// where the contract puts it, or a `rule` it does not know).
pub fn not_run_reason(kind: &str, def: &Value) -> Option<String> {
    let text = |k: &str| {
        def.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    match kind {
        "text" => Some(
            "a text check, written for people to read: lakemeta keeps it with the contract and \
             does not run it"
                .into(),
        ),
        "custom" => {
            let engine = text("engine");
            Some(if engine.is_empty() {
                "a custom check names no engine: lakemeta keeps it and does not run it; write it \
                 as 'type: sql' for lakemeta to run"
                    .into()
            } else {
                format!(
                    "a check for {engine}: not run by lakemeta (run it with {engine}); write it as \
                     'type: sql' for lakemeta to run"
                )
            })
        }
        "not_run" => {
            let metric = {
                let m = text("metric");
                if m.is_empty() { text("rule") } else { m }
            };
            Some(if crate::model::is_column_metric(&metric) {
                format!(
                    "'{metric}' is about one column and this check is the table's: not run; put \
                     it under the column's quality for lakemeta to run it"
                )
            } else {
                format!(
                    "lakemeta does not know the quality rule '{metric}': not run; use a metric \
                     (nullValues, missingValues, invalidValues, duplicateValues, rowCount) or \
                     'type: sql'"
                )
            })
        }
        _ => None,
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One end of a range check: a number, or a date, timestamp or time as the contract writes it
/// (compared as the column's type), inclusive unless said.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeEnd {
    /// The bound.
    pub value: RangeValue,
    /// True when the bound itself is outside the range (`exclusiveMinimum`).
    pub exclusive: bool,
}

/// The value of a range's end.
#[derive(Debug, Clone, PartialEq)]
pub enum RangeValue {
    /// A number, for numeric columns.
    Number(f64),
    /// A date, timestamp or time, for columns of those types.
    Text(String),
}

impl RangeEnd {
    /// The end `key` (`min` or `max`) of a range check's definition, with `{key}Exclusive`.
    pub fn of(def: &Value, key: &str) -> Result<Option<Self>, String> {
        let value =
            match def.get(key) {
                None | Some(Value::Null) => return Ok(None),
                Some(Value::String(s)) => RangeValue::Text(s.clone()),
                Some(v) => RangeValue::Number(v.as_f64().ok_or_else(|| {
                    format!("'{key}' of a range needs a number or a date, not {v}")
                })?),
            };
        let exclusive = def
            .get(format!("{key}Exclusive"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(Some(RangeEnd { value, exclusive }))
    }
}
