use datafusion::error::DataFusionError;
use datafusion::sql::parser::{DFParser, DFParserBuilder, Statement as DfStatement};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::ParserError;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use super::statements::{CheckTarget, Grantee, LakeStatement, LineageEnd, ParsedStatement};
use crate::error::{Error, Result};
use crate::model::{DataFormat, GranteeKind, ProductName, check_statement_depth, validate_name};
use crate::model::{engine_names, mark_versions, restore_versions};

/// Parses a string of `;`-separated statements. Errors name the line and column.
pub fn parse_sql(sql: &str) -> Result<Vec<ParsedStatement>> {
    let dialect = GenericDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| Error::Sql(format!("syntax error: {e}")))?;
    check_statement_depth(&tokens)?;
    let (tokens, marked) = mark_versions(niladic_calls(tokens))
        .map_err(|e| Error::Sql(format!("syntax error: {e}")))?;
    let mut restored = 0;
    let mut p = DFParserBuilder::new(tokens)
        .with_dialect(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .build()
        .map_err(engine_parse_error)?;
    let mut out = Vec::new();
    let mut expect_delimiter = false;
    loop {
        while p.parser.consume_token(&Token::SemiColon) {
            expect_delimiter = false;
        }
        if p.parser.peek_token().token == Token::EOF {
            break;
        }
        if expect_delimiter {
            let t = p.parser.peek_token();
            return Err(sql_error(
                p.parser
                    .expected::<()>("end of statement or ';'", t)
                    .unwrap_err(),
            ));
        }
        let stmt = match parse_lake(&mut p).map_err(sql_error)? {
            Some(s) => ParsedStatement::Lake(s),
            None => {
                let mut stmt = p.parse_statement().map_err(engine_parse_error)?;
                number_placeholders(&mut stmt);
                restored += versions(&mut stmt, Versions::Restore);
                ParsedStatement::DataFusion(Box::new(stmt))
            }
        };
        out.push(stmt);
        expect_delimiter = true;
    }
    if restored != marked {
        return Err(Error::Sql(
            "syntax error: VERSION AS OF and TIMESTAMP AS OF follow the name of a table a \
             query reads (or its alias): SELECT … FROM domain.product VERSION AS OF 3 AS p"
                .into(),
        ));
    }
    Ok(out)
}

/// Which pass of time travel's names to make (see [`crate::model::AsOf`]).
#[derive(Clone, Copy)]
pub(crate) enum Versions {
    /// Marked names back to names with their `VERSION AS OF` clause, after parsing.
    Restore,
    /// Names with a clause to marked names, for the engine to plan.
    Engine,
}

/// Makes a pass over every SQL statement or query within `stmt` (the statement an `EXPLAIN`
/// explains, the query a `COPY` copies); returns how many tables it changed.
pub(crate) fn versions(stmt: &mut DfStatement, pass: Versions) -> usize {
    use datafusion::sql::parser::CopyToSource;
    fn one<S: datafusion::sql::sqlparser::ast::VisitMut>(s: &mut S, pass: Versions) -> usize {
        match pass {
            Versions::Restore => restore_versions(s),
            Versions::Engine => engine_names(s),
        }
    }
    match stmt {
        DfStatement::Statement(s) => one(s.as_mut(), pass),
        DfStatement::Explain(e) => versions(&mut e.statement, pass),
        DfStatement::CopyTo(c) => match &mut c.source {
            CopyToSource::Query(q) => one(q.as_mut(), pass),
            CopyToSource::Relation(_) => 0,
        },
        DfStatement::CreateExternalTable(_) | DfStatement::Reset(_) => 0,
    }
}

/// `current_user()` as well as `current_user`: the SQL standard writes the function without
/// parentheses, and sqlparser reads it only so; the empty parentheses are dropped.
fn niladic_calls(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let significant = |t: &TokenWithSpan| !matches!(t.token, Token::Whitespace(_));
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        out.push(t.clone());
        i += 1;
        let niladic = matches!(&t.token, Token::Word(w) if w.keyword == Keyword::CURRENT_USER && w.quote_style.is_none());
        if !niladic {
            continue;
        }
        let mut rest = tokens[i..]
            .iter()
            .enumerate()
            .filter(|(_, t)| significant(t));
        if let (Some((a, open)), Some((b, close))) = (rest.next(), rest.next())
            && open.token == Token::LParen
            && close.token == Token::RParen
        {
            // keep the whitespace before the parentheses, skip through the closing one
            out.extend(tokens[i..i + a].iter().cloned());
            i += b + 1;
        }
    }
    out
}

