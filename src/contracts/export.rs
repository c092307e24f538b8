//! A data product as an ODCS v3.1.0 contract: what lakemeta knows about it (columns, keys,
//! foreign keys, accepted values, ranges, patterns, declared quality checks, SLA, tags, owner,
//! location),
//! written so that ODCS tools (datacontract-cli's `lint` among them) accept it.

use serde_json::{Map, Value, json};

use super::relationships::declared_in;
use super::types::arrow_type;
use crate::error::{Error, Result};
use crate::model::{Check, Column, DataProduct};

/// The ODCS version `export` writes.
pub const EXPORT_API_VERSION: &str = "v3.1.0";

/// The product's contract: the one applied, every field and value of it as written (with the
/// domain added where `apply --domain` gave it), or for a product that has none, the contract
/// lakemeta writes from what it knows, as ODCS v3.1.0 YAML.
pub fn export_contract(p: &DataProduct) -> Result<String> {
    if p.contract_spec.trim().is_empty() {
        generated_contract(p)
    } else {
        applied_contract(p)
    }
}

/// The applied contract: its text as written when it names the product's domain; otherwise the
/// same document with `domain` added (comments and layout are not kept then).
fn applied_contract(p: &DataProduct) -> Result<String> {
    let doc: Value = serde_norway::from_str(&p.contract_spec).map_err(|e| {
        Error::invalid(format!(
            "the stored contract of {}.{} cannot be read ({e}): re-apply the contract file",
            p.domain, p.name
        ))
    })?;
    let Value::Object(mut root) = doc else {
        return Err(Error::invalid(format!(
            "the stored contract of {}.{} is not a mapping: re-apply the contract file",
            p.domain, p.name
        )));
    };
    let named = root.get("domain").and_then(Value::as_str).map(str::trim);
    if named.is_some_and(|d| !d.is_empty()) {
        return Ok(p.contract_spec.clone());
    }
    root.insert("domain".into(), json!(p.domain));
    serde_norway::to_string(&Value::Object(root)).map_err(|e| {
        Error::invalid(format!(
            "writing the contract of {}.{}: {e}",
            p.domain, p.name
        ))
    })
}

/// The id and version of a product's contract, or of the one `export` writes for a product
/// registered without one (`domain-product`, 0.1.0).
pub(crate) fn contract_of(p: &DataProduct) -> (String, String) {
    let id = if p.contract_id.is_empty() {
        format!("{}-{}", p.domain, p.name)
    } else {
        p.contract_id.clone()
    };
    let version = if p.contract_version.is_empty() {
        "0.1.0".to_string()
    } else {
        p.contract_version.clone()
    };
    (id, version)
}

