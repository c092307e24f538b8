use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use serde::Deserialize;
use serde_yaml::Value;

use super::relationships::{self, ForeignKeyDecl, RelationshipEntry};
use super::source::{SpecSource, yaml_error};
use super::types::{arrow_type, schema_hash};
use crate::error::Result;
use crate::model::{Check, Column, DataFormat, DataProduct, validate_name};

/// The parts of an ODCS v3 data contract that lakemeta reads. Fields it does not know are kept
/// in the stored contract text and otherwise ignored, as ODCS allows.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Odcs {
    api_version: String,
    id: String,
    version: String,
    domain: Option<String>,
    data_product: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<Value>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    team: Option<Value>,
    #[serde(default)]
    schema: Vec<SchemaObject>,
    #[serde(default)]
    sla_properties: Vec<SlaProperty>,
    #[serde(default)]
    custom_properties: Vec<CustomProperty>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemaObject {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    physical_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    properties: Vec<Property>,
    #[serde(default)]
    quality: Vec<Value>,
    #[serde(default)]
    relationships: Vec<RelationshipEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Property {
    /// Required of a schema's properties; an array's `items` have none.
    #[serde(default)]
    name: String,
    #[serde(default)]
    logical_type: Option<String>,
    #[serde(default)]
    physical_type: Option<String>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    unique: bool,
    #[serde(default)]
    primary_key: bool,
    #[serde(default)]
    classification: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    quality: Vec<Value>,
    #[serde(default)]
    logical_type_options: Option<Value>,
    #[serde(default)]
    transform_source_objects: Vec<String>,
    #[serde(default)]
    relationships: Vec<RelationshipEntry>,
    /// The fields of an `object`.
    #[serde(default)]
    properties: Vec<Property>,
    /// The element of an `array`.
    #[serde(default)]
    items: Option<Box<Property>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlaProperty {
    property: String,
    value: Value,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    element: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CustomProperty {
    property: String,
    value: Value,
}

/// A data product as its ODCS contract declares it.
#[derive(Debug, Clone)]
pub struct ProductSpec {
    /// The product row it describes (timestamps unset; location empty for a managed product).
    pub product: DataProduct,
    /// True when `customProperties` names a location: an external product.
    pub external: bool,
    /// The sources the contract declares (`transformSourceObjects` of a property, the
    /// `sources` custom property), as written.
    pub sources: Vec<SourceDecl>,
    /// The foreign keys it declares (`relationships` of type foreignKey), as written.
    pub foreign_keys: Vec<ForeignKeyDecl>,
    /// What lakemeta read differently from how the contract says it (a physical type it cannot
    /// map, an object without properties), for the plan.
    pub notes: Vec<String>,
}

/// A source a contract declares: data of `from` (`domain.product` or `domain.product.column`)
/// flows into the product, or into its column `into`.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceDecl {
    /// The source as written: `domain.product` or `domain.product.column`.
    pub from: String,
    /// The product's column it flows into (`None`: the whole product).
    pub into: Option<String>,
    /// Where the contract says it, for errors (`schema[0].properties[2].transformSourceObjects[0]`).
    pub at: String,
}

const SUPPORTED_API: [&str; 4] = ["v3.0.0", "v3.0.1", "v3.0.2", "v3.1.0"];

impl ProductSpec {
    /// Parses and validates an ODCS v3 contract.
    pub fn parse(source: &SpecSource) -> Result<Self> {
        let c: Odcs = serde_yaml::from_str(&source.text).map_err(|e| yaml_error(source, &e))?;
        if !SUPPORTED_API.contains(&c.api_version.as_str()) {
            return Err(source.error(
                "apiVersion",
                format!(
                    "unsupported apiVersion '{}': use one of {}",
                    c.api_version,
                    SUPPORTED_API.join(", ")
                ),
            ));
        }
        if c.version.trim().is_empty() {
            return Err(source.error("version", "the contract version must not be empty"));
        }
        let mut notes = Vec::new();
        // the domain and the product as the contract names them, made SQL names where they are
        // not; a contract that names no domain takes the one `apply --domain` gives
        let domain = match c.domain.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => sql_name("domain", d, &mut notes).map_err(|m| source.error("domain", m))?,
            None => String::new(),
        };
        if c.schema.len() != 1 {
            return Err(source.error(
                "schema",
                format!(
                    "a data product's contract needs exactly one schema object (the table), \
                     found {}",
                    c.schema.len()
                ),
            ));
        }
        let object = &c.schema[0];
        let (field, written) = [
            ("dataProduct", c.data_product.as_deref()),
            ("name", c.name.as_deref()),
            ("schema[0].name", object.name.as_deref()),
            ("schema[0].physicalName", object.physical_name.as_deref()),
        ]
        .into_iter()
        .find_map(|(f, v)| v.map(str::trim).filter(|v| !v.is_empty()).map(|v| (f, v)))
        .ok_or_else(|| {
            source.error(
                "dataProduct",
                "the contract names no data product: set 'dataProduct' (or 'name', or the \
                 schema object's 'name')",
            )
        })?;
        let name =
            sql_name("data product", written, &mut notes).map_err(|m| source.error(field, m))?;
        if object.properties.is_empty() {
            return Err(source.error(
                "schema[0].properties",
                "the schema has no properties: list the table's columns",
            ));
        }
        let mut columns = Vec::new();
        let mut checks = Vec::new();
        let mut sources = Vec::new();
        let mut foreign_keys = Vec::new();
        for (i, p) in object.properties.iter().enumerate() {
            let at = |f: &str| format!("schema[0].properties[{i}].{f}");
            foreign_keys.extend(
                relationships::of_property(
                    &p.name,
                    &p.relationships,
                    &format!("schema[0].properties[{i}]"),
                )
                .map_err(|(at, m)| source.error(&at, m))?,
            );
            sources.extend(
                p.transform_source_objects
                    .iter()
                    .enumerate()
                    .map(|(j, from)| SourceDecl {
                        from: from.clone(),
                        into: Some(p.name.clone()),
                        at: at(&format!("transformSourceObjects[{j}]")),
                    }),
            );
            if p.name.trim().is_empty() {
                return Err(source.error(
                    &at("name"),
                    "a property needs a name: the column it describes",
                ));
            }
            if columns.iter().any(|c: &Column| c.name == p.name) {
                return Err(source.error(&at("name"), format!("duplicate column '{}'", p.name)));
            }
            let arrow = property_type(p, &format!("schema[0].properties[{i}]"), &mut notes)
                .map_err(|(at, m)| source.error(&at, m))?;
            let declared = super::types::type_name(&arrow);
            let mut accepted = Vec::new();
            for (q, entry) in p.quality.iter().enumerate() {
                let check = quality_check(entry, &p.name).map_err(|m| {
                    source.error(&format!("schema[0].properties[{i}].quality[{q}]"), m)
                })?;
                if let Some(values) = valid_values(entry) {
                    accepted = values;
                }
                checks.push(check);
            }
            // implicit checks after the declared ones, so a declared check of the same name
            // (with its own bound) wins
            if p.required || p.primary_key {
                checks.push(implicit("not_null", &p.name));
            }
            if p.unique || p.primary_key {
                checks.push(implicit("unique", &p.name));
            }
            if let Some(options) = &p.logical_type_options {
                let at = at("logicalTypeOptions");
                if let Some(range) = range_of(options, &arrow, &p.name)
                    .map_err(|(k, m)| source.error(&format!("{at}.{k}"), m))?
                {
                    checks.push(derived("range", &p.name, range));
                }
                if let Some(pattern) = options.get("pattern") {
                    let pattern = pattern.as_str().ok_or_else(|| {
                        source.error(&format!("{at}.pattern"), "'pattern' needs a string")
                    })?;
                    regex::Regex::new(pattern).map_err(|e| {
                        source.error(
                            &format!("{at}.pattern"),
                            format!("not a valid regular expression: {e}"),
                        )
                    })?;
                    checks.push(derived(
                        "pattern",
                        &p.name,
                        serde_json::json!({"arguments": {"pattern": pattern}}),
                    ));
                }
            }
            columns.push(Column {
                name: p.name.clone(),
                data_type: declared,
                nullable: !(p.required || p.primary_key),
                description: p.description.clone().unwrap_or_default(),
                tags: p.tags.clone(),
                classification: p.classification.clone().unwrap_or_default(),
                primary_key: p.primary_key,
                unique: p.unique || p.primary_key,
                accepted_values: accepted,
                ordinal: i as i32,
            });
        }
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        foreign_keys.extend(
            relationships::of_object(object.name.as_deref(), &name, &object.relationships, &names)
                .map_err(|(at, m)| source.error(&at, m))?,
        );
        for (q, entry) in object.quality.iter().enumerate() {
            checks.push(
                quality_check(entry, "")
                    .map_err(|m| source.error(&format!("schema[0].quality[{q}]"), m))?,
            );
        }

        let mut product = DataProduct {
            domain,
            name,
            kind: "managed".into(),
            location: String::new(),
            format: "delta".into(),
            owner: owner(&c),
            description: description(&c, object),
            tags: c.tags.clone(),
            access_patterns: Vec::new(),
            sla_freshness_minutes: None,
            sla_availability_percent: None,
            sla_completeness_percent: None,
            contract_id: c.id.clone(),
            contract_version: c.version.clone(),
            contract_spec: source.text.clone(),
            schema_hash: schema_hash(&columns),
            columns,
            checks: Vec::new(),
            created_at: 0,
            updated_at: 0,
            updated_by: String::new(),
        };
        for (i, s) in c.sla_properties.iter().enumerate() {
            let at = format!("slaProperties[{i}].value");
            let number = s
                .value
                .as_f64()
                .ok_or_else(|| source.error(&at, format!("'{}' needs a number", s.property)))?;
            match s.property.as_str() {
                "freshness" | "latency" => {
                    let minutes = to_minutes(number, s.unit.as_deref()).ok_or_else(|| {
                        source.error(
                            &format!("slaProperties[{i}].unit"),
                            "unknown unit: use s, m (min), h or d",
                        )
                    })?;
                    product.sla_freshness_minutes = Some(minutes);
                }
                "availability" => product.sla_availability_percent = Some(number),
                "completeness" => product.sla_completeness_percent = Some(number),
                _ => {}
            }
        }
        let mut freshness_column = None;
        for (i, s) in c.sla_properties.iter().enumerate() {
            let Some(element) = &s.element else { continue };
            if s.property != "freshness" && s.property != "latency" {
                continue;
            }
            let column = element.rsplit('.').next().unwrap_or(element);
            if !product.columns.iter().any(|c| c.name == column) {
                return Err(source.error(
                    &format!("slaProperties[{i}].element"),
                    format!(
                        "'{element}' names column '{column}', which is not in the schema; name \
                         the timestamp column whose newest value the freshness SLA is about"
                    ),
                ));
            }
            freshness_column = Some(column.to_string());
        }
        let mut external = false;
        for (i, p) in c.custom_properties.iter().enumerate() {
            let at = format!("customProperties[{i}].value");
            let text = || {
                p.value
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| source.error(&at, format!("'{}' needs a string", p.property)))
            };
            match p.property.as_str() {
                "location" => {
                    product.location = text()?;
                    product.kind = "external".into();
                    external = true;
                }
                "format" => {
                    let f: DataFormat =
                        text()?.parse().map_err(|m: String| source.error(&at, m))?;
                    product.format = f.as_str().into();
                }
                "owner" => product.owner = text()?,
                "accessPatterns" => {
                    product.access_patterns = serde_yaml::from_value(p.value.clone())
                        .map_err(|_| source.error(&at, "accessPatterns needs a list of names"))?;
                }
                "sources" => {
                    let list: Vec<String> =
                        serde_yaml::from_value(p.value.clone()).map_err(|_| {
                            source.error(
                                &at,
                                "sources needs a list of products ('domain.product') this \
                                 product is made from",
                            )
                        })?;
                    sources.extend(list.into_iter().enumerate().map(|(j, from)| SourceDecl {
                        from,
                        into: None,
                        at: format!("{at}[{j}]"),
                    }));
                }
                _ => {}
            }
        }
        if !external && product.format != "delta" {
            return Err(source.error(
                "customProperties",
                "a managed product (no 'location') is stored as Delta; set a 'location' to \
                 register external files of another format",
            ));
        }
        // after the custom properties: which checks apply depends on the format
        derive_table_checks(&mut product, freshness_column, &mut checks);
        dedupe(&mut checks);
        product.checks = checks;
        Ok(ProductSpec {
            product,
            external,
            sources,
            foreign_keys,
            notes,
        })
    }
}

