//! The Open Data Contract Standard's own judgement of a contract: its published JSON schema for
//! the contract's `apiVersion` (embedded; see `schemas/README.md` for their origin and licence),
//! checked with the `jsonschema` crate. Every violation is reported, each with where it is
//! written and the fix.

use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use super::positions::{Positions, field_path};
use super::source::SpecSource;
use crate::error::{Error, Result, SpecProblem};

/// A Bitol standard lakemeta reads: its versions, each with its published JSON schema.
pub(crate) struct Standard {
    /// Its short name, for messages (`ODCS`).
    name: &'static str,
    /// Its versions, oldest first, each with its schema's text.
    schemas: &'static [(&'static str, &'static str)],
    /// The compiled schemas, built on first use.
    compiled: &'static [OnceLock<std::result::Result<jsonschema::Validator, String>>],
    /// True when a document may follow an earlier version than it declares too (ODPS: the
    /// standard's own v1.0 examples say v0.9.0); else only a later one.
    any_version: bool,
}

static ODCS_COMPILED: [OnceLock<std::result::Result<jsonschema::Validator, String>>; 5] =
    [const { OnceLock::new() }; 5];
static ODPS_COMPILED: [OnceLock<std::result::Result<jsonschema::Validator, String>>; 2] =
    [const { OnceLock::new() }; 2];

/// The Open Data Contract Standard, v3.
pub(crate) static ODCS: Standard = Standard {
    name: "ODCS",
    schemas: &[
        (
            "v3.0.0",
            include_str!("schemas/odcs-json-schema-v3.0.0.json"),
        ),
        (
            "v3.0.1",
            include_str!("schemas/odcs-json-schema-v3.0.1.json"),
        ),
        (
            "v3.0.2",
            include_str!("schemas/odcs-json-schema-v3.0.2.json"),
        ),
        (
            "v3.1.0",
            include_str!("schemas/odcs-json-schema-v3.1.0.json"),
        ),
        (
            "v3.2.0",
            include_str!("schemas/odcs-json-schema-v3.2.0.json"),
        ),
    ],
    compiled: &ODCS_COMPILED,
    any_version: false,
};

/// The Open Data Product Standard.
pub(crate) static ODPS: Standard = Standard {
    name: "ODPS",
    schemas: &[
        (
            "v0.9.0",
            include_str!("schemas/odps-json-schema-v0.9.0.json"),
        ),
        (
            "v1.0.0",
            include_str!("schemas/odps-json-schema-v1.0.0.json"),
        ),
    ],
    compiled: &ODPS_COMPILED,
    any_version: true,
};

/// The ODCS `apiVersion`s lakemeta reads.
pub fn api_versions() -> Vec<&'static str> {
    ODCS.versions()
}

impl Standard {
    /// The `apiVersion`s of the standard lakemeta reads.
    pub(crate) fn versions(&self) -> Vec<&'static str> {
        self.schemas.iter().map(|(v, _)| *v).collect()
    }

    /// The compiled validator of version `index`, built on first use.
    fn validator(&self, index: usize) -> Result<&'static jsonschema::Validator> {
        let (version, text) = self.schemas[index];
        let compiled: &'static OnceLock<_> = &self.compiled[index];
        compiled
            .get_or_init(|| {
                let schema: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
                jsonschema::options()
                    .build(&schema)
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| {
                Error::invalid(format!(
                    "the embedded {} {version} schema does not compile ({e}); this is a bug in \
                     lakemeta, please report it",
                    self.name
                ))
            })
    }

    /// Fails with every violation when the document in `source` follows neither the schema for
    /// its `apiVersion` nor that of another version it may follow. A document valid only under
    /// another version (the standard's own examples of v3.1.0 fields labelled v3.0.2, say) is
    /// read as that version, and the note returned says so.
    pub(crate) fn conform(&self, source: &SpecSource) -> Result<Option<String>> {
        let doc = as_json(source)?;
        let problems = self.violations(source, &doc)?;
        if problems.is_empty() {
            return Ok(None);
        }
        if let Some(valid) = self.valid_as_other(&doc)? {
            return Ok(Some(format!(
                "the document declares apiVersion {} but follows {} {valid}: read as {valid} \
                 (set 'apiVersion: {valid}' to say so)",
                doc.get("apiVersion")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                self.name
            )));
        }
        Err(Error::SpecProblems {
            file: source.file.clone(),
            problems,
        })
    }

    /// The first other version (after the declared one, or any for ODPS) whose schema accepts
    /// `doc`.
    fn valid_as_other(&self, doc: &Value) -> Result<Option<&'static str>> {
        let declared = doc.get("apiVersion").and_then(Value::as_str);
        let Some(index) = declared.and_then(|v| self.schemas.iter().position(|(s, _)| *s == v))
        else {
            return Ok(None);
        };
        for (other, (version, _)) in self.schemas.iter().enumerate() {
            if other == index || (other < index && !self.any_version) {
                continue;
            }
            if self.validator(other)?.is_valid(doc) {
                return Ok(Some(version));
            }
        }
        Ok(None)
    }
}

