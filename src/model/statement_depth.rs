//! How deeply a SQL text nests, measured on its tokens before anything parses it.
//!
//! The parser reads a chain of operators (`1 + 1 + … + 1`, `a OR b OR …`), of set operations
//! (`… UNION ALL …`) or of joined tables in a loop, so its own recursion limit does not bound
//! the tree it builds: one operator is one more level of a tree that the query engine then
//! walks, prints and drops recursively. A long enough chain overflows the stack and aborts the
//! process — for a server, one statement from any caller. This measure bounds that tree from
//! the tokens alone, so a statement too deep for the engine is refused before a tree is built.
//!
//! The measure never under-counts the depth of the tree the parser builds: every operator
//! token and operator keyword adds one level to the chain it stands in, a parenthesis, bracket
//! or `CASE … END` adds its own level and the depth of its deepest element, and only the
//! separators that start a sibling (`,` outside a `FROM` or `WITH` list, `WHEN`/`THEN`/`ELSE` in a
//! `CASE`, `WHERE`, `HAVING`, `;`) start a new chain. It over-counts where precedence would nest less
//! (`x = 1 OR x = 2` counts both `=` and `OR`), which the limit leaves room for.

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::error::{Error, Result};

/// The deepest a statement may nest, counted as described in this module: far beyond what
/// people and BI tools write (a thousand-term `OR` chain is better written `IN (…)`), and well
/// within what the engine walks on the stack lakemeta's threads run with.
pub const MAX_STATEMENT_DEPTH: usize = 1_000;

/// What opened a nesting level.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Opener {
    /// The statement itself.
    Statement,
    /// `(`: a call's arguments, a subquery, a parenthesised expression or list.
    Paren,
    /// `[`: a subscript or an array.
    Bracket,
    /// `CASE`, closed by `END`.
    Case,
}

/// One open nesting level.
struct Level {
    opener: Opener,
    /// The depth of the chain being read at this level.
    chain: usize,
    /// The deepest chain of the siblings already read at this level.
    deepest: usize,
    /// Within a `FROM` list, where each `,` joins one more table, or a `WITH` list, where
    /// each query may read the one before.
    chained_list: bool,
}

impl Level {
    fn new(opener: Opener) -> Self {
        Level {
            opener,
            chain: 0,
            deepest: 0,
            chained_list: false,
        }
    }
}

/// Refuses `sql` when its expressions, set operations or joins nest deeper than
/// [`MAX_STATEMENT_DEPTH`]; text that does not tokenize is left to the parser's own error.
pub fn check_sql_depth(sql: &str) -> Result<()> {
    match Tokenizer::new(&GenericDialect {}, sql).tokenize_with_location() {
        Ok(tokens) => check_statement_depth(&tokens),
        Err(_) => Ok(()),
    }
}

/// Refuses tokens whose statements nest deeper than [`MAX_STATEMENT_DEPTH`]; the error names
/// the line and column where the limit is passed and how to write the statement instead.
pub fn check_statement_depth(tokens: &[TokenWithSpan]) -> Result<()> {
    let mut levels = vec![Level::new(Opener::Statement)];
    // the depth of the tree around the current token: one per open level plus their chains
    let mut depth = 1usize;
    let mut previous: Option<&Token> = None;
    for t in tokens {
        let token = &t.token;
        if matches!(token, Token::Whitespace(_)) {
            continue;
        }
        let keyword = match token {
            Token::Word(w) if w.quote_style.is_none() => w.keyword,
            _ => Keyword::NoKeyword,
        };
        let top = levels.len() - 1;
        match token {
            Token::LParen => open(&mut levels, &mut depth, Opener::Paren),
            Token::LBracket => {
                // a subscript wraps what it follows: one more level of that chain
                levels[top].chain += 1;
                depth += 1;
                open(&mut levels, &mut depth, Opener::Bracket);
            }
            Token::RParen => close(&mut levels, &mut depth, Opener::Paren),
            Token::RBracket => close(&mut levels, &mut depth, Opener::Bracket),
            Token::SemiColon => {
                levels.truncate(1);
                levels[0] = Level::new(Opener::Statement);
                depth = 1;
            }
            Token::Comma if levels[top].chained_list => {
                levels[top].chain += 1;
                depth += 1;
            }
            Token::Comma => sibling(&mut levels[top], &mut depth),
            _ if keyword == Keyword::CASE => open(&mut levels, &mut depth, Opener::Case),
            _ if keyword == Keyword::END => close(&mut levels, &mut depth, Opener::Case),
            _ if matches!(keyword, Keyword::WHEN | Keyword::THEN | Keyword::ELSE)
                && levels[top].opener == Opener::Case =>
            {
                sibling(&mut levels[top], &mut depth)
            }
            _ if keyword == Keyword::WITH
                || keyword == Keyword::FROM
                    && !matches!(previous, Some(Token::Word(w)) if w.keyword == Keyword::DISTINCT) =>
            {
                levels[top].chained_list = true;
            }
            // a clause of its own, never inside an expression but in brackets: a sibling of
            // the select list and the FROM list
            _ if matches!(keyword, Keyword::WHERE | Keyword::HAVING) => {
                levels[top].chained_list = false;
                sibling(&mut levels[top], &mut depth);
            }
            _ if ends_chained_list(keyword) => levels[top].chained_list = false,
            _ if is_operator(token, keyword) => {
                levels[top].chain += 1;
                depth += 1;
            }
            _ => {}
        }
        if depth > MAX_STATEMENT_DEPTH {
            return Err(Error::Sql(format!(
                "line {}, column {}: the statement nests more than {MAX_STATEMENT_DEPTH} \
                 levels (operators in one chain, set operations, joined tables and brackets \
                 each add one), deeper than lakemeta plans safely: write a long OR chain as \
                 `x IN (…)`, or split the statement into smaller ones (a view or a temporary \
                 table per part)",
                t.span.start.line, t.span.start.column
            )));
        }
        previous = Some(token);
    }
    Ok(())
}

