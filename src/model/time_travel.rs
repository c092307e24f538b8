//! Time travel in SQL: `FROM d.p VERSION AS OF 3` and `FROM meta.products TIMESTAMP AS OF
//! '2026-12-01 09:00:00'` (the syntax of Delta Lake's own SQL).
//!
//! sqlparser reads these clauses only under dialects whose other rules lakemeta does not follow,
//! and DataFusion's planner ignores a table's version where it reads one. So lakemeta reads them
//! itself, in three steps: [`mark_versions`] takes the clause out of the tokens and marks the
//! table name before it (`p@v3`, a name no product can have); after parsing, [`restore_versions`]
//! turns each marked name back into the name and its clause (so statement text is kept as
//! written); before planning, [`engine_names`] marks the names again, with the table's own name
//! as alias, for the catalog to resolve to the past version. The catalog then serves the past
//! version through the same access gate as the table.

use std::fmt;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, Ident, ObjectNamePart, Statement, TableAlias, TableFactor, TableVersion, Value, VisitMut,
    VisitorMut,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

/// What separates a marked table name from its version: a character no product or system table
/// name can hold.
const MARK: char = '@';

/// A past version of a table to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AsOf {
    /// The table as committed at this Delta version.
    Version(u64),
    /// The table as of the latest commit at or before this time (microseconds, UTC).
    Timestamp(i64),
}

impl fmt::Display for AsOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AsOf::Version(v) => write!(f, "VERSION AS OF {v}"),
            AsOf::Timestamp(t) => write!(f, "TIMESTAMP AS OF '{}'", timestamp_text(*t)),
        }
    }
}

impl AsOf {
    /// `table@v3` or `table@t<micros>`: the name a marked table goes by.
    pub fn mark(&self, table: &str) -> String {
        match self {
            AsOf::Version(v) => format!("{table}{MARK}v{v}"),
            AsOf::Timestamp(t) => format!("{table}{MARK}t{t}"),
        }
    }

    /// The table and the version a (possibly marked) table name reads.
    pub fn split(name: &str) -> (&str, Option<AsOf>) {
        let Some((table, tail)) = name.rsplit_once(MARK) else {
            return (name, None);
        };
        let as_of = match tail.split_at_checked(1) {
            Some(("v", n)) => n.parse().ok().map(AsOf::Version),
            Some(("t", n)) => n.parse().ok().map(AsOf::Timestamp),
            _ => None,
        };
        match as_of {
            Some(a) => (table, Some(a)),
            None => (name, None),
        }
    }

    fn clause(&self) -> Option<TableVersion> {
        Some(match self {
            AsOf::Version(v) => TableVersion::VersionAsOf(Expr::value(Value::Number(
                v.to_string().parse().ok()?,
                false,
            ))),
            AsOf::Timestamp(t) => TableVersion::TimestampAsOf(Expr::value(
                Value::SingleQuotedString(timestamp_text(*t)),
            )),
        })
    }

    fn of_clause(version: &TableVersion) -> Option<AsOf> {
        let literal = |e: &Expr| match e {
            Expr::Value(v) => Some(v.value.clone()),
            _ => None,
        };
        match version {
            TableVersion::VersionAsOf(e) => match literal(e)? {
                Value::Number(n, _) => n.to_string().parse().ok().map(AsOf::Version),
                _ => None,
            },
            TableVersion::TimestampAsOf(e) => match literal(e)? {
                Value::SingleQuotedString(s) => parse_timestamp(&s).ok().map(AsOf::Timestamp),
                _ => None,
            },
            _ => None,
        }
    }
}

/// A time as the `TIMESTAMP AS OF` clause prints it: RFC 3339 in UTC, to the microsecond when
/// it has a fraction.
fn timestamp_text(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_else(|| micros.to_string())
}

/// Reads a `TIMESTAMP AS OF` literal: `2026-12-01`, `2026-12-01 09:00:00[.fff]` (UTC) or RFC
/// 3339 with an offset. Returns microseconds since the epoch, UTC.
pub fn parse_timestamp(text: &str) -> Result<i64, String> {
    arrow::compute::kernels::cast_utils::string_to_datetime(&chrono::Utc, text.trim())
        .map(|t| t.timestamp_micros())
        .map_err(|_| {
            format!(
                "TIMESTAMP AS OF '{text}' is not a time: write '2026-12-01', \
                 '2026-12-01 09:30:00' (UTC) or '2026-12-01T09:30:00+01:00'"
            )
        })
}

