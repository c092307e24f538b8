use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use serde::Deserialize;
use serde_norway::Value;

use super::relationships::{self, ForeignKeyDecl, RelationshipEntry};
use super::source::{Problems, SpecSource, yaml_error};
use super::types::{arrow_type, schema_hash};
use crate::error::Result;
use crate::model::{Check, Column, DataFormat, DataProduct, validate_name};

/// The parts of an ODCS v3 data contract that lakemeta reads. Fields it does not know are kept
/// in the stored contract text and otherwise ignored, as ODCS allows.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Odcs {
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
    /// ODCS v3.0.x: the element (`table.column`) the SLA properties are about by default.
    #[serde(default)]
    sla_default_element: Option<String>,
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
    /// A partition column of the table (with its place among them, `partitionKeyPosition`).
    #[serde(default)]
    partitioned: bool,
    #[serde(default)]
    partition_key_position: Option<i64>,
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
    /// True for a contract without schema object: it is the contract of a product that exists
    /// (or that another spec of the same apply describes), whose columns and checks stay.
    pub metadata_only: bool,
    /// The sources the contract declares (`transformSourceObjects` of a property, the
    /// `sources` custom property), as written.
    pub sources: Vec<SourceDecl>,
    /// The foreign keys it declares (`relationships` of type foreignKey), as written.
    pub foreign_keys: Vec<ForeignKeyDecl>,
    /// What lakemeta read differently from how the contract says it (a physical type it cannot
    /// map, an object without properties), for the plan.
    pub notes: Vec<String>,
    /// The owner team `lakemeta apply --owner` names: the owner when the contract names none,
    /// or names a team the warehouse's Teams spec does not have.
    pub owner_flag: Option<String>,
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
    /// True for lakemeta's own `sources` property, whose every entry must be a product; the
    /// standard's `transformSourceObjects` may name objects of other systems, kept without
    /// lineage.
    pub strict: bool,
}