fn implicit(kind: &str, column: &str) -> Check {
    Check {
        name: format!("{kind}({column})"),
        kind: kind.into(),
        column: column.into(),
        definition: String::new(),
    }
}

fn derived(kind: &str, column: &str, definition: serde_json::Value) -> Check {
    Check {
        name: format!("{kind}({column})"),
        kind: kind.into(),
        column: column.into(),
        definition: definition.to_string(),
    }
}

/// The checks a contract implies beyond its columns: completeness of every optional column
/// (null share at most 100 − the SLA's completeness, 5 % without one), a composite primary key,
/// freshness of the newest timestamp (the SLA's, an hour without one), the age of the last
/// commit (Delta products with a freshness SLA) and the schema itself.
fn derive_table_checks(
    product: &mut DataProduct,
    freshness_column: Option<String>,
    checks: &mut Vec<Check>,
) {
    let max_null_percent = product
        .sla_completeness_percent
        .map(|p| (100.0 - p).max(0.0))
        .unwrap_or(5.0);
    let max_null_percent = (max_null_percent * 1000.0).round() / 1000.0;
    for c in &product.columns {
        if c.nullable {
            checks.push(derived(
                "completeness",
                &c.name,
                serde_json::json!({"maxNullPercent": max_null_percent}),
            ));
        }
    }
    let keys: Vec<String> = product
        .columns
        .iter()
        .filter(|c| c.primary_key)
        .map(|c| c.name.clone())
        .collect();
    if keys.len() > 1 {
        checks.push(Check {
            name: format!("primary_key({})", keys.join(", ")),
            kind: "primary_key".into(),
            column: String::new(),
            definition: serde_json::json!({"columns": keys}).to_string(),
        });
    }
    let minutes = product.sla_freshness_minutes;
    let column = freshness_column.or_else(|| {
        product
            .columns
            .iter()
            .find(|c| c.data_type == "timestamp")
            .map(|c| c.name.clone())
    });
    if let Some(column) = column {
        checks.push(derived(
            "freshness",
            &column,
            serde_json::json!({"maxMinutes": minutes.unwrap_or(60)}),
        ));
    }
    if let Some(m) = minutes
        && product.format == "delta"
    {
        checks.push(Check {
            name: "commit_freshness".into(),
            kind: "commit_freshness".into(),
            column: String::new(),
            definition: serde_json::json!({"maxMinutes": m}).to_string(),
        });
    }
    checks.push(Check {
        name: "schema".into(),
        kind: "schema".into(),
        column: String::new(),
        definition: String::new(),
    });
}