/// Takes every `VERSION AS OF n` and `TIMESTAMP AS OF '…'` that follows a name out of the
/// tokens, marking the name instead. Returns the tokens and how many names it marked. A clause
/// whose value is not a version number or a time literal is an error naming the fix.
pub fn mark_versions(tokens: Vec<TokenWithSpan>) -> Result<(Vec<TokenWithSpan>, usize), String> {
    let significant = |t: &TokenWithSpan| !matches!(t.token, Token::Whitespace(_));
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(tokens.len());
    let mut marked = 0;
    let mut i = 0;
    while i < tokens.len() {
        let kind = match &tokens[i].token {
            Token::Word(w) if w.quote_style.is_none() => match w.keyword {
                Keyword::VERSION => Some(Keyword::VERSION),
                Keyword::TIMESTAMP => Some(Keyword::TIMESTAMP),
                _ => None,
            },
            _ => None,
        };
        let rest: Vec<usize> = (i + 1..tokens.len())
            .filter(|&j| significant(&tokens[j]))
            .take(4)
            .collect();
        let is_kw = |j: Option<&usize>, k: Keyword| {
            j.is_some_and(|&j| matches!(&tokens[j].token, Token::Word(w) if w.keyword == k && w.quote_style.is_none()))
        };
        let name_before = out
            .iter()
            .rposition(significant)
            .filter(|&p| matches!(out[p].token, Token::Word(_)));
        let (Some(kind), Some(at)) = (kind, name_before) else {
            out.push(tokens[i].clone());
            i += 1;
            continue;
        };
        if !(is_kw(rest.first(), Keyword::AS) && is_kw(rest.get(1), Keyword::OF)) {
            out.push(tokens[i].clone());
            i += 1;
            continue;
        }
        // the value: a number for VERSION; a string (or TIMESTAMP 'string') for TIMESTAMP
        let mut value_at = rest.get(2).copied();
        if kind == Keyword::TIMESTAMP && is_kw(rest.get(2), Keyword::TIMESTAMP) {
            value_at = rest.get(3).copied();
        }
        let value = value_at.map(|j| &tokens[j].token);
        let as_of = match (kind, value) {
            (Keyword::VERSION, Some(Token::Number(n, _))) => {
                AsOf::Version(n.parse().map_err(|_| version_needed(n))?)
            }
            (Keyword::VERSION, other) => {
                return Err(version_needed(
                    &other.map(ToString::to_string).unwrap_or_default(),
                ));
            }
            (_, Some(Token::SingleQuotedString(s))) => AsOf::Timestamp(parse_timestamp(s)?),
            (_, other) => {
                return Err(format!(
                    "TIMESTAMP AS OF takes a time literal, not {}: write TIMESTAMP AS OF \
                     '2026-12-01 09:30:00' (UTC) or '2026-12-01T09:30:00+01:00'",
                    other.map_or("nothing".into(), |t| format!("'{t}'"))
                ));
            }
        };
        let Token::Word(w) = &mut out[at].token else {
            unreachable!("the token before was found to be a word")
        };
        let table = if w.quote_style.is_some() {
            w.value.clone()
        } else {
            w.value.to_lowercase()
        };
        w.value = as_of.mark(&table);
        w.quote_style = Some('"');
        w.keyword = Keyword::NoKeyword;
        marked += 1;
        i = value_at.map_or(tokens.len(), |j| j + 1);
    }
    Ok((out, marked))
}

fn version_needed(found: &str) -> String {
    format!(
        "VERSION AS OF takes a table version, a whole number, not '{found}': SHOW HISTORY \
         domain.product lists the versions"
    )
}

/// Parses SQL text (sqlparser's statements, not lakemeta's own) with its time-travel clauses,
/// as [`mark_versions`] and [`restore_versions`] read them.
pub fn parse_statements(sql: &str) -> Result<Vec<Statement>, String> {
    let dialect = GenericDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| e.to_string())?;
    let (tokens, marked) = mark_versions(tokens)?;
    let mut statements = Parser::new(&dialect)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(|e| e.to_string())?;
    let restored: usize = statements.iter_mut().map(restore_versions).sum();
    if restored != marked {
        return Err(format!(
            "{marked} time-travel clauses, {restored} after a table name"
        ));
    }
    Ok(statements)
}

/// Turns each marked table name of `stmt` back into its name and clause. Returns how many it
/// restored: fewer than were marked means a clause stood where no table name was (after an
/// alias, say).
pub fn restore_versions<S: VisitMut>(stmt: &mut S) -> usize {
    struct Restore(usize);
    impl VisitorMut for Restore {
        type Break = ();
        fn pre_visit_table_factor(&mut self, t: &mut TableFactor) -> ControlFlow<()> {
            let TableFactor::Table {
                name,
                alias,
                version: version @ None,
                args: None,
                ..
            } = t
            else {
                return ControlFlow::Continue(());
            };
            // the clause marks the name before it: the table's, or its alias's (sqlparser
            // prints the alias first)
            let marked = match name.0.last_mut() {
                Some(ObjectNamePart::Identifier(last)) if AsOf::split(&last.value).1.is_some() => {
                    Some(last)
                }
                _ => alias
                    .as_mut()
                    .map(|a| &mut a.name)
                    .filter(|a| AsOf::split(&a.value).1.is_some()),
            };
            if let Some(ident) = marked
                && let (table, Some(as_of)) = AsOf::split(&ident.value)
                && let Some(clause) = as_of.clause()
            {
                let plain = crate::model::validate_name("table", table).is_ok();
                *ident = if plain {
                    Ident::new(table)
                } else {
                    Ident::with_quote('"', table)
                };
                *version = Some(clause);
                self.0 += 1;
            }
            ControlFlow::Continue(())
        }
    }
    let mut v = Restore(0);
    let _ = stmt.visit(&mut v);
    v.0
}

