//! The statements lakemeta runs: its own (`LakeStatement`) and DataFusion's. Each one has a
//! kind and a text, which the audit log records.

use datafusion::sql::parser::Statement as DfStatement;

use crate::model::{DataFormat, GranteeKind, ProductName, format_timestamp};

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
    /// `SHOW HISTORY domain.name [LIMIT n]` (or `meta.table`): the commits of a Delta data
    /// product or system table, newest first.
    ShowHistory {
        /// The product (or `meta` and a system table's name).
        name: ProductName,
        /// The newest this many commits only.
        limit: Option<usize>,
    },
    /// `OPTIMIZE domain.name [ZORDER BY (column, …)]` (or `meta.table`): compacts a managed
    /// Delta table's small files.
    Optimize {
        /// The product (or `meta` and a system table's name).
        name: ProductName,
        /// Columns to Z-order the rows by.
        zorder: Vec<String>,
    },
    /// `VACUUM domain.name [RETAIN n HOURS] [DRY RUN] [FORCE]` (or `meta.table`): deletes the
    /// files no version within the retention needs.
    Vacuum {
        /// The product (or `meta` and a system table's name).
        name: ProductName,
        /// Hours of versions to keep readable (default: the table's retention).
        retain_hours: Option<u64>,
        /// List the files only.
        dry_run: bool,
        /// Allow a retention below the table's.
        force: bool,
    },
    /// `MAINTAIN [domain.name, … | DOMAIN d]`: `OPTIMIZE` then `VACUUM` (the table's
    /// retention) of each managed product the principal may maintain and, for platform admins
    /// (and when every table is meant), of the system tables.
    Maintain {
        /// Which products.
        target: CheckTarget,
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
    /// `GRANT SELECT [UNMASKED] ON domain.product TO USER u | TEAM t [UNTIL 'timestamp']`
    Grant {
        /// The product.
        product: ProductName,
        /// `SELECT UNMASKED`: raw PII values, not masked ones.
        unmasked: bool,
        /// Who may read it.
        grantee: Grantee,
        /// When the grant ends (microseconds, UTC); the policy's longest grant when omitted.
        until: Option<i64>,
    },
    /// `REVOKE SELECT [UNMASKED] ON domain.product FROM USER u | TEAM t`
    Revoke {
        /// The product.
        product: ProductName,
        /// `SELECT UNMASKED`: only the grants of raw values end.
        unmasked: bool,
        /// Whose grants end.
        grantee: Grantee,
    },
    /// `REQUEST [UNMASKED] ACCESS TO domain.product BECAUSE 'reason' [FOR n DAYS]`
    RequestAccess {
        /// The product.
        product: ProductName,
        /// Asks for raw PII values.
        unmasked: bool,
        /// Why (required).
        reason: String,
        /// For how many days.
        days: Option<i64>,
    },
    /// `APPROVE REQUEST id [UNTIL 'timestamp']`
    ApproveRequest {
        /// The request.
        id: String,
        /// When the grant it makes ends.
        until: Option<i64>,
    },
    /// `DENY REQUEST id BECAUSE 'reason'`
    DenyRequest {
        /// The request.
        id: String,
        /// Why.
        reason: String,
    },
    /// `SHOW GRANTS [ON domain.product]`: the grants in force.
    ShowGrants {
        /// Only this product's.
        product: Option<ProductName>,
    },
    /// `SHOW REQUESTS`: the requests the principal made or may decide.
    ShowRequests,
}

/// Who a grant is for.
#[derive(Debug, Clone, PartialEq)]
pub struct Grantee {
    /// A user or a team.
    pub kind: GranteeKind,
    /// The principal or team name.
    pub name: String,
}

impl std::fmt::Display for Grantee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            GranteeKind::User => write!(f, "USER {}", self.name),
            GranteeKind::Team => write!(f, "TEAM {}", self.name),
        }
    }
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
    /// These products (for checks, each must have a contract).
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

