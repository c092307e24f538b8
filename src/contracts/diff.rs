//! Differences between two versions of a contract, each classed as breaking (a consumer that
//! relied on the old version can break) or not. A breaking change needs a major version bump.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

use super::types::arrow_type;
use crate::model::{Bound, Check, Column, DataProduct, bound};

/// One difference between two contract versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractChange {
    /// True when consumers relying on the old version can break.
    pub breaking: bool,
    /// What changed, e.g. `column 'order_total' removed`.
    pub what: String,
}

impl fmt::Display for ContractChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = if self.breaking {
            "breaking"
        } else {
            "non-breaking"
        };
        write!(f, "{tag}: {}", self.what)
    }
}

fn change(breaking: bool, what: String) -> ContractChange {
    ContractChange { breaking, what }
}

/// Every difference from `before` to `after`, breaking ones first.
pub fn diff_products(before: &DataProduct, after: &DataProduct) -> Vec<ContractChange> {
    let mut out = Vec::new();
    columns(&before.columns, &after.columns, &mut out);
    sla(before, after, &mut out);
    checks(&before.checks, &after.checks, &mut out);
    if before.location != after.location {
        out.push(change(
            true,
            format!(
                "location moved from {} to {}",
                before.location, after.location
            ),
        ));
    }
    if before.format != after.format {
        out.push(change(
            true,
            format!("format changed from {} to {}", before.format, after.format),
        ));
    }
    for a in &before.access_patterns {
        if !after.access_patterns.contains(a) {
            out.push(change(true, format!("access pattern '{a}' removed")));
        }
    }
    for a in &after.access_patterns {
        if !before.access_patterns.contains(a) {
            out.push(change(false, format!("access pattern '{a}' added")));
        }
    }
    if before.owner != after.owner {
        out.push(change(
            false,
            format!("owner changed from {} to {}", before.owner, after.owner),
        ));
    }
    if before.description != after.description {
        out.push(change(false, "description changed".into()));
    }
    if before.tags != after.tags {
        out.push(change(
            false,
            format!(
                "tags changed from [{}] to [{}]",
                before.tags.join(", "),
                after.tags.join(", ")
            ),
        ));
    }
    if out.is_empty() && before.contract_spec != after.contract_spec {
        out.push(change(
            false,
            "the contract text changed (nothing lakemeta interprets)".into(),
        ));
    }
    out.sort_by_key(|c| !c.breaking);
    out
}

fn columns(before: &[Column], after: &[Column], out: &mut Vec<ContractChange>) {
    let after_by: BTreeMap<&str, &Column> = after.iter().map(|c| (c.name.as_str(), c)).collect();
    for b in before {
        let Some(a) = after_by.get(b.name.as_str()) else {
            out.push(change(true, format!("column '{}' removed", b.name)));
            continue;
        };
        let n = &b.name;
        if a.data_type != b.data_type {
            if widens(&b.data_type, &a.data_type) {
                out.push(change(
                    false,
                    format!(
                        "column '{n}' widened from {} to {}",
                        b.data_type, a.data_type
                    ),
                ));
            } else {
                out.push(change(
                    true,
                    format!(
                        "column '{n}' changed type from {} to {}",
                        b.data_type, a.data_type
                    ),
                ));
            }
        }
        if b.nullable && !a.nullable {
            out.push(change(
                true,
                format!(
                    "column '{n}' became required (writers and existing rows with nulls break)"
                ),
            ));
        }
        if !b.nullable && a.nullable {
            out.push(change(
                true,
                format!("column '{n}' became optional (consumers relying on values break)"),
            ));
        }
        if b.unique && !a.unique {
            out.push(change(true, format!("column '{n}' is no longer unique")));
        }
        if !b.unique && a.unique {
            out.push(change(false, format!("column '{n}' is now unique")));
        }
        if b.primary_key != a.primary_key {
            out.push(change(
                b.primary_key,
                format!(
                    "column '{n}' {} the primary key",
                    if b.primary_key { "left" } else { "joined" }
                ),
            ));
        }
        let (bv, av): (BTreeSet<&String>, BTreeSet<&String>) = (
            b.accepted_values.iter().collect(),
            a.accepted_values.iter().collect(),
        );
        if !bv.is_empty() || !av.is_empty() {
            let added: Vec<&str> = av.difference(&bv).map(|s| s.as_str()).collect();
            let removed: Vec<&str> = bv.difference(&av).map(|s| s.as_str()).collect();
            if bv.is_empty() {
                out.push(change(
                    false,
                    format!("column '{n}' now accepts only {}", added.join(", ")),
                ));
            } else if av.is_empty() {
                out.push(change(
                    true,
                    format!("column '{n}' no longer restricts its values"),
                ));
            } else {
                if !added.is_empty() {
                    out.push(change(
                        true,
                        format!(
                            "column '{n}' accepts new values: {} (consumers handling only the \
                             old ones break)",
                            added.join(", ")
                        ),
                    ));
                }
                if !removed.is_empty() {
                    out.push(change(
                        false,
                        format!("column '{n}' no longer accepts: {}", removed.join(", ")),
                    ));
                }
            }
        }
        if b.description != a.description {
            out.push(change(false, format!("column '{n}' description changed")));
        }
        if b.tags != a.tags || b.classification != a.classification {
            out.push(change(
                false,
                format!("column '{n}' tags or classification changed"),
            ));
        }
    }
    let before_names: BTreeSet<&str> = before.iter().map(|c| c.name.as_str()).collect();
    for a in after {
        if !before_names.contains(a.name.as_str()) {
            out.push(change(
                false,
                format!(
                    "column '{}' added ({}{})",
                    a.name,
                    a.data_type,
                    if a.nullable { "" } else { ", required" }
                ),
            ));
        }
    }
}