/// The statement as the engine plans it: each table read at a version named by its marked
/// name, aliased by its own name (so `p.column` still names its columns). Returns the number of
/// tables read at a version.
pub fn engine_names<S: VisitMut>(stmt: &mut S) -> usize {
    struct Mark(usize);
    impl VisitorMut for Mark {
        type Break = ();
        fn pre_visit_table_factor(&mut self, t: &mut TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table {
                name,
                alias,
                version,
                ..
            } = t
                && let Some(as_of) = version.as_ref().and_then(AsOf::of_clause)
                && let Some(ObjectNamePart::Identifier(last)) = name.0.last_mut()
            {
                if alias.is_none() {
                    *alias = Some(TableAlias {
                        explicit: true,
                        name: last.clone(),
                        columns: vec![],
                        at: None,
                    });
                }
                *last = Ident::with_quote('"', as_of.mark(&last.value));
                *version = None;
                self.0 += 1;
            }
            ControlFlow::Continue(())
        }
    }
    let mut v = Mark(0);
    let _ = stmt.visit(&mut v);
    v.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(sql: &str) -> Result<(String, String), String> {
        let mut stmts = parse_statements(sql)?;
        let text = stmts[0].to_string();
        engine_names(&mut stmts[0]);
        Ok((text, stmts[0].to_string()))
    }

    #[test]
    fn versions_survive_parsing_and_become_names_for_the_engine() {
        let (text, engine) = round_trip(
            "SELECT o.id FROM orders.orders_fact VERSION AS OF 3 o JOIN meta.products \
             TIMESTAMP AS OF '2026-12-01 09:30:00' ON true",
        )
        .unwrap();
        // sqlparser prints the alias first, which reads back the same
        assert_eq!(
            text,
            "SELECT o.id FROM orders.orders_fact o VERSION AS OF 3 JOIN meta.products \
             TIMESTAMP AS OF '2026-12-01T09:30:00Z' ON true"
        );
        assert_eq!(round_trip(&text).unwrap().0, text);
        let (_, alias_first) = round_trip("SELECT * FROM d.p AS x VERSION AS OF 3").unwrap();
        assert_eq!(alias_first, "SELECT * FROM d.\"p@v3\" AS x");
        assert_eq!(
            engine,
            "SELECT o.id FROM orders.\"orders_fact@v3\" o JOIN meta.\"products@t1796117400000000\" \
             AS products ON true"
        );
    }

    #[test]
    fn a_clause_after_an_alias_or_with_a_bad_value_is_refused() {
        let column = round_trip("SELECT id VERSION AS OF 3 FROM d.p").unwrap_err();
        assert!(
            column.contains("1 time-travel clauses, 0 after"),
            "{column}"
        );
        let word = round_trip("SELECT * FROM d.p VERSION AS OF latest").unwrap_err();
        assert!(word.contains("whole number"), "{word}");
        let negative = round_trip("SELECT * FROM d.p VERSION AS OF -1").unwrap_err();
        assert!(negative.contains("whole number"), "{negative}");
        let time = round_trip("SELECT * FROM d.p TIMESTAMP AS OF 'last tuesday'").unwrap_err();
        assert!(time.contains("is not a time"), "{time}");
        let expr = round_trip("SELECT * FROM d.p TIMESTAMP AS OF now()").unwrap_err();
        assert!(expr.contains("takes a time literal"), "{expr}");
    }

    #[test]
    fn columns_and_casts_named_like_the_clause_are_left_alone() {
        let (text, _) =
            round_trip("SELECT CAST(x AS TIMESTAMP) AS of, version FROM d.p WHERE version > 1")
                .unwrap();
        assert_eq!(
            text,
            "SELECT CAST(x AS TIMESTAMP) AS of, version FROM d.p WHERE version > 1"
        );
    }

    #[test]
    fn marks_split_back_into_table_and_version() {
        assert_eq!(AsOf::split("p@v12"), ("p", Some(AsOf::Version(12))));
        assert_eq!(AsOf::split("p@t-5"), ("p", Some(AsOf::Timestamp(-5))));
        assert_eq!(AsOf::split("p@x1"), ("p@x1", None));
        assert_eq!(AsOf::split("products"), ("products", None));
        assert_eq!(
            parse_timestamp("2026-12-01").unwrap(),
            parse_timestamp("2026-12-01T01:00:00+01:00").unwrap()
        );
    }
}