/// Numbers the `?` parameters of a statement (`$1`, `$2`, … in order), as JDBC and ADBC
/// clients write them and DataFusion binds them.
fn number_placeholders(stmt: &mut DfStatement) {
    use datafusion::sql::sqlparser::ast::{Expr, Value, visit_expressions_mut};
    let DfStatement::Statement(inner) = stmt else {
        return;
    };
    let mut n = 0;
    let _ = visit_expressions_mut(inner.as_mut(), |e| {
        if let Expr::Value(v) = e
            && let Value::Placeholder(p) = &mut v.value
            && p == "?"
        {
            n += 1;
            *p = format!("${n}");
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

fn sql_error(e: ParserError) -> Error {
    let msg = match e {
        ParserError::ParserError(m) | ParserError::TokenizerError(m) => m,
        ParserError::RecursionLimitExceeded => format!(
            "the statement nests more than {} levels of parentheses, subqueries or prefix \
             operators: flatten it, or split it into smaller statements (a view or a temporary \
             table per part)",
            RECURSION_LIMIT
        ),
    };
    Error::Sql(format!("syntax error: {msg}"))
}

/// How deeply the engine's parser recurses (its default): parentheses, subqueries, prefix
/// operators.
const RECURSION_LIMIT: usize = 50;

/// The engine parser's error: a syntax error as [`sql_error`] words it, anything else as is.
fn engine_parse_error(e: DataFusionError) -> Error {
    match e {
        DataFusionError::SQL(e, _) => sql_error(*e),
        other => Error::Sql(other.to_string()),
    }
}

fn peek_word(p: &DFParser, n: usize) -> Option<String> {
    match p.parser.peek_nth_token(n).token {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

fn words(p: &DFParser, expected: &[&str]) -> bool {
    expected
        .iter()
        .enumerate()
        .all(|(i, w)| peek_word(p, i).as_deref() == Some(*w))
}

fn skip(p: &mut DFParser, n: usize) {
    for _ in 0..n {
        p.parser.next_token();
    }
}

fn expect_word(p: &mut DFParser, w: &str) -> Result<(), ParserError> {
    if peek_word(p, 0).as_deref() == Some(w) {
        p.parser.next_token();
        Ok(())
    } else {
        let t = p.parser.peek_token();
        p.parser.expected(w, t)
    }
}

fn parse_lake(p: &mut DFParser) -> Result<Option<LakeStatement>, ParserError> {
    if words(p, &["CREATE", "DOMAIN"]) {
        skip(p, 2);
        let if_not_exists = p
            .parser
            .parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
        let name = ident(p, "domain")?;
        let mut owner = None;
        let mut description = String::new();
        loop {
            match peek_word(p, 0).as_deref() {
                Some("OWNER") => {
                    skip(p, 1);
                    owner = Some(p.parser.parse_literal_string()?);
                }
                Some("DESCRIPTION") | Some("COMMENT") => {
                    skip(p, 1);
                    description = p.parser.parse_literal_string()?;
                }
                _ => break,
            }
        }
        let Some(owner) = owner else {
            let t = p.parser.peek_token();
            return p.parser.expected("OWNER 'team'", t);
        };
        return Ok(Some(LakeStatement::CreateDomain {
            name,
            owner,
            description,
            if_not_exists,
        }));
    }
    if words(p, &["DROP", "DOMAIN"]) {
        skip(p, 2);
        let if_exists = p.parser.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
        let name = ident(p, "domain")?;
        let cascade = p.parser.parse_keyword(Keyword::CASCADE);
        return Ok(Some(LakeStatement::DropDomain {
            name,
            if_exists,
            cascade,
        }));
    }
    if words(p, &["CREATE", "DATA", "PRODUCT"]) {
        skip(p, 3);
        let if_not_exists = p
            .parser
            .parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
        let name = product_name(p)?;
        let mut location = None;
        let mut format = DataFormat::Delta;
        let mut owner = None;
        let mut description = String::new();
        let mut tags = Vec::new();
        loop {
            match peek_word(p, 0).as_deref() {
                Some("LOCATION") => {
                    skip(p, 1);
                    location = Some(p.parser.parse_literal_string()?);
                }
                Some("FORMAT") | Some("STORED") => {
                    if peek_word(p, 0).as_deref() == Some("STORED") {
                        skip(p, 1);
                        expect_word(p, "AS")?;
                    } else {
                        skip(p, 1);
                    }
                    let t = p.parser.peek_token();
                    let f = match &t.token {
                        Token::Word(w) => w.value.clone(),
                        Token::SingleQuotedString(s) => s.clone(),
                        _ => return p.parser.expected("delta, parquet, csv or json", t),
                    };
                    format = f.parse().map_err(|m: String| {
                        ParserError::ParserError(format!("{m} at {}", t.span.start))
                    })?;
                    p.parser.next_token();
                }
                Some("OWNER") => {
                    skip(p, 1);
                    owner = Some(p.parser.parse_literal_string()?);
                }
                Some("DESCRIPTION") | Some("COMMENT") => {
                    skip(p, 1);
                    description = p.parser.parse_literal_string()?;
                }
                Some("TAGS") => {
                    skip(p, 1);
                    p.parser.expect_token(&Token::LParen)?;
                    tags = p
                        .parser
                        .parse_comma_separated(|q| q.parse_literal_string())?;
                    p.parser.expect_token(&Token::RParen)?;
                }
                _ => break,
            }
        }
        let Some(location) = location else {
            let t = p.parser.peek_token();
            return p.parser.expected("LOCATION 'path or URL'", t);
        };
        return Ok(Some(LakeStatement::CreateProduct {
            name,
            location,
            format,
            owner,
            description,
            tags,
            if_not_exists,
        }));
    }
    if words(p, &["DROP", "DATA", "PRODUCT"]) {
        skip(p, 3);
        let if_exists = p.parser.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
        let name = product_name(p)?;
        return Ok(Some(LakeStatement::DropProduct { name, if_exists }));
    }
    if words(p, &["SHOW", "DOMAINS"]) {
        skip(p, 2);
        return Ok(Some(LakeStatement::ShowDomains));
    }
    if words(p, &["SHOW", "PRODUCTS"]) {
        skip(p, 2);
        let domain = if p.parser.parse_keyword(Keyword::IN) {
            Some(ident(p, "domain")?)
        } else {
            None
        };
        return Ok(Some(LakeStatement::ShowProducts { domain }));
    }
    if words(p, &["OPTIMIZE"]) {
        skip(p, 1);
        let name = table_name(p)?;
        let mut zorder = Vec::new();
        if words(p, &["ZORDER", "BY"]) {
            skip(p, 2);
            p.parser.expect_token(&Token::LParen)?;
            loop {
                let id = p.parser.parse_identifier()?;
                zorder.push(if id.quote_style.is_some() {
                    id.value
                } else {
                    id.value.to_lowercase()
                });
                if !p.parser.consume_token(&Token::Comma) {
                    break;
                }
            }
            p.parser.expect_token(&Token::RParen)?;
        }
        return Ok(Some(LakeStatement::Optimize { name, zorder }));
    }
    if words(p, &["MAINTAIN"]) {
        skip(p, 1);
        let target = if matches!(p.parser.peek_token().token, Token::Word(_)) {
            products_or_domain(p)?
        } else {
            CheckTarget::All
        };
        return Ok(Some(LakeStatement::Maintain { target }));
    }
    if words(p, &["VACUUM"]) {
        skip(p, 1);
        let name = table_name(p)?;
        let mut retain_hours = None;
        let (mut dry_run, mut force) = (false, false);
        loop {
            match peek_word(p, 0).as_deref() {
                Some("RETAIN") if retain_hours.is_none() => {
                    skip(p, 1);
                    let t = p.parser.next_token();
                    let Token::Number(n, _) = &t.token else {
                        return p.parser.expected("a number of hours after RETAIN", t);
                    };
                    let Ok(hours) = n.parse::<u64>() else {
                        return Err(ParserError::ParserError(format!(
                            "VACUUM … RETAIN takes a whole number of hours, not {n}"
                        )));
                    };
                    expect_word(p, "HOURS")?;
                    retain_hours = Some(hours);
                }
                Some("DRY") if !dry_run => {
                    skip(p, 1);
                    expect_word(p, "RUN")?;
                    dry_run = true;
                }
                Some("FORCE") if !force => {
                    skip(p, 1);
                    force = true;
                }
                _ => break,
            }
        }
        return Ok(Some(LakeStatement::Vacuum {
            name,
            retain_hours,
            dry_run,
            force,
        }));
    }
    if words(p, &["SHOW", "HISTORY"]) {
        skip(p, 2);
        let name = table_name(p)?;
        let limit = if p.parser.parse_keyword(Keyword::LIMIT) {
            let t = p.parser.next_token();
            match &t.token {
                Token::Number(n, _) => match n.parse::<usize>() {
                    Ok(n) if n > 0 => Some(n),
                    _ => {
                        return Err(ParserError::ParserError(format!(
                            "SHOW HISTORY … LIMIT takes a whole number of commits above 0, not \
                             {n}"
                        )));
                    }
                },
                _ => return p.parser.expected("a number of commits after LIMIT", t),
            }
        } else {
            None
        };
        return Ok(Some(LakeStatement::ShowHistory { name, limit }));
    }
    if words(p, &["RUN", "CHECKS"]) {
        skip(p, 2);
        let target = if p.parser.parse_keyword(Keyword::FOR) {
            products_or_domain(p)?
        } else {
            CheckTarget::All
        };
        return Ok(Some(LakeStatement::RunChecks { target }));
    }
    if words(p, &["CREATE", "LINEAGE"]) {
        skip(p, 2);
        let (source, target) = lineage_ends(p)?;
        return Ok(Some(LakeStatement::CreateLineage { source, target }));
    }
    if words(p, &["DROP", "LINEAGE"]) {
        skip(p, 2);
        let if_exists = p.parser.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
        let (source, target) = lineage_ends(p)?;
        return Ok(Some(LakeStatement::DropLineage {
            source,
            target,
            if_exists,
        }));
    }
    if let Some(stmt) = parse_access(p)? {
        return Ok(Some(stmt));
    }
    if words(p, &["DESCRIBE", "PRODUCT"]) || words(p, &["DESC", "PRODUCT"]) {
        skip(p, 2);
        let name = product_name(p)?;
        return Ok(Some(LakeStatement::DescribeProduct { name }));
    }
    Ok(None)
}

fn ident(p: &mut DFParser, kind: &str) -> Result<String, ParserError> {
    let t = p.parser.peek_token();
    let id = p.parser.parse_identifier()?;
    let name = if id.quote_style.is_some() {
        id.value
    } else {
        id.value.to_lowercase()
    };
    validate_name(kind, &name)
        .map_err(|m| ParserError::ParserError(format!("{m} at {}", t.span.start)))?;
    Ok(name)
}

fn product_name(p: &mut DFParser) -> Result<ProductName, ParserError> {
    let domain = ident(p, "domain")?;
    if !p.parser.consume_token(&Token::Period) {
        let t = p.parser.peek_token();
        return p
            .parser
            .expected("'.' and the product name (domain.product)", t);
    }
    let name = ident(p, "product")?;
    Ok(ProductName::new(domain, name))
}

/// `DOMAIN name`, or `domain.product [, …]`: what `RUN CHECKS FOR` and `MAINTAIN` act on.
fn products_or_domain(p: &mut DFParser) -> Result<CheckTarget, ParserError> {
    if peek_word(p, 0).as_deref() == Some("DOMAIN") {
        skip(p, 1);
        return Ok(CheckTarget::Domain(ident(p, "domain")?));
    }
    let mut names = vec![product_name(p)?];
    while p.parser.consume_token(&Token::Comma) {
        names.push(product_name(p)?);
    }
    Ok(CheckTarget::Products(names))
}

/// `domain.product`, or `meta.table` for a system table.
fn table_name(p: &mut DFParser) -> Result<ProductName, ParserError> {
    if peek_word(p, 0).as_deref() != Some("META") {
        return product_name(p);
    }
    skip(p, 1);
    if !p.parser.consume_token(&Token::Period) {
        let t = p.parser.peek_token();
        return p
            .parser
            .expected("'.' and a system table's name (meta.table)", t);
    }
    Ok(ProductName::new("meta", ident(p, "system table")?))
}

/// `a.b[.c] -> d.e[.f]`, columns on both ends or on neither.
fn lineage_ends(p: &mut DFParser) -> Result<(LineageEnd, LineageEnd), ParserError> {
    let start = p.parser.peek_token().span.start;
    let source = lineage_end(p)?;
    if !p.parser.consume_token(&Token::Arrow) {
        let t = p.parser.peek_token();
        return p
            .parser
            .expected("'->' and the target (domain.product[.column])", t);
    }
    let target = lineage_end(p)?;
    if source.column.is_some() != target.column.is_some() {
        return Err(ParserError::ParserError(format!(
            "a lineage edge links two products or two columns: give a column on both ends \
             ({source} -> {target}) or on neither, at {start}"
        )));
    }
    Ok((source, target))
}

fn lineage_end(p: &mut DFParser) -> Result<LineageEnd, ParserError> {
    let product = product_name(p)?;
    let column = if p.parser.consume_token(&Token::Period) {
        let id = p.parser.parse_identifier()?;
        Some(if id.quote_style.is_some() {
            id.value
        } else {
            id.value.to_lowercase()
        })
    } else {
        None
    };
    Ok(LineageEnd { product, column })
}

/// GRANT, REVOKE, REQUEST ACCESS, APPROVE / DENY REQUEST, SHOW GRANTS / REQUESTS.
fn parse_access(p: &mut DFParser) -> Result<Option<LakeStatement>, ParserError> {
    let unmasked = |p: &DFParser, at: usize| peek_word(p, at).as_deref() == Some("UNMASKED");
    if words(p, &["GRANT", "SELECT"])
        && (peek_word(p, 2).as_deref() == Some("ON") || unmasked(p, 2))
    {
        let unmasked = unmasked(p, 2);
        skip(p, if unmasked { 3 } else { 2 });
        expect_word(p, "ON")?;
        let product = product_name(p)?;
        expect_word(p, "TO")?;
        let grantee = grantee(p)?;
        let until = until(p)?;
        return Ok(Some(LakeStatement::Grant {
            product,
            unmasked,
            grantee,
            until,
        }));
    }
    if words(p, &["REVOKE", "SELECT"])
        && (peek_word(p, 2).as_deref() == Some("ON") || unmasked(p, 2))
    {
        let unmasked = unmasked(p, 2);
        skip(p, if unmasked { 3 } else { 2 });
        expect_word(p, "ON")?;
        let product = product_name(p)?;
        expect_word(p, "FROM")?;
        let grantee = grantee(p)?;
        return Ok(Some(LakeStatement::Revoke {
            product,
            unmasked,
            grantee,
        }));
    }
    let request_unmasked = words(p, &["REQUEST", "UNMASKED", "ACCESS", "TO"]);
    if words(p, &["REQUEST", "ACCESS", "TO"]) || request_unmasked {
        skip(p, if request_unmasked { 4 } else { 3 });
        let product = product_name(p)?;
        if peek_word(p, 0).as_deref() != Some("BECAUSE") {
            let t = p.parser.peek_token();
            return p
                .parser
                .expected("BECAUSE 'why you need the data' (a reason is required)", t);
        }
        skip(p, 1);
        let reason = p.parser.parse_literal_string()?;
        let days = if peek_word(p, 0).as_deref() == Some("FOR") {
            skip(p, 1);
            let n = p.parser.parse_literal_uint()?;
            expect_word(p, "DAYS")?;
            Some(i64::try_from(n).unwrap_or(i64::MAX))
        } else {
            None
        };
        return Ok(Some(LakeStatement::RequestAccess {
            product,
            unmasked: request_unmasked,
            reason,
            days,
        }));
    }
    if words(p, &["APPROVE", "REQUEST"]) {
        skip(p, 2);
        let id = name_token(p, "the request id (req_…)")?;
        let until = until(p)?;
        return Ok(Some(LakeStatement::ApproveRequest { id, until }));
    }
    if words(p, &["DENY", "REQUEST"]) {
        skip(p, 2);
        let id = name_token(p, "the request id (req_…)")?;
        if peek_word(p, 0).as_deref() != Some("BECAUSE") {
            let t = p.parser.peek_token();
            return p
                .parser
                .expected("BECAUSE 'reason' (a reason is required)", t);
        }
        skip(p, 1);
        let reason = p.parser.parse_literal_string()?;
        return Ok(Some(LakeStatement::DenyRequest { id, reason }));
    }
    if words(p, &["SHOW", "GRANTS"]) {
        skip(p, 2);
        let product = if p.parser.parse_keyword(Keyword::ON) {
            Some(product_name(p)?)
        } else {
            None
        };
        return Ok(Some(LakeStatement::ShowGrants { product }));
    }
    if words(p, &["SHOW", "REQUESTS"]) {
        skip(p, 2);
        return Ok(Some(LakeStatement::ShowRequests));
    }
    Ok(None)
}

/// `USER name` or `TEAM name`.
fn grantee(p: &mut DFParser) -> Result<Grantee, ParserError> {
    let kind = match peek_word(p, 0).as_deref() {
        Some("USER") => GranteeKind::User,
        Some("TEAM") => GranteeKind::Team,
        _ => {
            let t = p.parser.peek_token();
            return p.parser.expected("USER name or TEAM name", t);
        }
    };
    skip(p, 1);
    let name = name_token(p, "a user or team name")?;
    Ok(Grantee { kind, name })
}

/// A name as written: a quoted string, or words and numbers joined by `-` (`orders-team`,
/// `req_1a2b`), case kept.
fn name_token(p: &mut DFParser, what: &str) -> Result<String, ParserError> {
    let t = p.parser.peek_token();
    let mut name = match &t.token {
        Token::SingleQuotedString(s) => {
            p.parser.next_token();
            return Ok(s.clone());
        }
        Token::Word(w) => w.value.clone(),
        Token::Number(n, _) => n.clone(),
        _ => return p.parser.expected(what, t),
    };
    p.parser.next_token();
    while p.parser.peek_token().token == Token::Minus {
        match p.parser.peek_nth_token(1).token {
            Token::Word(w) => name = format!("{name}-{}", w.value),
            Token::Number(n, _) => name = format!("{name}-{n}"),
            _ => break,
        }
        skip(p, 2);
    }
    Ok(name)
}

/// An optional `UNTIL 'timestamp'`, as microseconds since the epoch (UTC).
fn until(p: &mut DFParser) -> Result<Option<i64>, ParserError> {
    if peek_word(p, 0).as_deref() != Some("UNTIL") {
        return Ok(None);
    }
    skip(p, 1);
    let at = p.parser.peek_token().span.start;
    let text = p.parser.parse_literal_string()?;
    parse_timestamp(&text)
        .map(Some)
        .map_err(|m| ParserError::ParserError(format!("{m} at {at}")))
}

/// `2027-01-31`, `2027-01-31 12:00:00` (UTC) or RFC 3339 (`2027-01-31T12:00:00+01:00`), as
/// microseconds since the epoch.
pub(crate) fn parse_timestamp(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if let Ok(ts) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(ts.timestamp_micros());
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(ts) = chrono::NaiveDateTime::parse_from_str(t, format) {
            return Ok(ts.and_utc().timestamp_micros());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
        && let Some(ts) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(ts.and_utc().timestamp_micros());
    }
    Err(format!(
        "'{text}' is not a timestamp: write a date ('2027-01-31', midnight UTC) or a time \
         ('2027-01-31T12:00:00Z')"
    ))
}
