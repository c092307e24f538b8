//! Statement text without the PII it may hold: every literal compared with a classified column
//! (`email = 'ann@example.com'`, `ssn IN ('…')`, `phone LIKE '+1%'`, `birth_date BETWEEN … AND …`)
//! becomes `'***'` before the text is kept where others read it (`meta.lineage`,
//! `meta.audit_log`). A statement that does not parse is kept as a note, not as text.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use crate::model::{check_sql_depth, parse_statements};
use datafusion::sql::sqlparser::ast::{Expr, Value, ValueWithSpan, visit_expressions_mut};

/// What a literal compared with a classified column becomes.
const HIDDEN: &str = "***";

/// `sql` with the literals compared with any of `columns` (lowercase names) replaced; `sql`
/// itself when no such comparison is in it or `columns` is empty.
pub fn redact_pii_literals(sql: &str, columns: &BTreeSet<String>) -> String {
    if columns.is_empty() {
        return sql.to_string();
    }
    // a statement too deep to plan is not parsed here either (its tree would be walked and
    // printed recursively)
    let parsed = check_sql_depth(sql)
        .ok()
        .and_then(|()| parse_statements(sql).ok());
    let Some(mut statements) = parsed else {
        return "(statement text withheld: it names PII columns and could not be parsed to \
                redact them)"
            .into();
    };
    let mut changed = false;
    for statement in &mut statements {
        let _ = visit_expressions_mut(statement, |e| {
            changed |= redact(e, columns);
            ControlFlow::<()>::Continue(())
        });
    }
    if !changed {
        return sql.to_string();
    }
    statements
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Redacts the literals of one comparison with a classified column; true when it did.
fn redact(e: &mut Expr, columns: &BTreeSet<String>) -> bool {
    let classified = |e: &Expr| match e {
        Expr::Identifier(i) => columns.contains(&i.value.to_lowercase()),
        Expr::CompoundIdentifier(parts) => parts
            .last()
            .is_some_and(|i| columns.contains(&i.value.to_lowercase())),
        Expr::Cast { expr, .. } | Expr::Nested(expr) => matches!(
            expr.as_ref(),
            Expr::Identifier(i) if columns.contains(&i.value.to_lowercase())
        ),
        _ => false,
    };
    match e {
        Expr::BinaryOp { left, right, .. } => {
            if classified(left) {
                hide(right)
            } else if classified(right) {
                hide(left)
            } else {
                false
            }
        }
        Expr::InList { expr, list, .. } if classified(expr) => {
            list.iter_mut().fold(false, |any, v| hide(v) | any)
        }
        Expr::Like { expr, pattern, .. }
        | Expr::ILike { expr, pattern, .. }
        | Expr::SimilarTo { expr, pattern, .. }
            if classified(expr) =>
        {
            hide(pattern)
        }
        Expr::Between {
            expr, low, high, ..
        } if classified(expr) => hide(low) | hide(high),
        _ => false,
    }
}

/// Replaces a literal (or a typed literal, `DATE '…'`) with `'***'`; true when it did.
fn hide(e: &mut Expr) -> bool {
    let literal = matches!(e, Expr::Value(_) | Expr::TypedString { .. })
        || matches!(e, Expr::UnaryOp { expr, .. } if matches!(expr.as_ref(), Expr::Value(_)));
    if literal {
        *e = Expr::Value(ValueWithSpan::from(Value::SingleQuotedString(
            HIDDEN.to_string(),
        )));
    }
    literal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn literals_compared_with_classified_columns_are_hidden() {
        let pii = columns(&["email", "ssn", "birth_date"]);
        let sql = "CREATE TABLE a.b AS SELECT id FROM crm.customers c WHERE c.email = \
                   'ann@example.com' AND ssn IN ('123-45-6789', '1') AND birth_date BETWEEN \
                   DATE '1990-01-01' AND DATE '1991-01-01' AND region = 'eu' AND email LIKE 'a%'";
        let out = redact_pii_literals(sql, &pii);
        for hidden in ["ann@example.com", "123-45-6789", "1990-01-01", "'a%'"] {
            assert!(!out.contains(hidden), "{out}");
        }
        assert!(out.contains("region = 'eu'"), "{out}");
        assert!(out.contains("c.email = '***'"), "{out}");
    }

    #[test]
    fn other_text_is_kept_as_written() {
        let sql = "select  id from crm.customers where region = 'eu'";
        assert_eq!(redact_pii_literals(sql, &columns(&["email"])), sql);
        assert_eq!(
            redact_pii_literals("not sql at all", &BTreeSet::new()),
            "not sql at all"
        );
        assert!(redact_pii_literals("not sql at all", &columns(&["email"])).contains("withheld"));
    }
}