/// Fails with every violation when the contract in `source` follows neither the standard's
/// schema for its `apiVersion` nor that of a later v3 version (see [`Standard::conform`]).
pub fn conform(source: &SpecSource) -> Result<Option<String>> {
    ODCS.conform(source)
}

/// The document as JSON, the data model the standard's schema describes.
pub fn as_json(source: &SpecSource) -> Result<Value> {
    let yaml: serde_norway::Value =
        serde_norway::from_str(&source.text).map_err(|e| super::source::yaml_error(source, &e))?;
    serde_json::to_value(&yaml).map_err(|e| {
        source.error(
            "(document)",
            format!(
                "the document is not JSON data ({e}): use text keys and no YAML tags, as ODCS \
                 contracts are JSON documents written in YAML"
            ),
        )
    })
}

/// The contract `doc` (its text in `source`) against the standard's schema for its
/// `apiVersion`: every violation, in document order. An `apiVersion` lakemeta has no schema for
/// is one problem that names the versions it reads.
pub fn violations(source: &SpecSource, doc: &Value) -> Result<Vec<SpecProblem>> {
    ODCS.violations(source, doc)
}

impl Standard {
    /// The document `doc` (its text in `source`) against the standard's schema for its
    /// `apiVersion`: every violation, in document order.
    pub(crate) fn violations(&self, source: &SpecSource, doc: &Value) -> Result<Vec<SpecProblem>> {
        // where values are written is read only when there is a problem to place
        let positions = std::cell::OnceCell::new();
        let problem = |pointer: &str, rule: &str, message: String| {
            let at = positions
                .get_or_init(|| Positions::of(&source.text))
                .at(pointer);
            SpecProblem {
                line: at.line,
                column: at.column,
                field: field_path(pointer),
                rule: rule.to_string(),
                message,
            }
        };
        let version = doc.get("apiVersion").and_then(Value::as_str);
        let Some(index) = version.and_then(|v| self.schemas.iter().position(|(s, _)| *s == v))
        else {
            let versions = self.versions().join(", ");
            let message = match version {
                Some(v) if v.starts_with("v2") && self.name == "ODCS" => format!(
                    "ODCS {v} contracts are not read: lakemeta reads ODCS v3 ({versions}); rewrite \
                 the contract in v3 (the standard's v2-to-v3 migration guide lists the renamed \
                 fields)"
                ),
                Some(v) => format!(
                    "unsupported apiVersion '{v}': lakemeta reads {} {versions}",
                    self.name
                ),
                None => format!(
                    "missing 'apiVersion': add the {} version the document follows, one of \
                 {versions}",
                    self.name
                ),
            };
            return Ok(vec![problem("/apiVersion", "apiVersion", message)]);
        };
        let validator = self.validator(index)?;
        // the common case, a valid document, without collecting errors
        if validator.is_valid(doc) {
            return Ok(Vec::new());
        }
        let errors: Vec<jsonschema::ValidationError<'_>> = validator.iter_errors(doc).collect();
        // a field the schema could not judge because a value inside its object failed (a `oneOf`
        // none of whose forms fit) is not reported again as an unknown field
        let judged_elsewhere = |e: &jsonschema::ValidationError<'_>| {
            matches!(e.kind(), ValidationErrorKind::UnevaluatedProperties { .. })
                && errors.iter().any(|other| {
                    matches!(
                        other.kind(),
                        ValidationErrorKind::AnyOf { .. }
                            | ValidationErrorKind::OneOfNotValid { .. }
                    ) && other
                        .instance_path()
                        .as_str()
                        .starts_with(e.instance_path().as_str())
                })
        };
        let mut out: Vec<SpecProblem> = errors
            .iter()
            .filter(|e| !judged_elsewhere(e))
            .map(|e| {
                let mut pointer = e.instance_path().as_str().to_string();
                // an unexpected field is shown where it is written, not at its object
                if let ValidationErrorKind::AdditionalProperties { unexpected }
                | ValidationErrorKind::UnevaluatedProperties { unexpected } = e.kind()
                    && let [one] = unexpected.as_slice()
                {
                    pointer = format!("{pointer}/{}", one.replace('~', "~0").replace('/', "~1"));
                }
                let rule = e
                    .schema_path()
                    .segments()
                    .last()
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                problem(
                    &pointer,
                    &rule,
                    fix(e, &format!("{} {}", self.name, self.schemas[index].0)),
                )
            })
            .collect();
        out.sort_by_key(|p| (p.line, p.column));
        out.dedup_by(|a, b| a.line == b.line && a.field == b.field && a.message == b.message);
        // a contract written to a later version than it declares: say which one it follows
        if !out.is_empty()
            && let Some(valid) = self.valid_as_other(doc)?
        {
            let declared = self.schemas[index].0;
            out.insert(
                0,
                problem(
                    "/apiVersion",
                    "apiVersion",
                    format!(
                        "the document declares {declared} but is valid {} {valid}: set \
                     'apiVersion: {valid}' (or fix the problems below for {declared}); \
                     lakemeta apply reads it as {valid}",
                        self.name
                    ),
                ),
            );
        }
        Ok(out)
    }
}

