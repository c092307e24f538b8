use rustyline::completion::{Completer, Pair};
use rustyline::{Context, Helper, Highlighter, Hinter, Validator};

use crate::sql::Session;

const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP BY",
    "ORDER BY",
    "LIMIT",
    "JOIN",
    "LEFT JOIN",
    "ON",
    "AS",
    "AND",
    "OR",
    "NOT",
    "NULL",
    "COUNT",
    "DISTINCT",
    "INSERT INTO",
    "VALUES",
    "CREATE TABLE",
    "CREATE DOMAIN",
    "DROP DOMAIN",
    "CREATE DATA PRODUCT",
    "DROP DATA PRODUCT",
    "SHOW DOMAINS",
    "SHOW PRODUCTS",
    "DESCRIBE PRODUCT",
    "OWNER",
    "LOCATION",
    "FORMAT",
    "TAGS",
    "DESCRIPTION",
    "CASCADE",
    "IF NOT EXISTS",
    "IF EXISTS",
    "EXPLAIN",
    "WITH",
    "UNION",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "HAVING",
];

/// Tab completion of keywords, schemas, tables and columns.
#[derive(Helper, Hinter, Highlighter, Validator)]
pub(crate) struct LakeHelper {
    words: Vec<String>,
}

impl LakeHelper {
    pub(crate) fn new(session: &Session) -> Self {
        let mut h = Self { words: Vec::new() };
        h.refresh(session);
        h
    }

    /// Re-reads names from the catalog snapshot (no I/O).
    pub(crate) fn refresh(&mut self, session: &Session) {
        let state = session.catalog().state();
        let mut words: Vec<String> = KEYWORDS.iter().map(|k| k.to_string()).collect();
        words.push("meta".into());
        for t in [
            "domains",
            "products",
            "columns",
            "contracts",
            "lineage",
            "quality_results",
        ] {
            words.push(format!("meta.{t}"));
            words.push(t.into());
        }
        words.extend(state.domains.keys().cloned());
        for p in state.products.values() {
            words.push(format!("{}.{}", p.domain, p.name));
            words.extend(p.columns.iter().map(|c| c.name.clone()));
        }
        words.sort();
        words.dedup();
        self.words = words;
    }
}

impl Completer for LakeHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let head = &line[..pos];
        let start = head
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .map_or(0, |i| i + 1);
        let prefix = &head[start..];
        if prefix.is_empty() {
            return Ok((start, Vec::new()));
        }
        let upper = prefix.to_ascii_uppercase();
        let matches = self
            .words
            .iter()
            .filter(|w| {
                w.starts_with(prefix) || (w.to_ascii_uppercase() == **w && w.starts_with(&upper))
            })
            .map(|w| Pair {
                display: w.clone(),
                replacement: if w.to_ascii_uppercase() == *w
                    && prefix.chars().all(|c| !c.is_ascii_uppercase())
                {
                    w.to_ascii_lowercase()
                } else {
                    w.clone()
                },
            })
            .collect();
        Ok((start, matches))
    }
}