/// The contract lakemeta writes for a product registered without one.
fn generated_contract(p: &DataProduct) -> Result<String> {
    let mut root = Map::new();
    root.insert("apiVersion".into(), json!(EXPORT_API_VERSION));
    root.insert("kind".into(), json!("DataContract"));
    let (id, version) = contract_of(p);
    root.insert("id".into(), json!(id));
    root.insert("name".into(), json!(p.name));
    root.insert("version".into(), json!(version));
    root.insert("status".into(), json!("active"));
    root.insert("domain".into(), json!(p.domain));
    root.insert("dataProduct".into(), json!(p.name));
    if !p.description.is_empty() {
        root.insert("description".into(), json!({ "purpose": p.description }));
    }
    if !p.tags.is_empty() {
        root.insert("tags".into(), json!(p.tags));
    }
    root.insert("team".into(), json!({ "name": p.owner }));

    let mut object = Map::new();
    object.insert("name".into(), json!(p.name));
    object.insert("physicalName".into(), json!(p.name));
    object.insert("logicalType".into(), json!("object"));
    object.insert("physicalType".into(), json!("table"));
    if !p.description.is_empty() {
        object.insert("description".into(), json!(p.description));
    }
    let keys = declared_in(p);
    let properties: Vec<Value> = p
        .columns
        .iter()
        .map(|c| {
            let mut prop = property(p, c);
            // a one-column key is written on its property, as the contract had it
            let to: Vec<Value> = keys
                .iter()
                .filter(|k| k.columns.len() == 1 && k.columns[0] == c.name)
                .map(|k| json!({"type": "foreignKey", "to": k.to[0]}))
                .collect();
            if !to.is_empty() {
                prop["relationships"] = Value::Array(to);
            }
            prop
        })
        .collect();
    object.insert("properties".into(), Value::Array(properties));
    let composite: Vec<Value> = keys
        .iter()
        .filter(|k| k.columns.len() > 1)
        .map(|k| json!({"type": "foreignKey", "from": k.columns, "to": k.to}))
        .collect();
    if !composite.is_empty() {
        object.insert("relationships".into(), Value::Array(composite));
    }
    let table_quality: Vec<Value> = p
        .checks
        .iter()
        .filter(|c| c.column.is_empty())
        .filter_map(|c| quality_entry(c, p))
        .collect();
    if !table_quality.is_empty() {
        object.insert("quality".into(), Value::Array(table_quality));
    }
    root.insert("schema".into(), json!([Value::Object(object)]));

    let mut sla = Vec::new();
    if let Some(m) = p.sla_freshness_minutes {
        let mut f = json!({"property": "freshness", "value": m, "unit": "m"});
        if let Some(c) = p
            .checks
            .iter()
            .find(|c| c.kind == "freshness" && !c.column.is_empty())
        {
            f["element"] = json!(format!("{}.{}", p.name, c.column));
        }
        sla.push(f);
    }
    if let Some(a) = p.sla_availability_percent {
        sla.push(json!({"property": "availability", "value": a, "unit": "percent"}));
    }
    if let Some(c) = p.sla_completeness_percent {
        sla.push(json!({"property": "completeness", "value": c, "unit": "percent"}));
    }
    if !sla.is_empty() {
        root.insert("slaProperties".into(), Value::Array(sla));
    }
    let mut custom = Vec::new();
    if p.kind == "external" {
        custom.push(json!({"property": "location", "value": p.location}));
        custom.push(json!({"property": "format", "value": p.format}));
    }
    if !p.access_patterns.is_empty() {
        custom.push(json!({"property": "accessPatterns", "value": p.access_patterns}));
    }
    if let Some(days) = p.retention_days {
        custom.push(json!({"property": "retentionDays", "value": days}));
    }
    if let Some(bytes) = p.target_file_size {
        custom.push(json!({"property": "targetFileSize", "value": bytes}));
    }
    if let Some(f) = &p.row_filter {
        custom.push(json!({"property": "rowFilter", "value": f}));
        if let Some(owners) = p.row_filter_applies_to_owners {
            custom.push(json!({"property": "rowFilterAppliesToOwners", "value": owners}));
        }
    }
    if !custom.is_empty() {
        root.insert("customProperties".into(), Value::Array(custom));
    }
    serde_norway::to_string(&Value::Object(root))
        .map_err(|e| Error::invalid(format!("cannot write the contract of {}: {e}", p.name)))
}

fn logical_type(data_type: &str) -> &'static str {
    use arrow::datatypes::DataType::*;
    match arrow_type(data_type) {
        Some(Utf8) => "string",
        Some(Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64) => "integer",
        Some(Float32 | Float64 | Decimal128(_, _) | Decimal256(_, _)) => "number",
        Some(Boolean) => "boolean",
        Some(Date32) => "date",
        Some(Timestamp(_, _)) => "timestamp",
        Some(Time32(_) | Time64(_)) => "time",
        Some(List(_) | LargeList(_)) => "array",
        Some(Struct(_) | Map(_, _)) => "object",
        _ => "string",
    }
}

fn property(p: &DataProduct, c: &Column) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(c.name));
    let logical = logical_type(&c.data_type);
    m.insert("logicalType".into(), json!(logical));
    m.insert("physicalType".into(), json!(c.data_type));
    if !c.nullable {
        m.insert("required".into(), json!(true));
    }
    if c.unique {
        m.insert("unique".into(), json!(true));
    }
    if c.primary_key {
        m.insert("primaryKey".into(), json!(true));
    }
    if let Some(at) = p
        .partition_by
        .iter()
        .flatten()
        .position(|column| *column == c.name)
    {
        m.insert("partitioned".into(), json!(true));
        m.insert("partitionKeyPosition".into(), json!(at + 1));
    }
    if !c.description.is_empty() {
        m.insert("description".into(), json!(c.description));
    }
    if !c.classification.is_empty() {
        m.insert("classification".into(), json!(c.classification));
    }
    if !c.tags.is_empty() {
        m.insert("tags".into(), json!(c.tags));
    }
    let mut options = Map::new();
    for check in p.checks.iter().filter(|k| k.column == c.name) {
        let def: Value = serde_json::from_str(&check.definition).unwrap_or(Value::Null);
        match check.kind.as_str() {
            "range" => {
                for (end, inclusive, exclusive) in [
                    ("min", "minimum", "exclusiveMinimum"),
                    ("max", "maximum", "exclusiveMaximum"),
                ] {
                    if let Some(v) = def.get(end).filter(|v| !v.is_null()) {
                        let open = def
                            .get(format!("{end}Exclusive"))
                            .and_then(Value::as_bool)
                            .unwrap_or(false);
                        options.insert(if open { exclusive } else { inclusive }.into(), v.clone());
                    }
                }
            }
            "pattern" if logical == "string" && is_derived(check) => {
                if let Some(v) = def.get("arguments").and_then(|a| a.get("pattern")) {
                    options.insert("pattern".into(), v.clone());
                }
            }
            _ => {}
        }
    }
    // a float's width, said where engines disagree on what `float` means
    match arrow_type(&c.data_type) {
        Some(arrow::datatypes::DataType::Float32) => {
            options.insert("format".into(), json!("f32"));
        }
        Some(arrow::datatypes::DataType::Float64) => {
            options.insert("format".into(), json!("f64"));
        }
        _ => {}
    }
    if !options.is_empty() {
        m.insert("logicalTypeOptions".into(), Value::Object(options));
    }
    let quality: Vec<Value> = p
        .checks
        .iter()
        .filter(|k| k.column == c.name)
        .filter_map(|k| quality_entry(k, p))
        .collect();
    if !quality.is_empty() {
        m.insert("quality".into(), Value::Array(quality));
    }
    Value::Object(m)
}