impl ProductSpec {
    /// Parses an ODCS v3 contract: first the standard's own schema for its `apiVersion` judges
    /// it (every violation reported), then lakemeta reads what it needs. A contract describes
    /// one product per schema object (all sharing the contract's id, version and text), or —
    /// with no schema object — the contract metadata of a product that exists.
    pub fn parse(source: &SpecSource) -> Result<Vec<Self>> {
        let read_as = super::standard::conform(source)?;
        let c: Odcs = serde_norway::from_str(&source.text).map_err(|e| yaml_error(source, &e))?;
        if c.version.trim().is_empty() {
            return Err(source.error("version", "the contract version must not be empty"));
        }
        let mut notes: Vec<String> = read_as.into_iter().collect();
        // the domain and the product as the contract names them, made SQL names where they are
        // not; a contract that names no domain takes the one `apply --domain` gives
        let domain = match c.domain.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => sql_name("domain", d, &mut notes).map_err(|m| source.error("domain", m))?,
            None => String::new(),
        };
        let named = |candidates: &[(&'static str, Option<&str>)]| {
            candidates.iter().find_map(|(f, v)| {
                v.map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| (f.to_string(), v.to_string()))
            })
        };
        if c.schema.is_empty() {
            let (field, written) = named(&[
                ("dataProduct", c.data_product.as_deref()),
                ("name", c.name.as_deref()),
            ])
            .ok_or_else(|| {
                source.error(
                    "dataProduct",
                    "the contract has no schema object and names no data product: set \
                     'dataProduct' to the product whose contract it is, or describe its table \
                     in 'schema'",
                )
            })?;
            let name = sql_name("data product", &written, &mut notes)
                .map_err(|m| source.error(&field, m))?;
            let mut spec = Self::table(&c, source, None, domain, name)?;
            spec.product.display_name = display_name(&written, &spec.product.name);
            notes.append(&mut spec.notes);
            spec.notes = notes;
            spec.metadata_only = true;
            return Ok(vec![spec]);
        }
        let several = c.schema.len() > 1;
        // every object is read, so that the problems of all of them are reported at once
        let mut found = Problems::new(source);
        let mut specs = Vec::with_capacity(c.schema.len());
        let mut taken: Vec<(String, usize)> = Vec::new();
        for (k, object) in c.schema.iter().enumerate() {
            let object_names = [
                ("schema[].name", object.name.as_deref()),
                ("schema[].physicalName", object.physical_name.as_deref()),
            ];
            let found_name = if several {
                named(&object_names)
            } else {
                named(&[
                    ("dataProduct", c.data_product.as_deref()),
                    ("name", c.name.as_deref()),
                ])
                .or_else(|| named(&object_names))
            };
            let named_as = found_name.ok_or_else(|| {
                if several {
                    source.error(
                        &format!("schema[{k}]"),
                        "with several schema objects each is a table and names it: set the \
                         object's 'name' (or 'physicalName')",
                    )
                } else {
                    source.error(
                        "dataProduct",
                        "the contract names no data product: set 'dataProduct' (or 'name', or \
                         the schema object's 'name')",
                    )
                }
            });
            let Some((field, written)) = found.keep(named_as) else {
                continue;
            };
            let field = field.replace("schema[]", &format!("schema[{k}]"));
            let mut own_notes = Vec::new();
            let Some(name) = found.keep(
                sql_name("data product", &written, &mut own_notes)
                    .map_err(|m| source.error(&field, m)),
            ) else {
                continue;
            };
            if let Some((_, first)) = taken.iter().find(|(n, _)| *n == name) {
                found.push(source.error(
                    &field,
                    format!(
                        "schema objects {first} and {k} are both table '{name}': give each \
                         object its own name"
                    ),
                ));
                continue;
            }
            taken.push((name.clone(), k));
            let read = if object.properties.is_empty() {
                // a schema kept elsewhere (a registry, say): the contract of a product that is
                Self::table(&c, source, None, domain.clone(), name).map(|mut spec| {
                    spec.metadata_only = true;
                    own_notes.push(format!(
                        "schema[{k}] lists no properties: it is the contract of an existing \
                         product, whose columns stay as they are"
                    ));
                    spec
                })
            } else {
                Self::table(&c, source, Some((k, object)), domain.clone(), name)
            };
            let Some(mut spec) = found.keep(read) else {
                continue;
            };
            spec.product.display_name = display_name(&written, &spec.product.name);
            if !several && field != "dataProduct" {
                // the contract names no dataProduct: say where the name came from
                own_notes.push(format!(
                    "data product {} is named by the contract's '{field}'",
                    spec.product.name
                ));
            } else if several
                && k == 0
                && let Some(dp) = c.data_product.as_deref().filter(|d| !d.trim().is_empty())
            {
                own_notes.push(format!(
                    "dataProduct '{dp}' names the contract's data product; with several schema \
                     objects each object names its table ({})",
                    c.schema
                        .iter()
                        .filter_map(|o| o.name.as_deref().or(o.physical_name.as_deref()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if k == 0 {
                // the contract's own notes go with its first table
                let mut all = std::mem::take(&mut notes);
                all.append(&mut own_notes);
                own_notes = all;
            }
            own_notes.append(&mut spec.notes);
            spec.notes = own_notes;
            specs.push(spec);
        }
        found.finish()?;
        Ok(specs)
    }

    /// The product of schema object `k` of contract `c` (`None`: a contract without schema,
    /// whose product keeps the columns it has).
    fn table(
        c: &Odcs,
        source: &SpecSource,
        object: Option<(usize, &SchemaObject)>,
        domain: String,
        name: String,
    ) -> Result<Self> {
        let mut found = Problems::new(source);
        let mut notes = Vec::new();
        let mut columns = Vec::new();
        let mut checks = Vec::new();
        let mut sources = Vec::new();
        let mut foreign_keys = Vec::new();
        // (partitionKeyPosition, column): the partition columns, in their order
        let mut partitions: Vec<(i64, String)> = Vec::new();
        if let Some((k, object)) = object {
            for (i, p) in object.properties.iter().enumerate() {
                let base = format!("schema[{k}].properties[{i}]");
                if p.partitioned {
                    // without a position (or -1, the standard's "none"), after the others
                    let position = p.partition_key_position.filter(|n| *n >= 0);
                    partitions.push((position.unwrap_or(i64::MAX), p.name.clone()));
                }
                let at = |f: &str| format!("{base}.{f}");
                foreign_keys.extend(
                    found
                        .keep(
                            relationships::of_property(&p.name, &p.relationships, &base)
                                .map_err(|(at, m)| source.error(&at, m)),
                        )
                        .unwrap_or_default(),
                );
                sources.extend(
                    p.transform_source_objects
                        .iter()
                        .enumerate()
                        .map(|(j, from)| SourceDecl {
                            from: from.clone(),
                            into: Some(p.name.clone()),
                            at: at(&format!("transformSourceObjects[{j}]")),
                            strict: false,
                        }),
                );
                if p.name.trim().is_empty() {
                    found.push(source.error(
                        &at("name"),
                        "a property needs a name: the column it describes",
                    ));
                    continue;
                }
                if columns.iter().any(|c: &Column| c.name == p.name) {
                    found.push(source.error(&at("name"), format!("duplicate column '{}'", p.name)));
                    continue;
                }
                let Some(arrow) = found.keep(
                    property_type(p, &base, &mut notes).map_err(|(at, m)| source.error(&at, m)),
                ) else {
                    continue;
                };
                let declared = super::types::type_name(&arrow);
                let mut accepted = Vec::new();
                for (q, entry) in p.quality.iter().enumerate() {
                    let Some(check) = found.keep(
                        declared_check(&checks, entry, &p.name)
                            .map_err(|m| source.error(&at(&format!("quality[{q}]")), m)),
                    ) else {
                        continue;
                    };
                    if check.kind == "accepted_values"
                        && let Some(values) = valid_values(entry)
                    {
                        accepted = values;
                    }
                    checks.push(check);
                }
                // implicit checks after the declared ones, so a declared check of the same
                // name (with its own bound) wins
                if p.required || p.primary_key {
                    checks.push(implicit("not_null", &p.name));
                }
                if p.unique || p.primary_key {
                    checks.push(implicit("unique", &p.name));
                }
                if let Some(options) = &p.logical_type_options {
                    let at = at("logicalTypeOptions");
                    let logical = p.logical_type.as_deref().map(str::trim);
                    if let Some(Some(range)) = found.keep(
                        range_of(options, &arrow, logical, &p.name)
                            .map_err(|(k, m)| source.error(&format!("{at}.{k}"), m)),
                    ) {
                        checks.push(derived("range", &p.name, range));
                    }
                    if let Some(pattern) = options.get("pattern") {
                        let readable =
                            match pattern.as_str() {
                                None => Err(source
                                    .error(&format!("{at}.pattern"), "'pattern' needs a string")),
                                Some(text) => regex::Regex::new(text).map(|_| text).map_err(|e| {
                                    source.error(
                                        &format!("{at}.pattern"),
                                        format!("not a valid regular expression: {e}"),
                                    )
                                }),
                            };
                        if let Some(pattern) = found.keep(readable) {
                            checks.push(derived(
                                "pattern",
                                &p.name,
                                serde_json::json!({"arguments": {"pattern": pattern}}),
                            ));
                        }
                    }
                    let length = |k: &str| -> Result<Option<u64>> {
                        match options.get(k) {
                            None => Ok(None),
                            Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                                source.error(
                                    &format!("{at}.{k}"),
                                    format!("'{k}' needs a whole number of characters"),
                                )
                            }),
                        }
                    };
                    let (min, max) = (length("minLength"), length("maxLength"));
                    let (min, max) = (found.keep(min).flatten(), found.keep(max).flatten());
                    if min.is_some() || max.is_some() {
                        checks.push(derived(
                            "length",
                            &p.name,
                            serde_json::json!({"min": min, "max": max}),
                        ));
                    }
                    // what the standard lets a contract say that lakemeta does not check
                    let unchecked: Vec<&str> =
                        ["format", "multipleOf", "timezone", "defaultTimezone"]
                            .into_iter()
                            .filter(|k| {
                                options.get(*k).is_some()
                                    && !(*k == "format"
                                        && matches!(
                                            p.logical_type.as_deref(),
                                            Some("integer" | "number")
                                        ))
                            })
                            .collect();
                    if !unchecked.is_empty() {
                        notes.push(format!(
                            "column '{}': logicalTypeOptions {} kept in the contract, not checked \
                             by lakemeta",
                            p.name,
                            unchecked.join(", ")
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
                found
                    .keep(
                        relationships::of_object(
                            object.name.as_deref(),
                            &name,
                            &object.relationships,
                            &names,
                        )
                        .map_err(|(at, m)| source.error(&at, m)),
                    )
                    .unwrap_or_default(),
            );
            for (q, entry) in object.quality.iter().enumerate() {
                if let Some(check) = found.keep(
                    declared_check(&checks, entry, "")
                        .map_err(|m| source.error(&format!("schema[{k}].quality[{q}]"), m)),
                ) {
                    checks.push(check);
                }
            }
        }

        let mut product = DataProduct {
            domain,
            name,
            kind: "managed".into(),
            location: String::new(),
            format: "delta".into(),
            owner: team_name(c.team.as_ref()),
            description: description(c, object.map(|(_, o)| o)),
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
            ..DataProduct::default()
        };
        for (i, s) in c.sla_properties.iter().enumerate() {
            let at = format!("slaProperties[{i}].value");
            let read = matches!(
                s.property.as_str(),
                "freshness" | "latency" | "availability" | "completeness"
            );
            if !read {
                // kept in the contract as written (generalAvailability, retention, ...)
                continue;
            }
            let Some(number) = s.value.as_f64() else {
                notes.push(format!(
                    "{at}: the {} SLA is not a number ({}): kept in the contract, not checked \
                     (write a number, and its unit in 'unit', for lakemeta to check it)",
                    s.property,
                    serde_json::to_string(&s.value).unwrap_or_default()
                ));
                continue;
            };
            match s.property.as_str() {
                "freshness" | "latency" => match to_minutes(number, s.unit.as_deref()) {
                    Some(minutes) => product.sla_freshness_minutes = Some(minutes),
                    // the standard leaves the unit free: kept, and said
                    None => notes.push(format!(
                        "slaProperties[{i}].unit: the {} SLA's unit '{}' is not one lakemeta \
                         reads (s, m, h, d, w, mo, y and their long forms): kept in the \
                         contract, not checked",
                        s.property,
                        s.unit.as_deref().unwrap_or_default()
                    )),
                },
                "availability" => product.sla_availability_percent = Some(number),
                "completeness" => product.sla_completeness_percent = Some(number),
                _ => {}
            }
        }
        let freshness_column = found.keep(freshness_element(c, source, &product)).flatten();
        let mut external = false;
        for (i, p) in c.custom_properties.iter().enumerate() {
            let at = format!("customProperties[{i}].value");
            let text = || {
                p.value
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| source.error(&at, format!("'{}' needs a string", p.property)))
            };
            // each property read on its own: a bad one is kept as a problem, the next is read
            let read: Result<()> = (|| {
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
                    "retentionDays" => {
                        product.retention_days = Some(
                            super::storage_policy::retention_days(&p.value)
                                .map_err(|m| source.error(&at, m))?,
                        );
                    }
                    "targetFileSize" => {
                        product.target_file_size = Some(
                            super::storage_policy::target_file_size(&p.value)
                                .map_err(|m| source.error(&at, m))?,
                        );
                    }
                    "rowFilter" => {
                        let predicate = text()?;
                        super::policy_spec::check_expression(&predicate, &[], "")
                            .map_err(|why| source.error(&at, format!("the row filter {why}")))?;
                        product.row_filter = Some(predicate.trim().to_string());
                    }
                    "rowFilterAppliesToOwners" => {
                        product.row_filter_applies_to_owners =
                            Some(p.value.as_bool().ok_or_else(|| {
                                source.error(&at, "rowFilterAppliesToOwners needs true or false")
                            })?);
                    }
                    "accessPatterns" => {
                        product.access_patterns = serde_norway::from_value(p.value.clone())
                            .map_err(|_| {
                                source.error(&at, "accessPatterns needs a list of names")
                            })?;
                    }
                    "sources" => {
                        let list: Vec<String> =
                            serde_norway::from_value(p.value.clone()).map_err(|_| {
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
                            strict: true,
                        }));
                    }
                    _ => {}
                }
                Ok(())
            })();
            found.keep(read);
        }
        if !external && !partitions.is_empty() {
            // stable: columns of one position keep the schema's order
            partitions.sort_by_key(|(position, _)| *position);
            product.partition_by = Some(partitions.into_iter().map(|(_, c)| c).collect());
        }
        if !external && product.format != "delta" {
            found.push(source.error(
                "customProperties",
                "a managed product (no 'location') is stored as Delta; set a 'location' to \
                 register external files of another format",
            ));
        }
        if object.is_none() && external {
            found.push(source.error(
                "customProperties",
                "a contract without schema object is the contract of a product as it is and \
                 cannot give it a location: describe the table in 'schema' to register files",
            ));
        }
        found.finish()?;
        if object.is_some() {
            // after the custom properties: which checks apply depends on the format
            derive_table_checks(&mut product, freshness_column, &mut checks);
            dedupe(&mut checks);
        }
        product.checks = checks;
        Ok(ProductSpec {
            product,
            external,
            metadata_only: false,
            sources,
            foreign_keys,
            notes,
            owner_flag: None,
        })
    }
}

impl ProductSpec {
    /// A contract without schema as the contract of `existing`: the product keeps its table,
    /// columns and checks, and takes the contract's id, version and text, and the team,
    /// description, tags, access patterns and SLA the contract gives.
    pub fn attached_to(&self, existing: &DataProduct) -> DataProduct {
        let c = &self.product;
        let mut p = existing.clone();
        p.contract_id = c.contract_id.clone();
        p.contract_version = c.contract_version.clone();
        p.contract_spec = c.contract_spec.clone();
        if !c.owner.is_empty() {
            p.owner = c.owner.clone();
        }
        if !c.description.is_empty() {
            p.description = c.description.clone();
        }
        if !c.tags.is_empty() {
            p.tags = c.tags.clone();
        }
        if !c.access_patterns.is_empty() {
            p.access_patterns = c.access_patterns.clone();
        }
        if c.display_name.is_some() {
            p.display_name = c.display_name.clone();
        }
        p.sla_freshness_minutes = c.sla_freshness_minutes.or(p.sla_freshness_minutes);
        p.sla_availability_percent = c.sla_availability_percent.or(p.sla_availability_percent);
        p.sla_completeness_percent = c.sla_completeness_percent.or(p.sla_completeness_percent);
        p
    }
}

/// The name as the contract writes it, when the product's SQL name differs from it.
fn display_name(written: &str, name: &str) -> Option<String> {
    (written != name).then(|| written.to_string())
}

/// The column a freshness SLA's `element` names (`table.column` or `column`), checked against
/// the product's columns (a contract without schema names columns of the product as it is).
fn freshness_element(
    c: &Odcs,
    source: &SpecSource,
    product: &DataProduct,
) -> Result<Option<String>> {
    let mut found = None;
    for (i, s) in c.sla_properties.iter().enumerate() {
        if s.property != "freshness" && s.property != "latency" {
            continue;
        }
        let Some(element) = &s.element else {
            // the contract's default element, where it names a column of this table
            if let Some(default) = &c.sla_default_element {
                let mut parts = default.rsplit('.');
                let column = parts.next().unwrap_or(default);
                let table_ok = parts
                    .next()
                    .is_none_or(|t| c.schema.len() <= 1 || t == product.name);
                if table_ok && product.columns.iter().any(|k| k.name == column) {
                    found = Some(column.to_string());
                }
            }
            continue;
        };
        let mut parts = element.rsplit('.');
        let column = parts.next().unwrap_or(element);
        // with several tables, an element names a column of the table it is about
        if let Some(table) = parts.next()
            && c.schema.len() > 1
            && table != product.name
        {
            continue;
        }
        if !product.columns.is_empty() && !product.columns.iter().any(|c| c.name == column) {
            return Err(source.error(
                &format!("slaProperties[{i}].element"),
                format!(
                    "'{element}' names column '{column}', which is not in the schema; name the \
                     timestamp column whose newest value the freshness SLA is about"
                ),
            ));
        }
        found = Some(column.to_string());
    }
    Ok(found)
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

/// A quality entry as a check named apart from the entries before it: an unnamed entry whose
/// kind and column another entry already has (two Soda checks of one column, say) is
/// `custom(id)_2`, so that every entry is kept and shown.
fn declared_check(before: &[Check], entry: &Value, column: &str) -> Result<Check, String> {
    let mut check = quality_check(entry, column)?;
    if entry.get("name").is_none() {
        let base = check.name.clone();
        let mut n = 1;
        while before.iter().any(|c| c.name == check.name) {
            n += 1;
            check.name = format!("{base}_{n}");
        }
    }
    Ok(check)
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
    serde_norway::from_value(v.clone()).ok()
}

/// An ODCS quality entry as a check: `metric` (or the older `rule`) names a library check
/// (nullValues, duplicateValues, invalidValues, rowCount, ...), `type: sql` with a `query` is a
/// SQL check. Entries lakemeta keeps without running — `type: text`, another engine's
/// `type: custom`, a rule it does not know, a column metric at the table level — are checks of
/// kind `text`, `custom` or `not_run`, reported as skipped when checks run.
fn quality_check(entry: &Value, column: &str) -> Result<Check, String> {
    let text = |k: &str| entry.get(k).and_then(Value::as_str);
    let metric = text("metric").or_else(|| text("rule"));
    let declared_type = text("type").unwrap_or("library");
    let has_pattern = entry
        .get("arguments")
        .and_then(|a| a.get("pattern"))
        .is_some();
    let combination = entry
        .get("arguments")
        .and_then(|a| a.get("properties"))
        .and_then(Value::as_sequence)
        .is_some_and(|p| !p.is_empty());
    let kind = match (declared_type, metric) {
        ("text", _) => "text".to_string(),
        // lakemeta's own custom check: columns that look like PII and are not classified so
        ("custom", _)
            if text("engine").is_some_and(|e| e.eq_ignore_ascii_case("lakemeta"))
                && text("implementation")
                    .is_some_and(|i| i.trim().eq_ignore_ascii_case("unclassified_pii")) =>
        {
            "unclassified_pii".to_string()
        }
        ("custom", _) => "custom".to_string(),
        ("sql", _) => {
            if text("query").is_none() {
                return Err("a 'type: sql' quality entry needs a 'query'".into());
            }
            "sql".to_string()
        }
        (_, Some(m)) => match crate::model::metric_kind(m, has_pattern) {
            // duplicates of a combination of columns are a table's metric
            Some("unique") if column.is_empty() && combination => "unique".to_string(),
            Some(_) if column.is_empty() && crate::model::is_column_metric(m) => {
                "not_run".to_string()
            }
            Some(k) => k.to_string(),
            None => "not_run".to_string(),
        },
        (_, None) => {
            return Err(
                "a quality entry needs 'metric' (or 'rule'), or a 'type': sql with a 'query', \
                 text or custom"
                    .to_string(),
            );
        }
    };
    if matches!(kind.as_str(), "text" | "custom" | "not_run") {
        // kept as written, bound and all, for the engine or the people it is for
        return Ok(Check {
            name: check_name(entry, &kind, column),
            definition: serde_json::to_string(entry).map_err(|e| e.to_string())?,
            kind,
            column: column.to_string(),
        });
    }
    crate::model::bound(&serde_json::to_value(entry).unwrap_or_default())?;
    let definition = serde_json::to_string(entry).map_err(|e| e.to_string())?;
    Ok(Check {
        name: check_name(entry, &kind, column),
        kind,
        column: column.to_string(),
        definition,
    })
}

/// A check's name: the entry's `name`, else its kind and column (`not_null(id)`).
fn check_name(entry: &Value, kind: &str, column: &str) -> String {
    entry
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            if column.is_empty() {
                kind.to_string()
            } else {
                format!("{kind}({column})")
            }
        })
}

/// The owner team a standard's `team` names: its `name` (an object, ODCS v3.1 / ODPS v1.0), or
/// the member with role `owner` (a list of members, the earlier versions, or the object's
/// `members` when it has no name).
pub(crate) fn team_name(team: Option<&Value>) -> String {
    fn owner_member(members: &[Value]) -> Option<&str> {
        members
            .iter()
            .find(|m| {
                m.get("role")
                    .and_then(Value::as_str)
                    .is_some_and(|r| r.trim().eq_ignore_ascii_case("owner"))
            })
            .and_then(|m| m.get("username").or_else(|| m.get("name")))
            .and_then(Value::as_str)
    }
    match team {
        Some(Value::Mapping(m)) => m.get("name").and_then(Value::as_str).or_else(|| {
            m.get("members")
                .and_then(Value::as_sequence)
                .and_then(|m| owner_member(m))
        }),
        Some(Value::Sequence(members)) => owner_member(members),
        Some(Value::String(s)) => Some(s.as_str()),
        _ => None,
    }
    .unwrap_or_default()
    .to_string()
}

fn description(c: &Odcs, object: Option<&SchemaObject>) -> String {
    match &c.description {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Mapping(m)) => m
            .get("purpose")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        _ => object
            .and_then(|o| o.description.clone())
            .unwrap_or_default(),
    }
}

/// A duration in `unit` as whole minutes (rounded up); `None` for a unit lakemeta does not read.
fn to_minutes(value: f64, unit: Option<&str>) -> Option<i64> {
    let unit = unit.unwrap_or("m").trim().to_ascii_lowercase();
    let factor = match unit.as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0 / 60.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 1.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 60.0,
        "d" | "day" | "days" => 1440.0,
        "w" | "wk" | "week" | "weeks" => 10_080.0,
        "mo" | "month" | "months" => 43_830.0,
        "y" | "yr" | "yrs" | "year" | "years" => 525_960.0,
        _ => return None,
    };
    let minutes = (value * factor).ceil();
    (minutes.is_finite() && minutes >= 0.0 && minutes < i64::MAX as f64).then_some(minutes as i64)
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
    let what = column_label(p, at);
    let logical = p.logical_type.as_deref().map(str::trim);
    let option = |k: &str| type_option(p, k);
    if let Some(physical) = &p.physical_type
        && let Some(t) = arrow_type(physical)
    {
        return Ok(
            match (physical.trim().to_ascii_lowercase().as_str(), logical) {
                // engines disagree on a bare `float`: 4 bytes in Spark, MySQL and lakemeta, 8 in
                // Postgres, Snowflake, SQL Server and BigQuery; the logical type's format says which
                ("float", Some("number")) => match option("format") {
                    Some("f64") => DataType::Float64,
                    Some("f32") => DataType::Float32,
                    _ => {
                        notes.push(format!(
                        "{what}: physicalType 'float' is 4 bytes in Spark, MySQL and lakemeta but \
                         8 in Postgres, Snowflake, SQL Server and BigQuery: read as float \
                         (32-bit); say logicalTypeOptions.format: f64 (or physicalType double) \
                         for 64-bit"
                    ));
                        t
                    }
                },
                // a bare NUMBER is Snowflake's NUMBER(38,0) (integers) but Oracle's any number:
                // lakemeta reads it as double unless the logical type says integer
                ("number", Some("integer")) => return property_type_logical(p, at, None, notes),
                _ => t,
            },
        );
    }
    property_type_logical(p, at, p.physical_type.as_deref(), notes)
}