fn dedupe(checks: &mut Vec<Check>) {
    let mut seen = std::collections::HashSet::new();
    checks.retain(|c| seen.insert(c.name.clone()));
}

/// The accepted values of a quality entry (`arguments.validValues` or `validValues`).
fn valid_values(entry: &Value) -> Option<Vec<String>> {
    let v = entry
        .get("arguments")
        .and_then(|a| a.get("validValues"))
        .or_else(|| entry.get("validValues"))?;
    serde_yaml::from_value(v.clone()).ok()
}

/// An ODCS quality entry as a check: `rule`/`metric` names the kind (nullValues, duplicateValues,
/// invalidValues, rowCount, ...), `type: sql` with a `query` is a custom SQL check.
fn quality_check(entry: &Value, column: &str) -> Result<Check, String> {
    let kind = entry
        .get("metric")
        .or_else(|| entry.get("rule"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            entry
                .get("type")
                .and_then(Value::as_str)
                .filter(|t| *t == "sql" || *t == "custom")
                .map(str::to_string)
        })
        .ok_or_else(|| {
            "a quality entry needs 'metric' (or 'rule'), or 'type: sql' with a 'query'".to_string()
        })?;
    if kind == "sql" && entry.get("query").and_then(Value::as_str).is_none() {
        return Err("a 'type: sql' quality entry needs a 'query'".into());
    }
    let has_pattern = entry
        .get("arguments")
        .and_then(|a| a.get("pattern"))
        .is_some();
    let kind = match kind.as_str() {
        "nullValues" | "nullCheck" | "notNull" => "not_null",
        "duplicateValues" | "duplicateCount" | "uniqueCheck" | "unique" => "unique",
        "invalidValues" | "validValues" if has_pattern => "pattern",
        "invalidValues" | "validValues" => "accepted_values",
        "rowCount" => "row_count",
        "missingValues" => "completeness",
        "distinctCount" | "distinctValues" => "distinct_count",
        "min" | "minValue" => "min",
        "max" | "maxValue" => "max",
        "range" | "pattern" | "freshness" | "sql" | "custom" => kind.as_str(),
        other => {
            return Err(format!(
                "unknown quality metric '{other}': use nullValues, missingValues, \
                 duplicateValues, invalidValues (validValues or pattern), rowCount, \
                 distinctCount, min, max, or type: sql with a query"
            ));
        }
    }
    .to_string();
    if column.is_empty() && !matches!(kind.as_str(), "row_count" | "sql" | "custom") {
        return Err(format!(
            "'{kind}' is about one column: put it under that column's quality, not the table's"
        ));
    }
    crate::model::bound(&serde_json::to_value(entry).unwrap_or_default())?;
    let name = entry
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            if column.is_empty() {
                kind.clone()
            } else {
                format!("{kind}({column})")
            }
        });
    let definition = serde_json::to_string(entry).map_err(|e| e.to_string())?;
    Ok(Check {
        name,
        kind,
        column: column.to_string(),
        definition,
    })
}

