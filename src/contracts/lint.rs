//! `lakemeta contract lint`: a spec file judged without a warehouse — an ODCS contract or an
//! ODPS data product by its standard's schema for its `apiVersion` and then by lakemeta's own
//! reading of it, a domain,
//! teams or policy spec by lakemeta's — with every problem the judges find.

use super::source::{SpecSource, parse_checked, problems_of};
use super::standard;
use crate::error::SpecProblem;

/// What linting one file found: the problems that make it invalid, and the notes on what
/// lakemeta reads differently from how it is written (valid all the same).
#[derive(Debug, Default)]
pub struct LintReport {
    /// Problems; the file is valid when there are none.
    pub problems: Vec<SpecProblem>,
    /// Notes for the reader (an unknown physical type kept, a name normalised, …).
    pub notes: Vec<String>,
}

/// Lints one spec.
pub fn lint(source: &SpecSource) -> LintReport {
    let mut report = LintReport::default();
    if let Err(e) = super::source::check_nesting(source) {
        report.problems.extend(problems_of(source, e));
        return report;
    }
    let standard = match serde_norway::from_str::<serde_norway::Value>(&source.text) {
        Ok(doc) => match doc.get("kind").and_then(serde_norway::Value::as_str) {
            Some("DataContract") => Some(&standard::ODCS),
            Some("DataProduct") => Some(&standard::ODPS),
            _ => None,
        },
        Err(e) => {
            report
                .problems
                .extend(problems_of(source, super::source::yaml_error(source, &e)));
            return report;
        }
    };
    if let Some(standard) = standard {
        let found = standard::as_json(source).and_then(|doc| standard.violations(source, &doc));
        match found {
            Ok(p) if p.is_empty() => {}
            Ok(p) => {
                report.problems = p;
                return report;
            }
            Err(e) => {
                report.problems = problems_of(source, e);
                return report;
            }
        }
    }
    match parse_checked(source.clone()) {
        Ok(specs) => {
            for spec in &specs {
                report.notes.extend_from_slice(spec.notes());
            }
        }
        Err(e) => report.problems = problems_of(source, e),
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lint_text(text: &str) -> LintReport {
        lint(&SpecSource {
            file: "c.yaml".into(),
            text: text.into(),
        })
    }

    #[test]
    fn a_valid_contract_has_no_problems() {
        let r = lint_text(
            "apiVersion: v3.1.0\nkind: DataContract\nid: c1\nversion: 1.0.0\nstatus: active\ndomain: sales\nschema:\n  - name: orders\n    properties:\n      - name: id\n        logicalType: integer\n        physicalType: NUMBER(38,0)\n",
        );
        assert!(r.problems.is_empty(), "{:?}", r.problems);
    }

    #[test]
    fn lakemetas_own_rules_are_problems_with_a_position() {
        // valid ODCS, but a pattern that is no regular expression
        let r = lint_text(
            "apiVersion: v3.1.0\nkind: DataContract\nid: c1\nversion: 1.0.0\nstatus: active\ndomain: sales\nschema:\n  - name: orders\n    properties:\n      - name: code\n        logicalType: string\n        logicalTypeOptions:\n          pattern: '[a-'\n",
        );
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        assert_eq!(r.problems[0].rule, "lakemeta");
        assert_eq!(
            (r.problems[0].line, r.problems[0].column),
            (13, 11),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn every_problem_of_lakemetas_own_rules_is_reported() {
        // valid ODCS; four things lakemeta cannot read, in three properties and a custom one
        let r = lint_text(
            "apiVersion: v3.1.0\nkind: DataContract\nid: c1\nversion: 1.0.0\nstatus: active\ndomain: sales\nschema:\n  - name: orders\n    properties:\n      - name: code\n        logicalType: string\n        logicalTypeOptions:\n          pattern: '[a-'\n      - name: code\n        logicalType: string\n      - name: shipped\n        logicalType: date\n        logicalTypeOptions:\n          maximum: soon\ncustomProperties:\n  - property: rowFilter\n    value: \"region = = 'EU'\"\n",
        );
        let at: Vec<(usize, &str)> = r
            .problems
            .iter()
            .map(|p| (p.line, p.field.as_str()))
            .collect();
        assert_eq!(
            at,
            vec![
                (13, "schema[0].properties[0].logicalTypeOptions.pattern"),
                (14, "schema[0].properties[1].name"),
                (19, "schema[0].properties[2].logicalTypeOptions.maximum"),
                (22, "customProperties[0].value"),
            ],
            "{:?}",
            r.problems
        );
        assert!(r.problems.iter().all(|p| p.rule == "lakemeta"));
    }

    #[test]
    fn a_yaml_error_is_one_problem() {
        let r = lint_text("kind: DataContract\nschema: [\n");
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    }
}