/// True when every value of type `from` is a value of type `to` (int → bigint, float →
/// double, int → double, decimal precision grown without losing integer digits or scale).
pub fn widens(from: &str, to: &str) -> bool {
    use arrow::datatypes::DataType::*;
    let (Some(f), Some(t)) = (arrow_type(from), arrow_type(to)) else {
        return false;
    };
    match (f, t) {
        (Int8, Int16 | Int32 | Int64 | Float64) => true,
        (Int16, Int32 | Int64 | Float64) => true,
        (Int32, Int64 | Float64) => true,
        (Float32, Float64) => true,
        (Date32, Timestamp(_, _)) => false,
        (Decimal128(p1, s1), Decimal128(p2, s2)) => {
            s2 >= s1 && (p2 as i16 - s2 as i16) >= (p1 as i16 - s1 as i16)
        }
        _ => false,
    }
}

fn sla(before: &DataProduct, after: &DataProduct, out: &mut Vec<ContractChange>) {
    // freshness: lower is stricter
    match (before.sla_freshness_minutes, after.sla_freshness_minutes) {
        (Some(b), None) => out.push(change(true, format!("freshness SLA of {b} min removed"))),
        (Some(b), Some(a)) if a > b => out.push(change(
            true,
            format!("freshness SLA loosened from {b} to {a} min"),
        )),
        (Some(b), Some(a)) if a < b => out.push(change(
            false,
            format!("freshness SLA tightened from {b} to {a} min"),
        )),
        (None, Some(a)) => out.push(change(false, format!("freshness SLA of {a} min added"))),
        _ => {}
    }
    // percentages: higher is stricter
    for (what, b, a) in [
        (
            "availability",
            before.sla_availability_percent,
            after.sla_availability_percent,
        ),
        (
            "completeness",
            before.sla_completeness_percent,
            after.sla_completeness_percent,
        ),
    ] {
        match (b, a) {
            (Some(b), None) => out.push(change(true, format!("{what} SLA of {b} % removed"))),
            (Some(b), Some(a)) if a < b => out.push(change(
                true,
                format!("{what} SLA loosened from {b} % to {a} %"),
            )),
            (Some(b), Some(a)) if a > b => out.push(change(
                false,
                format!("{what} SLA tightened from {b} % to {a} %"),
            )),
            (None, Some(a)) => out.push(change(false, format!("{what} SLA of {a} % added"))),
            _ => {}
        }
    }
}

/// Checks that the columns and SLA already account for are not compared twice.
fn interpreted(c: &Check) -> bool {
    match c.kind.as_str() {
        "schema" | "freshness" | "commit_freshness" => false,
        "not_null" | "unique" => !c.definition.is_empty(),
        "completeness" => !c.definition.contains("maxNullPercent"),
        _ => true,
    }
}

