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
        let domain = c
            .domain
            .clone()
            .ok_or_else(|| source.error("domain", "missing 'domain': name the owning domain"))?;
        validate_name("domain", &domain).map_err(|m| source.error("domain", m))?;
        let name = c.data_product.clone().ok_or_else(|| {
            source.error(
                "dataProduct",
                "missing 'dataProduct': name the data product",
            )
        })?;
        validate_name("product", &name).map_err(|m| source.error("dataProduct", m))?;
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
            if columns.iter().any(|c: &Column| c.name == p.name) {
                return Err(source.error(&at("name"), format!("duplicate column '{}'", p.name)));
            }
            let (field, declared) = match (&p.physical_type, &p.logical_type) {
                (Some(t), _) => ("physicalType", t.clone()),
                (None, Some(t)) => ("logicalType", t.clone()),
                (None, None) => {
                    return Err(source.error(
                        &at("logicalType"),
                        format!(
                            "column '{}' has neither logicalType nor physicalType",
                            p.name
                        ),
                    ));
                }
            };
            let Some(arrow) = arrow_type(&declared) else {
                return Err(source.error(
                    &at(field),
                    format!(
                        "unknown type '{declared}' for column '{}': use string, int, bigint, \
                         double, float, boolean, date, timestamp or decimal(p,s)",
                        p.name
                    ),
                ));
            };
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
                let number = |k: &str| -> Result<Option<f64>> {
                    match options.get(k) {
                        None => Ok(None),
                        Some(v) => v.as_f64().map(Some).ok_or_else(|| {
                            source.error(&format!("{at}.{k}"), format!("'{k}' needs a number"))
                        }),
                    }
                };
                let (lo, hi) = (number("minimum")?, number("maximum")?);
                if lo.is_some() || hi.is_some() {
                    if !arrow.is_numeric() {
                        return Err(source.error(
                            &at,
                            format!(
                                "minimum/maximum need a numeric column; '{}' is {declared}",
                                p.name
                            ),
                        ));
                    }
                    checks.push(derived(
                        "range",
                        &p.name,
                        serde_json::json!({"min": lo, "max": hi}),
                    ));
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
                data_type: super::types::type_name(&arrow),
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
        if product.owner.is_empty() {
            return Err(source.error(
                "team",
                "no owner: set 'team' (a name, or members with role owner) or the custom \
                 property 'owner'",
            ));
        }
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
            .or(members.first())
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