/// Opens a nesting level.
fn open(levels: &mut Vec<Level>, depth: &mut usize, opener: Opener) {
    levels.push(Level::new(opener));
    *depth += 1;
}

/// Closes the innermost level `opener` opened (and any left open inside it, as a parser
/// would reject them anyway); its deepest element becomes part of the enclosing chain. A
/// closer with nothing to close is left to the parser.
fn close(levels: &mut Vec<Level>, depth: &mut usize, opener: Opener) {
    let Some(at) = levels.iter().rposition(|l| l.opener == opener) else {
        return;
    };
    let mut inner = 0;
    while levels.len() > at {
        let Some(level) = levels.pop() else { break };
        *depth -= level.chain + 1;
        inner = level.chain.max(level.deepest).max(inner) + 1;
    }
    if let Some(parent) = levels.last_mut() {
        parent.chain += inner;
        *depth += inner;
    }
}

/// A separator: what follows is a sibling of what came before, not part of its chain.
fn sibling(level: &mut Level, depth: &mut usize) {
    level.deepest = level.deepest.max(level.chain);
    *depth -= level.chain;
    level.chain = 0;
}

/// The clauses that end a `FROM` or a `WITH` list.
fn ends_chained_list(keyword: Keyword) -> bool {
    matches!(
        keyword,
        Keyword::GROUP
            | Keyword::ORDER
            | Keyword::LIMIT
            | Keyword::OFFSET
            | Keyword::QUALIFY
            | Keyword::WINDOW
            | Keyword::SELECT
            | Keyword::INSERT
            | Keyword::UPDATE
            | Keyword::DELETE
            | Keyword::VALUES
            | Keyword::SET
            | Keyword::RETURNING
    )
}