impl LakeStatement {
    /// The kind the audit log records.
    pub fn kind(&self) -> &'static str {
        match self {
            LakeStatement::CreateDomain { .. } => "create_domain",
            LakeStatement::DropDomain { .. } => "drop_domain",
            LakeStatement::CreateProduct { .. } => "create_data_product",
            LakeStatement::DropProduct { .. } => "drop_data_product",
            LakeStatement::ShowDomains => "show_domains",
            LakeStatement::ShowProducts { .. } => "show_products",
            LakeStatement::ShowHistory { .. } => "show_history",
            LakeStatement::Optimize { .. } => "optimize",
            LakeStatement::Maintain { .. } => "maintain",
            LakeStatement::Vacuum { .. } => "vacuum",
            LakeStatement::DescribeProduct { .. } => "describe_product",
            LakeStatement::RunChecks { .. } => "run_checks",
            LakeStatement::CreateLineage { .. } => "create_lineage",
            LakeStatement::DropLineage { .. } => "drop_lineage",
            LakeStatement::Grant { .. } => "grant",
            LakeStatement::Revoke { .. } => "revoke",
            LakeStatement::RequestAccess { .. } => "request_access",
            LakeStatement::ApproveRequest { .. } => "approve_request",
            LakeStatement::DenyRequest { .. } => "deny_request",
            LakeStatement::ShowGrants { .. } => "show_grants",
            LakeStatement::ShowRequests => "show_requests",
        }
    }
}

/// A string as a SQL literal.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A timestamp (microseconds, UTC) as a SQL literal.
fn at(micros: i64) -> String {
    quoted(&format_timestamp(micros))
}

impl std::fmt::Display for LakeStatement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let maybe = |on: bool, text: &'static str| if on { text } else { "" };
        match self {
            LakeStatement::CreateDomain {
                name,
                owner,
                description,
                if_not_exists,
            } => {
                write!(
                    f,
                    "CREATE DOMAIN {}{name} OWNER {}",
                    maybe(*if_not_exists, "IF NOT EXISTS "),
                    quoted(owner)
                )?;
                if !description.is_empty() {
                    write!(f, " DESCRIPTION {}", quoted(description))?;
                }
                Ok(())
            }
            LakeStatement::DropDomain {
                name,
                if_exists,
                cascade,
            } => write!(
                f,
                "DROP DOMAIN {}{name}{}",
                maybe(*if_exists, "IF EXISTS "),
                maybe(*cascade, " CASCADE")
            ),
            LakeStatement::CreateProduct {
                name,
                location,
                format,
                owner,
                description,
                tags,
                if_not_exists,
            } => {
                write!(
                    f,
                    "CREATE DATA PRODUCT {}{name} LOCATION {} FORMAT {}",
                    maybe(*if_not_exists, "IF NOT EXISTS "),
                    quoted(location),
                    format.as_str()
                )?;
                if let Some(o) = owner {
                    write!(f, " OWNER {}", quoted(o))?;
                }
                if !description.is_empty() {
                    write!(f, " DESCRIPTION {}", quoted(description))?;
                }
                if !tags.is_empty() {
                    let tags: Vec<String> = tags.iter().map(|t| quoted(t)).collect();
                    write!(f, " TAGS ({})", tags.join(", "))?;
                }
                Ok(())
            }
            LakeStatement::DropProduct { name, if_exists } => {
                write!(
                    f,
                    "DROP DATA PRODUCT {}{name}",
                    maybe(*if_exists, "IF EXISTS ")
                )
            }
            LakeStatement::ShowDomains => f.write_str("SHOW DOMAINS"),
            LakeStatement::ShowProducts { domain } => match domain {
                Some(d) => write!(f, "SHOW PRODUCTS IN {d}"),
                None => f.write_str("SHOW PRODUCTS"),
            },
            LakeStatement::ShowHistory { name, limit } => match limit {
                Some(n) => write!(f, "SHOW HISTORY {name} LIMIT {n}"),
                None => write!(f, "SHOW HISTORY {name}"),
            },
            LakeStatement::Optimize { name, zorder } => {
                write!(f, "OPTIMIZE {name}")?;
                if !zorder.is_empty() {
                    write!(f, " ZORDER BY ({})", zorder.join(", "))?;
                }
                Ok(())
            }
            LakeStatement::Vacuum {
                name,
                retain_hours,
                dry_run,
                force,
            } => {
                write!(f, "VACUUM {name}")?;
                if let Some(h) = retain_hours {
                    write!(f, " RETAIN {h} HOURS")?;
                }
                if *dry_run {
                    f.write_str(" DRY RUN")?;
                }
                if *force {
                    f.write_str(" FORCE")?;
                }
                Ok(())
            }
            LakeStatement::Maintain { target } => match target {
                CheckTarget::All => f.write_str("MAINTAIN"),
                CheckTarget::Domain(d) => write!(f, "MAINTAIN DOMAIN {d}"),
                CheckTarget::Products(names) => {
                    let names: Vec<String> = names.iter().map(ToString::to_string).collect();
                    write!(f, "MAINTAIN {}", names.join(", "))
                }
            },
            LakeStatement::DescribeProduct { name } => write!(f, "DESCRIBE PRODUCT {name}"),
            LakeStatement::RunChecks { target } => match target {
                CheckTarget::All => f.write_str("RUN CHECKS"),
                CheckTarget::Domain(d) => write!(f, "RUN CHECKS FOR DOMAIN {d}"),
                CheckTarget::Products(names) => {
                    let names: Vec<String> = names.iter().map(ToString::to_string).collect();
                    write!(f, "RUN CHECKS FOR {}", names.join(", "))
                }
            },
            LakeStatement::CreateLineage { source, target } => {
                write!(f, "CREATE LINEAGE {source} -> {target}")
            }
            LakeStatement::DropLineage {
                source,
                target,
                if_exists,
            } => write!(
                f,
                "DROP LINEAGE {}{source} -> {target}",
                maybe(*if_exists, "IF EXISTS ")
            ),
            LakeStatement::Grant {
                product,
                unmasked,
                grantee,
                until,
            } => {
                write!(
                    f,
                    "GRANT SELECT {}ON {product} TO {grantee}",
                    maybe(*unmasked, "UNMASKED ")
                )?;
                if let Some(u) = until {
                    write!(f, " UNTIL {}", at(*u))?;
                }
                Ok(())
            }
            LakeStatement::Revoke {
                product,
                unmasked,
                grantee,
            } => write!(
                f,
                "REVOKE SELECT {}ON {product} FROM {grantee}",
                maybe(*unmasked, "UNMASKED ")
            ),
            LakeStatement::RequestAccess {
                product,
                unmasked,
                reason,
                days,
            } => {
                write!(
                    f,
                    "REQUEST {}ACCESS TO {product} BECAUSE {}",
                    maybe(*unmasked, "UNMASKED "),
                    quoted(reason)
                )?;
                if let Some(d) = days {
                    write!(f, " FOR {d} DAYS")?;
                }
                Ok(())
            }
            LakeStatement::ApproveRequest { id, until } => {
                write!(f, "APPROVE REQUEST {id}")?;
                if let Some(u) = until {
                    write!(f, " UNTIL {}", at(*u))?;
                }
                Ok(())
            }
            LakeStatement::DenyRequest { id, reason } => {
                write!(f, "DENY REQUEST {id} BECAUSE {}", quoted(reason))
            }
            LakeStatement::ShowGrants { product } => match product {
                Some(p) => write!(f, "SHOW GRANTS ON {p}"),
                None => f.write_str("SHOW GRANTS"),
            },
            LakeStatement::ShowRequests => f.write_str("SHOW REQUESTS"),
        }
    }
}

