//! lakemeta's `Policy` spec: which tags make a product sensitive, how long grants and access
//! requests live, and whether other products are open to every authenticated principal.

use serde::Deserialize;

use super::source::{SpecSource, yaml_error};
use crate::error::Result;
use crate::model::{DefaultAccess, Policy};

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
/// ```
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
}

/// The longest a grant or a pending request may be set to live: ten years.
const MAX_DAYS: i64 = 3650;

impl PolicySpec {
    /// Parses and validates a Policy spec.
    pub fn parse(source: &SpecSource) -> Result<Self> {
        let raw: Raw = serde_yaml::from_str(&source.text).map_err(|e| yaml_error(source, &e))?;
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
        Ok(Self {
            policy: Policy {
                version: 0,
                sensitive_tags: words(
                    "sensitiveTags",
                    raw.sensitive_tags,
                    defaults.sensitive_tags,
                )?,
                pii_types: words("piiTypes", raw.pii_types, defaults.pii_types)?,
                max_grant_days: days("maxGrantDays", raw.max_grant_days, defaults.max_grant_days)?,
                request_ttl_days: days(
                    "requestTtlDays",
                    raw.request_ttl_days,
                    defaults.request_ttl_days,
                )?,
                default_access,
                spec: source.text.clone(),
                updated_at: 0,
                updated_by: String::new(),
            },
        })
    }
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
}