/// How messages name a property: `column 'x'`, or where it is when it has no name.
fn column_label(p: &Property, at: &str) -> String {
    if p.name.is_empty() {
        at.to_string()
    } else {
        format!("column '{}'", p.name)
    }
}

/// A text option of the property's `logicalTypeOptions`.
fn type_option<'a>(p: &'a Property, key: &str) -> Option<&'a str> {
    p.logical_type_options
        .as_ref()
        .and_then(|o| o.get(key))
        .and_then(Value::as_str)
}

/// The Arrow type a property's `logicalType` and its options give (see [`property_type`]);
/// `unmapped` is the physical type lakemeta could not map, said in a note.
fn property_type_logical(
    p: &Property,
    at: &str,
    unmapped: Option<&str>,
    notes: &mut Vec<String>,
) -> std::result::Result<DataType, (String, String)> {
    let what = column_label(p, at);
    let logical = p.logical_type.as_deref().map(str::trim);
    let option = |k: &str| type_option(p, k);
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
                if unmapped.is_some() {
                    " and a physicalType lakemeta does not map"
                } else {
                    " or physicalType"
                }
            ));
            return Ok(DataType::Utf8);
        }
    };
    if let Some(physical) = unmapped {
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
/// that type. Where both an inclusive and an exclusive bound are given, the stricter holds. A
/// column held as text (`physicalType: varchar(10)`) whose `logicalType` is a date, timestamp,
/// time or number takes bounds of that logical type, and its values are compared as such.
fn range_of(
    options: &Value,
    physical: &DataType,
    logical: Option<&str>,
    column: &str,
) -> std::result::Result<Option<serde_json::Value>, (String, String)> {
    use datafusion::common::ScalarValue;
    let text_column = matches!(
        physical,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    );
    let judged = match logical {
        Some("date") if text_column => DataType::Date32,
        Some("timestamp") if text_column => {
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        }
        Some("time") if text_column => DataType::Time64(TimeUnit::Microsecond),
        Some("number" | "integer") if text_column => DataType::Float64,
        _ => physical.clone(),
    };
    let arrow = &judged;
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
                other => serde_norway::to_string(other)
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
pub(crate) fn sql_name(
    what: &str,
    written: &str,
    notes: &mut Vec<String>,
) -> Result<String, String> {
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
team:
  name: sales-team
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
team:
  name: sales-team
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
        .remove(0)
    }

    /// The standard's example of every logical type, with the domain and team it leaves out.
    #[test]
    fn the_standards_data_types_example_reads_as_it_means() {
        let example =
            include_str!("../../tests/fixtures/odcs-standard/data-types--all-data-types.odcs.yaml");
        let spec = parse(
            "all-data-types.odcs.yaml",
            &format!("domain: payments\nteam:\n  name: payments-team\n{example}"),
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
    fn a_freshness_sla_without_element_is_about_the_default_element() {
        let contract = "apiVersion: v3.0.2\nkind: DataContract\nid: t\nversion: 1.0.0\n\
                        status: active\ndomain: sales\ndataProduct: orders\n\
                        slaDefaultElement: orders.updated_at\nslaProperties:\n  - property: \
                        latency\n    value: 4\n    unit: h\nschema:\n  - name: orders\n    \
                        properties:\n      - name: created_at\n        logicalType: timestamp\n\
                        \x20     - name: updated_at\n        logicalType: timestamp\n";
        let spec = parse("t.yaml", contract);
        let freshness: Vec<&str> = spec
            .product
            .checks
            .iter()
            .filter(|c| c.kind == "freshness")
            .map(|c| c.column.as_str())
            .collect();
        assert_eq!(freshness, ["updated_at"]);
        assert_eq!(spec.product.sla_freshness_minutes, Some(240));
    }

    #[test]
    fn the_owner_team_is_the_teams_name_or_its_owner_member() {
        let yaml = |t: &str| serde_norway::from_str::<Value>(t).unwrap();
        assert_eq!(team_name(Some(&yaml("name: sales-team"))), "sales-team");
        assert_eq!(
            team_name(Some(&yaml(
                "members:\n  - username: ann\n    role: analyst\n  - username: sales-team\n    role: Owner\n"
            ))),
            "sales-team"
        );
        assert_eq!(
            team_name(Some(&yaml("- username: bob\n  role: owner\n"))),
            "bob"
        );
        assert_eq!(team_name(Some(&yaml("members: []"))), "");
        assert_eq!(team_name(None), "");
    }

    #[test]
    fn sla_units_are_read_in_every_common_spelling_and_an_unknown_one_is_kept() {
        assert_eq!(to_minutes(2.0, Some("hr")), Some(120));
        assert_eq!(to_minutes(1.0, Some("W")), Some(10_080));
        assert_eq!(to_minutes(1.0, Some("y")), Some(525_960));
        assert_eq!(to_minutes(90.0, Some("seconds")), Some(2));
        assert_eq!(to_minutes(5.0, None), Some(5));
        assert_eq!(to_minutes(1.0, Some("fortnight")), None);
        assert_eq!(to_minutes(1e300, Some("y")), None);
        let contract = include_str!("../../tests/slt/masks/leads.yaml").replace(
            "customProperties:",
            "slaProperties:\n  - property: latency\n    value: 2\n    unit: fortnight\ncustomProperties:",
        );
        let spec = parse("leads.yaml", &contract);
        assert_eq!(spec.product.sla_freshness_minutes, None);
        assert!(
            spec.notes.iter().any(|n| n.contains("unit 'fortnight'")),
            "{:?}",
            spec.notes
        );
    }

    #[test]
    fn lakemetas_custom_check_and_row_filter_are_read_from_the_contract() {
        let leads = include_str!("../../tests/slt/masks/leads.yaml");
        let spec = parse("leads.yaml", leads);
        let p = &spec.product;
        assert_eq!(
            p.row_filter.as_deref(),
            Some("region = principal_attribute('region')")
        );
        assert_eq!(p.row_filter_applies_to_owners, None);
        let check = p
            .checks
            .iter()
            .find(|c| c.name == "no_unclassified_pii")
            .unwrap();
        assert_eq!(
            (check.kind.as_str(), check.column.as_str()),
            ("unclassified_pii", "")
        );
        // another engine's custom check stays another engine's
        let soda = leads.replace("engine: lakemeta", "engine: soda");
        let spec = parse("leads.yaml", &soda);
        let check = spec
            .product
            .checks
            .iter()
            .find(|c| c.name == "no_unclassified_pii")
            .unwrap();
        assert_eq!(check.kind, "custom");
        let owners = leads.replace(
            "customProperties:\n",
            "customProperties:\n  - property: rowFilterAppliesToOwners\n    value: yes please\n",
        );
        let err = ProductSpec::parse(&SpecSource {
            file: "leads.yaml".into(),
            text: owners,
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("rowFilterAppliesToOwners needs true or false"),
            "{err}"
        );
    }

    /// A bare `float` or `NUMBER` means different widths in different engines: the logical
    /// type's format (or integer) says which, and a `float` left unsaid gets a note.
    #[test]
    fn bare_float_and_number_follow_the_logical_type() {
        let spec = parse(
            "floats.odcs.yaml",
            "apiVersion: v3.1.0\nkind: DataContract\nid: f\nversion: 1.0.0\nstatus: active\n\
             domain: d\nschema:\n  - name: t\n    properties:\n\
             \x20     - {name: a, physicalType: float, logicalType: number}\n\
             \x20     - {name: b, physicalType: FLOAT, logicalType: number, logicalTypeOptions: {format: f64}}\n\
             \x20     - {name: c, physicalType: NUMBER, logicalType: integer, logicalTypeOptions: {format: i64}}\n\
             \x20     - {name: d, physicalType: NUMBER, logicalType: number}\n\
             \x20     - {name: e, physicalType: real, logicalType: number}\n",
        );
        let types: Vec<&str> = spec
            .product
            .columns
            .iter()
            .map(|c| c.data_type.as_str())
            .collect();
        assert_eq!(types, ["float", "double", "bigint", "double", "float"]);
        let about_types: Vec<&String> = spec
            .notes
            .iter()
            .filter(|n| n.contains("physicalType"))
            .collect();
        assert_eq!(about_types.len(), 1, "{:?}", spec.notes);
        assert!(
            about_types[0].contains("column 'a': physicalType 'float' is 4 bytes in Spark")
                && about_types[0].contains("logicalTypeOptions.format: f64"),
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
