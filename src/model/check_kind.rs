//! The check kinds ODCS quality entries name: library metrics (`nullValues`, …) and the older
//! `rule` names, as the kinds lakemeta's checks have.

/// The check kind a library metric or an older `rule` name stands for (`None`: a name lakemeta
/// does not know). `invalidValues` with a pattern is a `pattern` check.
pub fn metric_kind(name: &str, has_pattern: bool) -> Option<&'static str> {
    Some(match name {
        "nullValues" | "nullCheck" | "notNull" | "not_null" => "not_null",
        "duplicateValues" | "duplicateCount" | "uniqueCheck" | "unique" => "unique",
        "invalidValues" | "validValues" if has_pattern => "pattern",
        "invalidValues" | "validValues" | "accepted_values" => "accepted_values",
        "rowCount" | "row_count" => "row_count",
        "missingValues" | "completeness" => "completeness",
        "distinctCount" | "distinctValues" | "distinct_count" => "distinct_count",
        "min" | "minValue" => "min",
        "max" | "maxValue" => "max",
        "range" => "range",
        "pattern" => "pattern",
        "freshness" => "freshness",
        "unclassifiedPii" | "unclassified_pii" => "unclassified_pii",
        _ => return None,
    })
}

/// True when the metric measures one column (everything but the row count and the check for
/// unclassified PII, which may be a table's or a column's).
pub fn is_column_metric(name: &str) -> bool {
    metric_kind(name, false).is_some_and(|k| !matches!(k, "row_count" | "unclassified_pii"))
}
