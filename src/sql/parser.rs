use datafusion::sql::parser::{DFParser, DFParserBuilder, Statement as DfStatement};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::ParserError;
use datafusion::sql::sqlparser::tokenizer::Token;

use crate::error::{Error, Result};
use crate::model::{DataFormat, ProductName, validate_name};

/// lakemeta's own statements.
#[derive(Debug, Clone, PartialEq)]
pub enum LakeStatement {
    /// `CREATE DOMAIN [IF NOT EXISTS] name OWNER 'team' [DESCRIPTION 'text']`
    CreateDomain {
        /// Domain name.
        name: String,
        /// Owning team.
        owner: String,
        /// Description.
        description: String,
        /// Succeed silently when it exists.
        if_not_exists: bool,
    },
    /// `DROP DOMAIN [IF EXISTS] name [CASCADE]`
    DropDomain {
        /// Domain name.
        name: String,
        /// Succeed silently when it does not exist.
        if_exists: bool,
        /// Drop its products too.
        cascade: bool,
    },
    /// `CREATE DATA PRODUCT [IF NOT EXISTS] domain.name LOCATION 'url' [FORMAT f]
    /// [OWNER 'x'] [DESCRIPTION 'text'] [TAGS ('a', ...)]`
    CreateProduct {
        /// Qualified name.
        name: ProductName,
        /// Where the data is.
        location: String,
        /// Its format.
        format: DataFormat,
        /// Owner; the domain's owner team when omitted.
        owner: Option<String>,
        /// Description.
        description: String,
        /// Tags.
        tags: Vec<String>,
        /// Succeed silently when it exists.
        if_not_exists: bool,
    },
    /// `DROP DATA PRODUCT [IF EXISTS] domain.name`
    DropProduct {
        /// Qualified name.
        name: ProductName,
        /// Succeed silently when it does not exist.
        if_exists: bool,
    },
    /// `SHOW DOMAINS`
    ShowDomains,
    /// `SHOW PRODUCTS [IN domain]`
    ShowProducts {
        /// Only this domain's products.
        domain: Option<String>,
    },
    /// `DESCRIBE PRODUCT domain.name`
    DescribeProduct {
        /// Qualified name.
        name: ProductName,
    },
    /// `RUN CHECKS [FOR domain.product [, ...] | FOR DOMAIN name]`: evaluates the checks and
    /// records the results in `meta.quality_results` in one commit.
    RunChecks {
        /// What to check.
        target: CheckTarget,
    },
    /// `CREATE LINEAGE domain.product[.column] -> domain.product[.column]`: declares that data
    /// flows from the first to the second.
    CreateLineage {
        /// Where the data comes from.
        source: LineageEnd,
        /// Where it goes.
        target: LineageEnd,
    },
    /// `DROP LINEAGE [IF EXISTS] domain.product[.column] -> domain.product[.column]`: removes a
    /// declared edge.
    DropLineage {
        /// Where the data comes from.
        source: LineageEnd,
        /// Where it goes.
        target: LineageEnd,
        /// Succeed silently when there is no such edge.
        if_exists: bool,
    },
}

/// One end of a lineage edge: a product, or one of its columns.
#[derive(Debug, Clone, PartialEq)]
pub struct LineageEnd {
    /// The product.
    pub product: ProductName,
    /// The column, for a column-level edge.
    pub column: Option<String>,
}

impl std::fmt::Display for LineageEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "{}.{c}", self.product),
            None => write!(f, "{}", self.product),
        }
    }
}

/// The products a `RUN CHECKS` covers.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckTarget {
    /// These products (each must have a contract).
    Products(Vec<ProductName>),
    /// Every product with a contract in a domain.
    Domain(String),
    /// Every product with a contract.
    All,
}

/// One statement: lakemeta's own or DataFusion's.
#[derive(Debug, Clone)]
pub enum ParsedStatement {
    /// A lakemeta statement.
    Lake(LakeStatement),
    /// Any statement DataFusion parses.
    DataFusion(Box<DfStatement>),
}

/// Parses a string of `;`-separated statements. Errors name the line and column.
pub fn parse_sql(sql: &str) -> Result<Vec<ParsedStatement>> {
    let dialect = GenericDialect {};
    let mut p = DFParserBuilder::new(sql)
        .with_dialect(&dialect)
        .build()
        .map_err(|e| Error::Sql(e.to_string().replace("SQL error: ", "")))?;
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
                let mut stmt = p
                    .parse_statement()
                    .map_err(|e| Error::Sql(e.to_string().replace("SQL error: ", "")))?;
                number_placeholders(&mut stmt);
                ParsedStatement::DataFusion(Box::new(stmt))
            }
        };
        out.push(stmt);
        expect_delimiter = true;
    }
    Ok(out)
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
        ParserError::RecursionLimitExceeded => "statement nested too deeply".into(),
    };
    Error::Sql(format!("syntax error: {msg}"))
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
    if words(p, &["RUN", "CHECKS"]) {
        skip(p, 2);
        let target = if p.parser.parse_keyword(Keyword::FOR) {
            if peek_word(p, 0).as_deref() == Some("DOMAIN") {
                skip(p, 1);
                CheckTarget::Domain(ident(p, "domain")?)
            } else {
                let mut names = vec![product_name(p)?];
                while p.parser.consume_token(&Token::Comma) {
                    names.push(product_name(p)?);
                }
                CheckTarget::Products(names)
            }
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