impl ParsedStatement {
    /// The kind the audit log records: lakemeta's own, or `query`, `insert`,
    /// `create_table_as`, `explain`, `copy`, `set`, … for DataFusion's.
    pub fn kind(&self) -> &'static str {
        use datafusion::sql::sqlparser::ast::Statement as Sql;
        match self {
            ParsedStatement::Lake(s) => s.kind(),
            ParsedStatement::DataFusion(s) => match s.as_ref() {
                DfStatement::Statement(s) => match s.as_ref() {
                    Sql::Query(_) => "query",
                    Sql::Insert(_) => "insert",
                    Sql::CreateTable(_) => "create_table_as",
                    Sql::Set(_) => "set",
                    Sql::ShowTables { .. } | Sql::ShowColumns { .. } => "show",
                    Sql::ShowVariable { .. } | Sql::ShowVariables { .. } => "show",
                    _ => "statement",
                },
                DfStatement::CreateExternalTable(_) => "create_external_table",
                DfStatement::CopyTo(_) => "copy",
                DfStatement::Explain(_) => "explain",
                DfStatement::Reset(_) => "reset",
            },
        }
    }
}

impl std::fmt::Display for ParsedStatement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParsedStatement::Lake(s) => s.fmt(f),
            ParsedStatement::DataFusion(s) => s.fmt(f),
        }
    }
}