/// What is wrong, said with the fix.
fn fix(e: &jsonschema::ValidationError<'_>, version: &str) -> String {
    let value = e.instance();
    match e.kind() {
        ValidationErrorKind::Required { property } => {
            format!("{property} is required here by {version}: add it")
        }
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => format!(
            "{} not a field {version} defines here: correct the spelling, or keep your \
             own fields under customProperties",
            match unexpected.as_slice() {
                [one] => format!("'{one}' is"),
                many => format!("'{}' are", many.join("', '")),
            }
        ),
        ValidationErrorKind::Enum { options } => {
            format!("{value} is not one of {options}: use one of them")
        }
        ValidationErrorKind::Type { kind } => {
            let wanted = match kind {
                jsonschema::error::TypeKind::Single(t) => t.to_string(),
                jsonschema::error::TypeKind::Multiple(set) => format!("{set:?}"),
            };
            format!("{value} is not of type {wanted}: write a {wanted} here")
        }
        ValidationErrorKind::Pattern { pattern } => {
            format!("{value} does not have the form {version} gives this field: {pattern}")
        }
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            // the form the value comes nearest to: fewest errors, a value of the right kind
            let here = e.instance_path().as_str();
            let nearest = context.iter().filter(|b| !b.is_empty()).min_by_key(|b| {
                let wrong_kind = b.iter().all(|x| {
                    matches!(x.kind(), ValidationErrorKind::Type { .. })
                        && x.instance_path().as_str() == here
                });
                (wrong_kind, b.len())
            });
            match nearest.and_then(|b| b.first()) {
                Some(first) => format!(
                    "none of the forms {version} allows here fits; nearest: {}",
                    fix(first, version)
                ),
                None => format!("{value} is none of the forms {version} allows here"),
            }
        }
        _ => format!("{e} ({version})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<SpecProblem> {
        let source = SpecSource {
            file: "c.yaml".into(),
            text: text.into(),
        };
        let doc: serde_norway::Value = serde_norway::from_str(text).unwrap();
        let doc = serde_json::to_value(doc).unwrap();
        violations(&source, &doc).unwrap()
    }

    #[test]
    fn every_schema_compiles() {
        for standard in [&ODCS, &ODPS] {
            for i in 0..standard.schemas.len() {
                standard.validator(i).unwrap();
            }
        }
    }

    #[test]
    fn every_violation_is_reported_where_it_is_written() {
        let found = problems(
            "apiVersion: v3.1.0\nkind: DataContract\nid: c1\nversion: 1.0.0\nstatus: active\nschema:\n  - name: t\n    properties:\n      - name: a\n        logicalType: text\n        requird: true\n",
        );
        let rules: Vec<(&str, usize)> = found.iter().map(|p| (p.rule.as_str(), p.line)).collect();
        assert!(
            found
                .iter()
                .any(|p| p.line == 10 && p.field.ends_with("logicalType")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p.message.contains("'requird'") && p.line >= 9),
            "{rules:?}"
        );
    }

    #[test]
    fn a_missing_field_is_named_with_the_fix() {
        let found =
            problems("apiVersion: v3.0.2\nkind: DataContract\nversion: 1.0.0\nstatus: draft\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, "required");
        assert!(found[0].message.contains("\"id\" is required"), "{found:?}");
    }

    #[test]
    fn a_contract_of_a_later_version_than_it_declares_says_which() {
        // `timestamp` is a logical type from v3.1.0 on
        let text = "apiVersion: v3.0.2\nkind: DataContract\nid: c1\nversion: 1.0.0\nstatus: active\nschema:\n  - name: t\n    properties:\n      - name: at\n        logicalType: timestamp\n";
        let found = problems(text);
        assert_eq!(found[0].rule, "apiVersion", "{found:?}");
        assert!(found[0].message.contains("valid ODCS v3.1.0"), "{found:?}");
        let source = SpecSource {
            file: "c.yaml".into(),
            text: text.into(),
        };
        let note = conform(&source).unwrap().unwrap();
        assert!(note.contains("read as v3.1.0"), "{note}");
    }

    #[test]
    fn v2_and_unknown_versions_are_named() {
        let v2 = problems("apiVersion: v2.2.2\nkind: DataContract\n");
        assert!(v2[0].message.contains("lakemeta reads ODCS v3"), "{v2:?}");
        let unknown = problems("apiVersion: v9\nkind: DataContract\n");
        assert!(unknown[0].message.contains("v3.2.0"), "{unknown:?}");
    }
}