/// Whether the token joins what is before it and after it into one more level of a tree: an
/// operator symbol, an operator keyword, a set operation or a join. Words, literals,
/// placeholders and punctuation that does not nest are not.
fn is_operator(token: &Token, keyword: Keyword) -> bool {
    match token {
        Token::Word(_) => matches!(
            keyword,
            Keyword::AND
                | Keyword::OR
                | Keyword::XOR
                | Keyword::NOT
                | Keyword::IS
                | Keyword::NOTNULL
                | Keyword::IN
                | Keyword::LIKE
                | Keyword::ILIKE
                | Keyword::SIMILAR
                | Keyword::BETWEEN
                | Keyword::AT
                | Keyword::COLLATE
                | Keyword::OVERLAPS
                | Keyword::REGEXP
                | Keyword::RLIKE
                | Keyword::DIV
                | Keyword::MEMBER
                | Keyword::MATCH
                | Keyword::OPERATOR
                | Keyword::UNION
                | Keyword::INTERSECT
                | Keyword::EXCEPT
                | Keyword::MINUS
                | Keyword::JOIN
        ),
        Token::EOF
        | Token::Number(..)
        | Token::Char(_)
        | Token::SingleQuotedString(_)
        | Token::DoubleQuotedString(_)
        | Token::TripleSingleQuotedString(_)
        | Token::TripleDoubleQuotedString(_)
        | Token::DollarQuotedString(_)
        | Token::SingleQuotedByteStringLiteral(_)
        | Token::DoubleQuotedByteStringLiteral(_)
        | Token::TripleSingleQuotedByteStringLiteral(_)
        | Token::TripleDoubleQuotedByteStringLiteral(_)
        | Token::SingleQuotedRawStringLiteral(_)
        | Token::DoubleQuotedRawStringLiteral(_)
        | Token::TripleSingleQuotedRawStringLiteral(_)
        | Token::TripleDoubleQuotedRawStringLiteral(_)
        | Token::NationalStringLiteral(_)
        | Token::QuoteDelimitedStringLiteral(_)
        | Token::NationalQuoteDelimitedStringLiteral(_)
        | Token::EscapedStringLiteral(_)
        | Token::UnicodeStringLiteral(_)
        | Token::HexStringLiteral(_)
        | Token::Placeholder(_)
        | Token::Whitespace(_)
        | Token::Comma
        | Token::Period
        | Token::SemiColon
        | Token::LParen
        | Token::RParen
        | Token::LBracket
        | Token::RBracket
        | Token::LBrace
        | Token::RBrace => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(sql: &str) -> bool {
        check_sql_depth(sql).is_ok()
    }

    #[test]
    fn chains_are_counted_and_siblings_are_not() {
        let chain = |n: usize| format!("SELECT 1{}", " + 1".repeat(n));
        assert!(depth_ok(&chain(MAX_STATEMENT_DEPTH - 10)));
        let e = check_sql_depth(&chain(MAX_STATEMENT_DEPTH))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1, column") && e.contains("IN (…)"), "{e}");
        // many short siblings: a select list, an IN list, CASE branches, statements
        let list = (0..5_000).map(|i| format!("a + {i}")).collect::<Vec<_>>();
        assert!(depth_ok(&format!("SELECT {}", list.join(", "))));
        assert!(depth_ok(&format!("SELECT x IN ({})", list.join(", "))));
        let branches: String = (0..3_000)
            .map(|i| format!(" WHEN x = {i} THEN {i}"))
            .collect();
        assert!(depth_ok(&format!("SELECT CASE{branches} END")));
        assert!(depth_ok(&vec!["SELECT 1 + 1 + 1"; 2_000].join("; ")));
    }

    #[test]
    fn what_nests_adds_up_across_brackets() {
        // a chain after a parenthesised chain wraps it: both count
        let half = " + 1".repeat(MAX_STATEMENT_DEPTH / 2);
        assert!(!depth_ok(&format!("SELECT (1{half}){half}")));
        assert!(!depth_ok(&format!(
            "SELECT CASE WHEN 1{half} THEN 1 END{half}"
        )));
        assert!(!depth_ok(&format!("SELECT x[1{half}]{half}")));
        // set operations and joined tables are chains too
        assert!(!depth_ok(
            &"SELECT 1 UNION ALL ".repeat(MAX_STATEMENT_DEPTH)
        ));
        let tables = (0..=MAX_STATEMENT_DEPTH)
            .map(|i| format!("t{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        assert!(!depth_ok(&format!("SELECT 1 FROM {tables}")));
        assert!(depth_ok(&format!("SELECT {tables} FROM t")));
        // the conditions of WHERE are not part of the FROM list's chain
        let joins = " JOIN t ON a = b".repeat(MAX_STATEMENT_DEPTH / 4);
        let conditions = " AND a = b".repeat(MAX_STATEMENT_DEPTH / 3);
        assert!(depth_ok(&format!(
            "SELECT 1 FROM t{joins} WHERE true{conditions}"
        )));
        assert!(!depth_ok(&format!("SELECT 1 FROM t{joins}{joins}")));
        // each query of a WITH list may read the one before: a chain
        let ctes = (1..=MAX_STATEMENT_DEPTH)
            .map(|i| format!("t{i} AS (SELECT x FROM t{})", i - 1))
            .collect::<Vec<_>>()
            .join(", ");
        assert!(!depth_ok(&format!(
            "WITH t0 AS (SELECT 1 AS x), {ctes} SELECT 1"
        )));
        assert!(depth_ok(
            "WITH a AS (SELECT 1), b AS (SELECT 2) SELECT x, y, z FROM a, b"
        ));
        // IS DISTINCT FROM is an operator, not the start of a FROM list
        let distinct = " OR x IS DISTINCT FROM y".repeat(MAX_STATEMENT_DEPTH / 2 + 1);
        assert!(!depth_ok(&format!("SELECT a{distinct}")));
        // a stray closer does not reset the count
        assert!(!depth_ok(&format!("SELECT 1{half})){half}")));
    }
}