fn checks(before: &[Check], after: &[Check], out: &mut Vec<ContractChange>) {
    let after_by: BTreeMap<&str, &Check> = after
        .iter()
        .filter(|c| interpreted(c))
        .map(|c| (c.name.as_str(), c))
        .collect();
    let before_by: BTreeMap<&str, &Check> = before
        .iter()
        .filter(|c| interpreted(c))
        .map(|c| (c.name.as_str(), c))
        .collect();
    for (name, b) in &before_by {
        let Some(a) = after_by.get(name) else {
            out.push(change(true, format!("check '{name}' removed")));
            continue;
        };
        if same_definition(a, b) && a.kind == b.kind && a.column == b.column {
            continue;
        }
        let looser = looser_check(b, a);
        out.push(change(
            looser,
            format!(
                "check '{name}' {}",
                if looser { "loosened" } else { "changed" }
            ),
        ));
    }
    for name in after_by.keys() {
        if !before_by.contains_key(name) {
            out.push(change(false, format!("check '{name}' added")));
        }
    }
}

/// True when two checks' definitions say the same: the JSON compared as values, so the order
/// of keys (which an export or another tool may change) does not count as a change.
fn same_definition(a: &Check, b: &Check) -> bool {
    if a.definition == b.definition {
        return true;
    }
    match (
        serde_json::from_str::<Value>(&a.definition),
        serde_json::from_str::<Value>(&b.definition),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// True when the new check accepts something the old one rejected.
fn looser_check(before: &Check, after: &Check) -> bool {
    if before.kind != after.kind || before.column != after.column {
        return true;
    }
    let parse = |c: &Check| -> Value { serde_json::from_str(&c.definition).unwrap_or(Value::Null) };
    let (b, a) = (parse(before), parse(after));
    let values = |v: &Value| -> Option<BTreeSet<String>> {
        v.get("arguments")
            .and_then(|x| x.get("validValues"))
            .or_else(|| v.get("validValues"))
            .and_then(Value::as_array)
            .map(|xs| xs.iter().map(|x| x.to_string()).collect())
    };
    if let (Some(bv), Some(av)) = (values(&b), values(&a))
        && !av.is_subset(&bv)
    {
        return true;
    }
    if before.kind == "range" {
        // an end as a number (dates, timestamps and times as microseconds) and whether it is
        // exclusive
        let end = |v: &Value, key: &str| -> Option<(f64, bool)> {
            let x = v.get(key)?;
            let n = x
                .as_f64()
                .or_else(|| x.as_str().and_then(temporal_micros))?;
            let exclusive = v
                .get(format!("{key}Exclusive"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            Some((n, exclusive))
        };
        let looser = |key: &str, wider: fn(f64, f64) -> bool| match (end(&b, key), end(&a, key)) {
            (Some((x, xe)), Some((y, ye))) => wider(y, x) || (y == x && xe && !ye),
            (Some(_), None) => true,
            _ => false,
        };
        return looser("min", |y, x| y < x) || looser("max", |y, x| y > x);
    }
    match (bound(&b).ok().flatten(), bound(&a).ok().flatten()) {
        (Some(x), Some(y)) => accepts_more(&x, &y),
        (Some(_), None) => true,
        _ => false,
    }
}

/// True when `new` holds for a value `old` rejects.
fn accepts_more(old: &Bound, new: &Bound) -> bool {
    let text = |b: &Bound| matches!(b, Bound::IsText(_) | Bound::IsNotText(_));
    if text(old) || text(new) {
        // text bounds: any change may accept a value the old one rejected
        return old != new;
    }
    let ends = |b: &Bound| -> Vec<f64> {
        match *b {
            Bound::Eq(a)
            | Bound::Ne(a)
            | Bound::Lt(a)
            | Bound::Le(a)
            | Bound::Gt(a)
            | Bound::Ge(a) => {
                vec![a]
            }
            Bound::Between(a, c) | Bound::NotBetween(a, c) => vec![a, c],
            Bound::IsText(_) | Bound::IsNotText(_) => Vec::new(),
        }
    };
    let mut probes = vec![-1e300, 1e300];
    for e in ends(old).into_iter().chain(ends(new)) {
        let step = e.abs().max(1.0) * 1e-9;
        probes.extend([e - step, e, e + step]);
    }
    probes.iter().any(|v| new.holds(*v) && !old.holds(*v))
}

/// The major version of a contract version (`1.2.0` → 1, `v2` → 2); `None` when it does not
/// start with a number.
pub fn major_version(version: &str) -> Option<u64> {
    semver(version).map(|v| v.0)
}

fn semver(version: &str) -> Option<(u64, u64, u64)> {
    let v = version.trim().trim_start_matches(['v', 'V']);
    let mut parts = v.split(['.', '-', '+']);
    let n = |p: Option<&str>| p.and_then(|x| x.parse::<u64>().ok());
    let major = n(parts.next())?;
    Some((
        major,
        n(parts.next()).unwrap_or(0),
        n(parts.next()).unwrap_or(0),
    ))
}

/// Checks that a new contract version may replace the current one: a breaking change needs a
/// higher major version, and versions never go down. The error lists every breaking change.
pub fn check_version_bump(before: &DataProduct, after: &DataProduct) -> Result<(), String> {
    let changes = diff_products(before, after);
    let (bv, av) = (&before.contract_version, &after.contract_version);
    if let (Some(b), Some(a)) = (semver(bv), semver(av))
        && a < b
    {
        return Err(format!(
            "the contract version goes down from {bv} to {av}; a new version must be higher"
        ));
    }
    let breaking: Vec<&ContractChange> = changes.iter().filter(|c| c.breaking).collect();
    if breaking.is_empty() {
        return Ok(());
    }
    let bumped = match (major_version(bv), major_version(av)) {
        (Some(b), Some(a)) => a > b,
        _ => false,
    };
    if bumped {
        return Ok(());
    }
    let next = major_version(bv).map_or_else(
        || "a semantic version such as 2.0.0".to_string(),
        |m| format!("{}.0.0", m + 1),
    );
    Err(format!(
        "version {av} makes {} breaking change{} to version {bv} without a major version bump: \
         {}; bump the version to {next} (consumers are told by the major version), or undo \
         the change{}",
        breaking.len(),
        if breaking.len() == 1 { "" } else { "s" },
        breaking
            .iter()
            .map(|c| c.what.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        if breaking.len() == 1 { "" } else { "s" },
    ))
}

/// A date, timestamp or time as written in a contract, in microseconds (since the epoch, or
/// since midnight for a time), for comparing two bounds.
fn temporal_micros(text: &str) -> Option<f64> {
    use arrow::datatypes::{DataType, TimeUnit};
    use datafusion::common::ScalarValue;
    let as_timestamp = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    match ScalarValue::try_from_string(text.to_string(), &as_timestamp) {
        Ok(ScalarValue::TimestampMicrosecond(Some(us), _)) => Some(us as f64),
        _ => match ScalarValue::try_from_string(
            text.to_string(),
            &DataType::Time64(TimeUnit::Microsecond),
        ) {
            Ok(ScalarValue::Time64Microsecond(Some(us))) => Some(us as f64),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening_and_bounds() {
        assert!(widens("int", "bigint"));
        assert!(widens("decimal(12,2)", "decimal(14,2)"));
        assert!(!widens("decimal(12,2)", "decimal(12,4)"));
        assert!(!widens("bigint", "int"));
        assert!(!widens("string", "int"));
        assert!(accepts_more(&Bound::Le(5.0), &Bound::Le(10.0)));
        assert!(!accepts_more(&Bound::Le(10.0), &Bound::Le(5.0)));
        assert!(accepts_more(&Bound::Eq(0.0), &Bound::Le(1.0)));
        assert_eq!(major_version("v2.1"), Some(2));
        assert_eq!(major_version("1.0.0"), Some(1));
        assert_eq!(major_version("draft"), None);
    }

    #[test]
    fn key_order_is_not_a_change() {
        let check = |definition: &str| Check {
            name: "has_rows".into(),
            kind: "row_count".into(),
            column: String::new(),
            definition: definition.into(),
        };
        let a = check(r#"{"name":"has_rows","metric":"rowCount","mustBeGreaterThan":0}"#);
        let b = check(r#"{"mustBeGreaterThan":0,"name":"has_rows","metric":"rowCount"}"#);
        let c = check(r#"{"name":"has_rows","metric":"rowCount","mustBeGreaterThan":1}"#);
        assert!(same_definition(&a, &b));
        assert!(!same_definition(&a, &c));
        let mut out = Vec::new();
        checks(std::slice::from_ref(&a), std::slice::from_ref(&b), &mut out);
        assert!(out.is_empty(), "{out:?}");
        checks(&[a], &[c], &mut out);
        assert_eq!(out.len(), 1);
        assert!(!out[0].breaking, "a higher minimum row count is stricter");
    }
}
