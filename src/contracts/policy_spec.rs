//! lakemeta's `Policy` spec: which tags make a product sensitive, how long grants and access
//! requests live, whether other products are open to every authenticated principal, how each
//! PII type is masked, and which rows of a product each principal sees.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{Expr as SqlExpr, visit_expressions};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use serde::Deserialize;
use serde_norway::Value;

use super::source::{SpecSource, yaml_error};
use crate::error::Result;
use crate::model::{ColumnMaskRule, DefaultAccess, MaskKind, Policy, ProductName, RowFilterRule};

/// The access policy, as code; every field is optional and defaults to the platform's rules:
///
/// ```yaml
/// apiVersion: lakemeta/v1
/// kind: Policy
/// sensitiveTags: [pii, financial, health, personal]   # reading needs a grant
/// piiTypes: [email, phone, ssn, credit_card, address] # column classifications that are pii
/// maxGrantDays: 90                                    # the longest grant
/// requestTtlDays: 7                                   # a pending request lapses after
/// defaultAccess: open                                 # other products: open or closed
/// masks:                                              # per PII type; defaults below
///   email: email                                      # j***@example.com
///   phone: last4                                      # ***4567
///   ssn: hash                                         # keyed hash: joins, counts distinct
///   address: { sql: "left(value, 2) || '…'" }         # SQL over the raw `value`
/// maskedReadWithoutGrant: false                       # PII-only products: masked, no grant
/// rowFilters:
///   - product: sales.orders
///     predicate: "region = principal_attribute('region')"
///     appliesToOwners: false                          # owner team and admins see all rows
/// ```
///
/// A PII type without a mask gets `email` (email), `last4` (phone, ssn, credit_card) or
/// `redact` (every other type).
#[derive(Debug, Clone)]
pub struct PolicySpec {
    /// The policy it declares (version and authorship are set when it is applied).
    pub policy: Policy,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Raw {
    api_version: String,
    #[allow(dead_code)] // checked by the dispatcher
    kind: String,
    sensitive_tags: Option<Vec<String>>,
    pii_types: Option<Vec<String>>,
    max_grant_days: Option<i64>,
    request_ttl_days: Option<i64>,
    default_access: Option<String>,
    masks: Option<BTreeMap<String, Value>>,
    masked_read_without_grant: Option<bool>,
    row_filters: Option<Vec<RawRowFilter>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawRowFilter {
    product: String,
    predicate: String,
    applies_to_owners: Option<bool>,
}

/// The longest a grant or a pending request may be set to live: ten years.
const MAX_DAYS: i64 = 3650;

impl PolicySpec {
    /// Parses and validates a Policy spec.
    pub fn parse(source: &SpecSource) -> Result<Self> {
        let raw: Raw = serde_norway::from_str(&source.text).map_err(|e| yaml_error(source, &e))?;
        if raw.api_version != "lakemeta/v1" {
            return Err(source.error(
                "apiVersion",
                format!(
                    "unsupported apiVersion '{}': use lakemeta/v1",
                    raw.api_version
                ),
            ));
        }
        let defaults = Policy::default();
        let days = |field: &str, value: Option<i64>, default: i64| match value {
            None => Ok(default),
            Some(d) if (1..=MAX_DAYS).contains(&d) => Ok(d),
            Some(d) => Err(source.error(
                field,
                format!("{d} days is out of range: give a number of days from 1 to {MAX_DAYS}"),
            )),
        };
        let words = |field: &str, value: Option<Vec<String>>, default: Vec<String>| {
            let list: Vec<String> = value
                .unwrap_or(default)
                .into_iter()
                .map(|t| t.trim().to_lowercase())
                .collect();
            if list.iter().any(String::is_empty) {
                return Err(source.error(field, "an empty entry: remove it"));
            }
            Ok(list)
        };
        let default_access = match raw.default_access.as_deref() {
            None | Some("open") => DefaultAccess::Open,
            Some("closed") => DefaultAccess::Closed,
            Some(other) => {
                return Err(source.error(
                    "defaultAccess",
                    format!(
                        "unknown access '{other}': use open (every authenticated principal \
                         reads products without a sensitive tag) or closed (a grant is needed)"
                    ),
                ));
            }
        };
        let pii_types = words("piiTypes", raw.pii_types, defaults.pii_types)?;
        let masks = masks(source, raw.masks.unwrap_or_default(), &pii_types)?;
        let row_filters = row_filters(source, raw.row_filters.unwrap_or_default())?;
        Ok(Self {
            policy: Policy {
                version: 0,
                sensitive_tags: words(
                    "sensitiveTags",
                    raw.sensitive_tags,
                    defaults.sensitive_tags,
                )?,
                pii_types,
                max_grant_days: days("maxGrantDays", raw.max_grant_days, defaults.max_grant_days)?,
                request_ttl_days: days(
                    "requestTtlDays",
                    raw.request_ttl_days,
                    defaults.request_ttl_days,
                )?,
                default_access,
                masks,
                row_filters,
                masked_read_without_grant: raw.masked_read_without_grant.unwrap_or(false),
                spec: source.text.clone(),
                updated_at: 0,
                updated_by: String::new(),
            },
        })
    }
}

/// The `masks` section: each key a PII type of the policy, each value a built-in's name or
/// `{ sql: "…" }` over `value`.
fn masks(
    source: &SpecSource,
    raw: BTreeMap<String, Value>,
    pii_types: &[String],
) -> Result<Vec<ColumnMaskRule>> {
    let builtins: Vec<&str> = MaskKind::ALL.iter().map(|k| k.as_str()).collect();
    let mut out = Vec::new();
    for (classification, value) in raw {
        let field = format!("masks.{classification}");
        let classification = classification.trim().to_lowercase();
        if !pii_types.contains(&classification) {
            return Err(source.error(
                &field,
                format!(
                    "unknown classification '{classification}': masks are set per PII type, \
                     and piiTypes lists {}; add it to piiTypes or remove the mask",
                    pii_types.join(", ")
                ),
            ));
        }
        let rule = match &value {
            Value::String(name) => match MaskKind::parse(name.trim()) {
                Some(k) => ColumnMaskRule {
                    classification,
                    mask: k.as_str().into(),
                    expression: None,
                },
                None => {
                    return Err(source.error(
                        &field,
                        format!(
                            "unknown mask '{name}': use one of {}, or {{ sql: \"…\" }} with an \
                             expression over value",
                            builtins.join(", ")
                        ),
                    ));
                }
            },
            Value::Mapping(m) if m.len() == 1 => {
                let Some(Value::String(sql)) = m.get("sql") else {
                    return Err(source.error(
                        &field,
                        "a SQL mask is written { sql: \"expression over value\" }",
                    ));
                };
                check_expression(sql, &["value"], "the column's raw value")
                    .map_err(|why| source.error(&field, format!("the mask {why}")))?;
                ColumnMaskRule {
                    classification,
                    mask: "sql".into(),
                    expression: Some(sql.trim().to_string()),
                }
            }
            _ => {
                return Err(source.error(
                    &field,
                    format!(
                        "a mask is a name ({}) or {{ sql: \"expression over value\" }}",
                        builtins.join(", ")
                    ),
                ));
            }
        };
        out.push(rule);
    }
    Ok(out)
}

/// The `rowFilters` section: one per product, each predicate valid SQL.
fn row_filters(source: &SpecSource, raw: Vec<RawRowFilter>) -> Result<Vec<RowFilterRule>> {
    let mut out: Vec<RowFilterRule> = Vec::new();
    for (i, f) in raw.into_iter().enumerate() {
        let field = format!("rowFilters[{i}]");
        let product: ProductName = f
            .product
            .trim()
            .parse()
            .map_err(|e: String| source.error(&format!("{field}.product"), e))?;
        let product = product.to_string();
        if out.iter().any(|o| o.product == product) {
            return Err(source.error(
                &format!("{field}.product"),
                format!("{product} has a row filter already: combine the two predicates with AND"),
            ));
        }
        if let Err(why) = check_expression(&f.predicate, &[], "") {
            return Err(source.error(
                &format!("{field}.predicate"),
                format!("the predicate {why}"),
            ));
        }
        out.push(RowFilterRule {
            product,
            predicate: f.predicate.trim().to_string(),
            applies_to_owners: f.applies_to_owners.unwrap_or(false),
        });
    }
    Ok(out)
}

/// Parses a SQL expression; with `allowed` non-empty, it may name no column but those.
pub(crate) fn check_expression(
    sql: &str,
    allowed: &[&str],
    what: &str,
) -> std::result::Result<(), String> {
    if sql.trim().is_empty() {
        return Err("is empty: write a SQL expression".into());
    }
    crate::model::check_sql_depth(sql).map_err(|e| format!("is not accepted: {e}"))?;
    let expr = Parser::new(&GenericDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| format!("`{sql}` is not a SQL expression: {e}"))?;
    if allowed.is_empty() {
        return Ok(());
    }
    let named = identifiers(&expr);
    match named.iter().find(|n| !allowed.contains(&n.as_str())) {
        Some(other) => Err(format!(
            "`{sql}` names {other}; it may name only {} ({what})",
            allowed.join(", ")
        )),
        None => Ok(()),
    }
}

/// The column names an expression uses (the last part of a compound name), lowercased.
pub(crate) fn identifiers(expr: &SqlExpr) -> Vec<String> {
    let mut out = Vec::new();
    let _ = visit_expressions(expr, |e| {
        match e {
            SqlExpr::Identifier(i) => out.push(i.value.to_lowercase()),
            SqlExpr::CompoundIdentifier(parts) => {
                if let Some(last) = parts.last() {
                    out.push(last.value.to_lowercase());
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    out
}

/// The column names a row filter's predicate uses.
pub(crate) fn predicate_columns(sql: &str) -> Vec<String> {
    if crate::model::check_sql_depth(sql).is_err() {
        return Vec::new();
    }
    Parser::new(&GenericDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map(|e| identifiers(&e))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<PolicySpec> {
        PolicySpec::parse(&SpecSource {
            file: "policy.yaml".into(),
            text: text.into(),
        })
    }

    #[test]
    fn unset_fields_take_the_defaults() {
        let p = parse("apiVersion: lakemeta/v1\nkind: Policy\ndefaultAccess: closed\n")
            .unwrap()
            .policy;
        assert!(p.same_rules(&Policy {
            default_access: DefaultAccess::Closed,
            ..Policy::default()
        }));
    }

    #[test]
    fn bad_values_name_the_field() {
        let e = parse("apiVersion: lakemeta/v1\nkind: Policy\nmaxGrantDays: 0\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "policy.yaml:3: maxGrantDays: 0 days is out of range: give a number of days from 1 \
             to 3650"
        );
        let e = parse("apiVersion: lakemeta/v1\nkind: Policy\ndefaultAccess: shut\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("policy.yaml:3: defaultAccess: unknown access 'shut'"),
            "{e}"
        );
    }

    #[test]
    fn masks_and_row_filters_are_checked() {
        let p = parse(
            "apiVersion: lakemeta/v1\nkind: Policy\nmasks:\n  ssn: hash\n  address: { sql: \"left(value, 2)\" }\nrowFilters:\n  - product: sales.orders\n    predicate: \"region = principal_attribute('region')\"\n",
        )
        .unwrap()
        .policy;
        assert_eq!(
            p.mask_for("SSN"),
            Some(crate::model::MaskRule::Builtin(MaskKind::Hash))
        );
        assert_eq!(
            p.mask_for("address"),
            Some(crate::model::MaskRule::Sql("left(value, 2)".into()))
        );
        assert_eq!(
            p.mask_for("email"),
            Some(crate::model::MaskRule::Builtin(MaskKind::Email))
        );
        assert_eq!(p.mask_for("internal"), None);
        assert!(!p.row_filter_for("sales.orders").unwrap().applies_to_owners);

        let e = parse("apiVersion: lakemeta/v1\nkind: Policy\nmasks:\n  iban: hash\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("policy.yaml:4: masks.iban: unknown classification 'iban'"),
            "{e}"
        );
        let e = parse("apiVersion: lakemeta/v1\nkind: Policy\nmasks:\n  ssn: scramble\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown mask 'scramble': use one of email, last4"),
            "{e}"
        );
        let e = parse(
            "apiVersion: lakemeta/v1\nkind: Policy\nmasks:\n  ssn: { sql: \"name || value\" }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("names name; it may name only value"), "{e}");
        let e = parse(
            "apiVersion: lakemeta/v1\nkind: Policy\nrowFilters:\n  - product: sales.orders\n    predicate: \"region = = 1\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("policy.yaml:5: rowFilters[0].predicate: the predicate"),
            "{e}"
        );
    }
}