fn owner(c: &Odcs) -> String {
    match &c.team {
        Some(Value::Mapping(m)) => m
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        Some(Value::Sequence(members)) => members
            .iter()
            .find(|m| m.get("role").and_then(Value::as_str) == Some("owner"))
            .and_then(|m| m.get("username").or_else(|| m.get("name")))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

fn description(c: &Odcs, object: &SchemaObject) -> String {
    match &c.description {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Mapping(m)) => m
            .get("purpose")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        _ => object.description.clone().unwrap_or_default(),
    }
}

fn to_minutes(value: f64, unit: Option<&str>) -> Option<i64> {
    let factor = match unit.unwrap_or("m") {
        "s" | "sec" | "second" | "seconds" => 1.0 / 60.0,
        "m" | "min" | "minute" | "minutes" => 1.0,
        "h" | "hour" | "hours" => 60.0,
        "d" | "day" | "days" => 1440.0,
        _ => return None,
    };
    Some((value * factor).ceil() as i64)
}

/// The Arrow type of a property: its `physicalType` where that names a type of lakemeta or of a
/// common engine (kept as written in the contract either way), else its `logicalType` with its
/// options, nested `properties` (an object: a struct) and `items` (an array: a list). A physical
/// type lakemeta cannot map, a type left unsaid, or an object or array whose shape is not
/// given, is a note, not an error: the column is then read as text.
fn property_type(
    p: &Property,
    at: &str,
    notes: &mut Vec<String>,
) -> std::result::Result<DataType, (String, String)> {
    let what = if p.name.is_empty() {
        at.to_string()
    } else {
        format!("column '{}'", p.name)
    };
    if let Some(physical) = &p.physical_type
        && let Some(t) = arrow_type(physical)
    {
        return Ok(t);
    }
    let logical = p.logical_type.as_deref().map(str::trim);
    let option = |k: &str| {
        p.logical_type_options
            .as_ref()
            .and_then(|o| o.get(k))
            .and_then(Value::as_str)
    };
    let t = match logical {
        Some("string") => DataType::Utf8,
        Some("boolean") => DataType::Boolean,
        Some("date") => DataType::Date32,
        Some("timestamp") => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        Some("time") => DataType::Time64(TimeUnit::Microsecond),
        // the standard's default integer is i32
        Some("integer") => match option("format").unwrap_or("i32") {
            "i8" => DataType::Int8,
            "i16" => DataType::Int16,
            "i32" => DataType::Int32,
            "i64" => DataType::Int64,
            "u8" => DataType::UInt8,
            "u16" => DataType::UInt16,
            "u32" => DataType::UInt32,
            "u64" => DataType::UInt64,
            "i128" | "u128" => DataType::Decimal128(38, 0),
            other => {
                return Err((
                    format!("{at}.logicalTypeOptions.format"),
                    format!(
                        "unknown integer format '{other}' for {what}: use i8, i16, i32, i64, \
                         i128, u8, u16, u32, u64 or u128"
                    ),
                ));
            }
        },
        Some("number") => match option("format") {
            Some("f32") => DataType::Float32,
            _ => DataType::Float64,
        },
        Some("object") if !p.properties.is_empty() => {
            let mut fields = Vec::with_capacity(p.properties.len());
            for (j, f) in p.properties.iter().enumerate() {
                let at = format!("{at}.properties[{j}]");
                if f.name.trim().is_empty() {
                    return Err((
                        format!("{at}.name"),
                        "a field of an object needs a name".into(),
                    ));
                }
                let t = property_type(f, &at, notes)?;
                fields.push(Field::new(&f.name, t, !(f.required || f.primary_key)));
            }
            DataType::Struct(Fields::from(fields))
        }
        Some("array") if p.items.is_some() => {
            let items = p.items.as_deref().unwrap_or(p);
            let t = property_type(items, &format!("{at}.items"), notes)?;
            DataType::List(Arc::new(Field::new("item", t, true)))
        }
        Some(kind @ ("object" | "array")) => {
            notes.push(format!(
                "{what} is an {kind} whose {} the contract does not give: read as text (JSON)",
                if kind == "object" {
                    "properties"
                } else {
                    "items"
                }
            ));
            DataType::Utf8
        }
        // lakemeta's own type names, as its earlier contracts wrote them
        Some(other) => super::types::lakemeta_type(other).ok_or_else(|| {
            (
                format!("{at}.logicalType"),
                format!(
                    "unknown logicalType '{other}' for {what}: use string, integer, number, \
                     boolean, date, timestamp, time, object or array"
                ),
            )
        })?,
        None => {
            notes.push(format!(
                "{what} has no logicalType{}: read as text",
                if p.physical_type.is_some() {
                    " and a physicalType lakemeta does not map"
                } else {
                    " or physicalType"
                }
            ));
            return Ok(DataType::Utf8);
        }
    };
    if let Some(physical) = &p.physical_type {
        notes.push(format!(
            "{what}: physicalType '{physical}' is no type lakemeta maps; its logicalType decides \
             ({})",
            super::types::type_name(&t)
        ));
    }
    Ok(t)
}

/// The range check a property's `minimum`, `maximum`, `exclusiveMinimum` and `exclusiveMaximum`
/// make, as a check definition (`min`, `max`, `minExclusive`, `maxExclusive`): numbers for a
/// numeric column, dates, timestamps or times (as the contract writes them) for a column of
/// that type. Where both an inclusive and an exclusive bound are given, the stricter holds.
fn range_of(
    options: &Value,
    arrow: &DataType,
    column: &str,
) -> std::result::Result<Option<serde_json::Value>, (String, String)> {
    use datafusion::common::ScalarValue;
    // a bound as a value of the column's type, for comparing two bounds
    let read = |key: &str| -> std::result::Result<
        Option<(serde_json::Value, ScalarValue)>,
        (String, String),
    > {
        let Some(v) = options.get(key) else {
            return Ok(None);
        };
        let wrong = |m: String| (key.to_string(), m);
        if arrow.is_numeric() {
            let n = v.as_f64().ok_or_else(|| {
                wrong(format!(
                    "'{key}' of column '{column}' ({}) needs a number",
                    super::types::type_name(arrow)
                ))
            })?;
            Ok(Some((serde_json::json!(n), ScalarValue::Float64(Some(n)))))
        } else if arrow.is_temporal() {
            let text = match v {
                Value::String(t) => t.clone(),
                other => serde_yaml::to_string(other)
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            };
            let value = ScalarValue::try_from_string(text.clone(), arrow).map_err(|_| {
                wrong(format!(
                    "'{key}' of column '{column}' is '{text}', which is not a {}: write it as \
                     the column's values are written (e.g. 2024-01-31, 2024-01-31 12:00:00)",
                    super::types::type_name(arrow)
                ))
            })?;
            Ok(Some((serde_json::json!(text), value)))
        } else {
            Err(wrong(format!(
                "'{key}' needs a numeric, date, timestamp or time column; '{column}' is {}",
                super::types::type_name(arrow)
            )))
        }
    };
    let mut def = serde_json::Map::new();
    for (end, inclusive, exclusive, low) in [
        ("min", "minimum", "exclusiveMinimum", true),
        ("max", "maximum", "exclusiveMaximum", false),
    ] {
        let chosen = match (read(inclusive)?, read(exclusive)?) {
            (None, None) => continue,
            (Some(i), None) => (i.0, false),
            (None, Some(x)) => (x.0, true),
            (Some(i), Some(x)) => {
                // the exclusive bound is the stricter unless the inclusive one lies beyond it
                let beyond = if low { i.1 > x.1 } else { i.1 < x.1 };
                if beyond { (i.0, false) } else { (x.0, true) }
            }
        };
        def.insert(end.into(), chosen.0);
        if chosen.1 {
            def.insert(format!("{end}Exclusive"), serde_json::Value::Bool(true));
        }
    }
    Ok((!def.is_empty()).then_some(serde_json::Value::Object(def)))
}

/// A name as lakemeta's SQL names are (`orders_fact`): lowercase letters, digits and `_`,
/// starting with a letter, at most 63 characters. A name written otherwise (`My Quantum`,
/// `order-lines`) is made one, and `notes` says so.
fn sql_name(what: &str, written: &str, notes: &mut Vec<String>) -> Result<String, String> {
    if validate_name(what, written).is_ok() {
        return Ok(written.to_string());
    }
    let mut name = String::with_capacity(written.len());
    for c in written.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.ends_with('_') {
            name.push('_');
        }
    }
    let mut name = name.trim_matches('_').to_string();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "n_");
    }
    name.truncate(63);
    let name = name.trim_end_matches('_').to_string();
    validate_name(what, &name).map_err(|_| {
        format!(
            "'{written}' cannot be made a {what} name (lowercase letters, digits and '_', \
             starting with a letter): name it so"
        )
    })?;
    notes.push(format!("{what} '{written}' is named {name} in SQL"));
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NESTED: &str = r#"apiVersion: v3.1.0
kind: DataContract
id: nested
version: 1.0.0
status: active
domain: sales
dataProduct: orders
team: sales-team
schema:
  - name: orders
    properties:
      - name: id
        physicalType: NUMBER(38,0)
        required: true
      - name: address
        logicalType: object
        properties:
          - name: street
            logicalType: string
          - name: zip
            logicalType: integer
            logicalTypeOptions: {format: i64}
      - name: lines
        logicalType: array
        items:
          logicalType: object
          properties:
            - name: sku
              physicalType: varchar(20)
            - name: qty
              logicalType: integer
      - name: attrs
        physicalType: MAP<STRING, STRING>