/// A check lakemeta derived from the contract's structure rather than a `quality` entry.
fn is_derived(c: &Check) -> bool {
    c.definition.is_empty()
        || c.definition.contains("maxNullPercent")
        || c.definition.contains("maxMinutes")
        || matches!(c.kind.as_str(), "schema" | "range" | "primary_key")
        || (c.kind == "pattern" && c.name == format!("pattern({})", c.column))
}

const OPERATORS: [&str; 10] = [
    "mustBe",
    "mustNotBe",
    "mustBeGreaterThan",
    "mustBeGreaterOrEqualTo",
    "mustBeLessThan",
    "mustBeLessOrEqualTo",
    "mustBeBetween",
    "mustNotBeBetween",
    "mustBeGreaterThanOrEqualTo",
    "mustBeLessThanOrEqualTo",
];

/// A declared check as an ODCS quality entry (ODCS metrics as such; lakemeta's own kinds as
/// SQL); derived checks are expressed by the properties and SLA instead.
fn quality_entry(c: &Check, p: &DataProduct) -> Option<Value> {
    if is_derived(c) {
        return None;
    }
    let def: Value = serde_json::from_str(&c.definition).ok()?;
    let mut m = Map::new();
    m.insert("name".into(), json!(c.name));
    for key in [
        "description",
        "dimension",
        "severity",
        "unit",
        "businessImpact",
    ] {
        if let Some(v) = def.get(key) {
            m.insert(key.into(), v.clone());
        }
    }
    let mut bound_set = false;
    for op in OPERATORS {
        if let Some(v) = def.get(op) {
            let key = op
                .replace("GreaterThanOrEqualTo", "GreaterOrEqualTo")
                .replace("LessThanOrEqualTo", "LessOrEqualTo");
            m.insert(key, v.clone());
            bound_set = true;
        }
    }
    let metric = match c.kind.as_str() {
        "not_null" => Some("nullValues"),
        "completeness" => Some("missingValues"),
        "unique" => Some("duplicateValues"),
        "accepted_values" | "pattern" => Some("invalidValues"),
        "row_count" => Some("rowCount"),
        _ => None,
    };
    if let Some(metric) = metric {
        m.insert("metric".into(), json!(metric));
        if let Some(a) = def.get("arguments") {
            m.insert("arguments".into(), a.clone());
        }
        if !bound_set && metric != "rowCount" {
            m.insert("mustBe".into(), json!(0));
        }
        return Some(Value::Object(m));
    }
    let table = format!("{}.{}", p.domain, p.name);
    let query = match c.kind.as_str() {
        "sql" | "custom" => {
            let q = def.get("query")?.as_str()?.to_string();
            if bound_set {
                q
            } else {
                m.insert("mustBe".into(), json!(0));
                format!(
                    "SELECT count(*) FROM ({}) AS failing_rows",
                    q.trim().trim_end_matches(';')
                )
            }
        }
        "min" => format!("SELECT min({}) FROM {table}", c.column),
        "max" => format!("SELECT max({}) FROM {table}", c.column),
        "distinct_count" => format!("SELECT count(DISTINCT {}) FROM {table}", c.column),
        _ => return None,
    };
    m.insert("type".into(), json!("sql"));
    m.insert("query".into(), json!(query));
    Some(Value::Object(m))
}