"#;

    const BAD_BOUND: &str = r#"apiVersion: v3.1.0
kind: DataContract
id: bad
version: 1.0.0
status: active
domain: sales
dataProduct: orders
team: sales-team
schema:
  - name: orders
    properties:
      - name: day
        logicalType: date
        logicalTypeOptions:
          maximum: next tuesday
"#;

    fn parse(file: &str, text: &str) -> ProductSpec {
        ProductSpec::parse(&SpecSource {
            file: file.into(),
            text: text.into(),
        })
        .unwrap_or_else(|e| panic!("{file}: {e}"))
    }

    /// The standard's example of every logical type, with the domain and team it leaves out.
    #[test]
    fn the_standards_data_types_example_reads_as_it_means() {
        let example =
            include_str!("../../tests/fixtures/odcs-standard/data-types--all-data-types.odcs.yaml");
        let spec = parse(
            "all-data-types.odcs.yaml",
            &format!("domain: payments\nteam: payments-team\n{example}"),
        );
        let types: Vec<(&str, &str)> = spec
            .product
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.data_type.as_str()))
            .collect();
        assert_eq!(
            types,
            [
                ("account_id", "string"),
                ("txn_ref_date", "date"),
                ("txn_timestamp", "timestamp"),
                ("txn_timestamp_tz", "timestamp"),
                ("txn_time", "time"),
                ("amount", "double"),
                ("age", "int"),
                ("is_open", "boolean"),
                ("latest_txns", "string"),
                ("customer_details", "string"),
            ]
        );
        let range = |column: &str| -> serde_json::Value {
            let check = spec
                .product
                .checks
                .iter()
                .find(|c| c.kind == "range" && c.column == column)
                .unwrap_or_else(|| panic!("no range check of {column}"));
            serde_json::from_str(&check.definition).unwrap()
        };
        assert_eq!(
            range("txn_ref_date"),
            serde_json::json!({"min": "2020-01-01", "minExclusive": true, "max": "2021-01-01"})
        );
        assert_eq!(
            range("age"),
            serde_json::json!({"min": 18.0, "max": 100.0, "maxExclusive": true})
        );
        assert_eq!(
            range("txn_time"),
            serde_json::json!({"min": "00:00:00", "max": "23:59:59"})
        );
        // `list` names no type of any engine: the logical type decides, and the plan says so
        assert!(
            spec.notes
                .iter()
                .any(|n| n.contains("latest_txns") && n.contains("physicalType 'list'")),
            "{:?}",
            spec.notes
        );
    }

    #[test]
    fn nested_properties_and_items_are_structs_and_lists() {
        let spec = parse("nested.odcs.yaml", NESTED);
        let types: Vec<&str> = spec
            .product
            .columns
            .iter()
            .map(|c| c.data_type.as_str())
            .collect();
        assert_eq!(
            types,
            [
                "decimal(38,0)",
                "struct<street: string, zip: bigint>",
                "array<struct<sku: string, qty: int>>",
                "map<string, string>",
            ]
        );
        assert!(spec.notes.is_empty(), "{:?}", spec.notes);
        // the names lakemeta writes read back as the same types
        for c in &spec.product.columns {
            let t = arrow_type(&c.data_type).unwrap_or_else(|| panic!("{}", c.data_type));
            assert_eq!(super::super::type_name(&t), c.data_type);
        }
    }

    #[test]
    fn a_bound_that_is_not_a_value_of_the_column_names_the_fix() {
        let err = ProductSpec::parse(&SpecSource {
            file: "bad.odcs.yaml".into(),
            text: BAD_BOUND.into(),
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("bad.odcs.yaml")
                && err.contains("maximum")
                && err.contains("'next tuesday', which is not a date"),
            "{err}"
        );
    }
}
