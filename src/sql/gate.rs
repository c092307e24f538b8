//! The statement side of the access gate: what a Flight SQL client may not do on the server's
//! machine (`COPY … TO`, `SET`/`RESET`, `CREATE EXTERNAL TABLE`), checked on the statement as
//! written and again on its logical plan, and the `meta` schema as the principal may read it.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::logical_expr::{DdlStatement, LogicalPlan, Statement as PlanStatement, col, lit};
use datafusion::sql::parser::Statement as DfStatement;

use super::session::Session;
use super::statements::ParsedStatement;
use crate::catalog::{CatalogState, grants_table, requests_table, team_members_table};
use crate::error::{Error, Result};
use crate::governance::{Channel, GovernedTable};
use crate::model::AsOf;
use crate::storage::SystemTableKind;

/// Why `COPY … TO` is refused over Flight SQL.
const NO_COPY: &str = "COPY … TO writes files on the server's machine, which Flight SQL clients \
                       may not do; fetch the rows with a query and write them on the client";

/// Why `SET` and `RESET` are refused over Flight SQL.
const NO_SET: &str = "SET and RESET change the server's settings, which Flight SQL clients may \
                      not do; the server's limits are lakemeta serve's --query-memory, \
                      --server-memory and --max-queries";

/// Why `CREATE EXTERNAL TABLE` is refused.
const NO_EXTERNAL: &str = "CREATE EXTERNAL TABLE would read files outside the catalog and its \
                           access rules; register the files as a data product with CREATE DATA \
                           PRODUCT domain.name LOCATION '…' FORMAT parquet|csv|json";

/// Why SQL `PREPARE`/`EXECUTE` are refused.
const NO_PREPARE: &str = "PREPARE and EXECUTE would keep a plan, and the access decided for it, \
                          beyond one statement; run the statement itself (a driver's prepared \
                          statements — Flight SQL's — are checked again each time they run)";

impl Session {
    /// Refuses a statement this session's channel may not run, before it is planned.
    pub(crate) fn check_statement(&self, stmt: &ParsedStatement) -> Result<()> {
        let remote = matches!(self.caller().channel(), Channel::Flight { .. });
        match stmt {
            ParsedStatement::Lake(_) => Ok(()),
            ParsedStatement::DataFusion(s) => check_df(s, remote),
        }
    }

    /// Refuses a plan that acts on the machine, whatever SQL shape produced it: the backstop
    /// of [`Session::check_statement`].
    pub(crate) fn check_plan(&self, plan: &LogicalPlan) -> Result<()> {
        let remote = matches!(self.caller().channel(), Channel::Flight { .. });
        let mut refusal = None;
        plan.apply_with_subqueries(|p| {
            refusal = match p {
                LogicalPlan::Ddl(DdlStatement::CreateExternalTable(_)) => Some(external(remote)),
                LogicalPlan::Copy(_) if remote => Some(denied(NO_COPY)),
                LogicalPlan::Statement(
                    PlanStatement::SetVariable(_) | PlanStatement::ResetVariable(_),
                ) if remote => Some(denied(NO_SET)),
                _ => None,
            };
            Ok(if refusal.is_some() {
                TreeNodeRecursion::Stop
            } else {
                TreeNodeRecursion::Continue
            })
        })?;
        refusal.map_or(Ok(()), Err)
    }

    /// The `meta` schema as this statement's principal reads it: the Delta system tables
    /// behind the gate (the audit log filtered to the principal's own rows unless it is an
    /// admin), grants, requests and team members from the governance state.
    pub(crate) fn secure_meta(
        &self,
        raw: BTreeMap<String, Arc<dyn TableProvider>>,
        state: &Arc<CatalogState>,
    ) -> BTreeMap<String, Arc<dyn TableProvider>> {
        let caller = self.caller();
        let who = &caller.principal().name;
        let governance = &state.governance;
        let stored: Vec<&str> = SystemTableKind::ALL.iter().map(|k| k.name()).collect();
        let mut meta: BTreeMap<String, Arc<dyn TableProvider>> = raw
            .into_iter()
            .map(|(name, provider)| {
                // a past version (`products@v3`) is gated as the table is
                let table = AsOf::split(&name).0;
                if !stored.contains(&table) {
                    return (name, provider);
                }
                let own_rows = table == SystemTableKind::AuditLog.name()
                    && governance.enabled()
                    && !governance.is_admin(who);
                let filter = own_rows.then(|| col("principal").eq(lit(who.as_str())));
                let gated: Arc<dyn TableProvider> = Arc::new(GovernedTable::system(
                    provider,
                    format!("meta.{table}"),
                    filter,
                    Arc::clone(caller),
                ));
                (name, gated)
            })
            .collect();
        meta.insert("grants".into(), grants_table(governance));
        meta.insert(
            "access_requests".into(),
            requests_table(governance, super::access::request_visibility(state, who)),
        );
        meta.insert("team_members".into(), team_members_table(governance));
        meta
    }
}

fn denied(why: &str) -> Error {
    Error::PermissionDenied(why.to_string())
}

fn external(remote: bool) -> Error {
    if remote {
        denied(NO_EXTERNAL)
    } else {
        Error::invalid(NO_EXTERNAL)
    }
}

/// The statement-level rules: `CREATE EXTERNAL TABLE` for everyone; for Flight SQL clients
/// nothing but queries, `INSERT`, `CREATE TABLE … AS`, `SHOW` and `EXPLAIN` of those.
fn check_df(stmt: &DfStatement, remote: bool) -> Result<()> {
    use datafusion::sql::sqlparser::ast::Statement as Sql;
    match stmt {
        DfStatement::CreateExternalTable(_) => Err(external(remote)),
        DfStatement::Explain(e) => check_df(&e.statement, remote),
        DfStatement::Statement(s)
            if matches!(
                s.as_ref(),
                Sql::Prepare { .. } | Sql::Execute { .. } | Sql::Deallocate { .. }
            ) =>
        {
            Err(Error::invalid(NO_PREPARE))
        }
        _ if !remote => Ok(()),
        DfStatement::CopyTo(_) => Err(denied(NO_COPY)),
        DfStatement::Reset(_) => Err(denied(NO_SET)),
        DfStatement::Statement(s) => match s.as_ref() {
            Sql::Query(_)
            | Sql::Insert(_)
            | Sql::CreateTable(_)
            | Sql::ShowTables { .. }
            | Sql::ShowColumns { .. }
            | Sql::ShowVariable { .. }
            | Sql::ShowVariables { .. } => Ok(()),
            Sql::Set(_) => Err(denied(NO_SET)),
            Sql::Copy { .. } => Err(denied(NO_COPY)),
            other => Err(denied(&format!(
                "{} is not served over Flight SQL: the server runs queries, INSERT INTO, CREATE \
                 TABLE … AS and lakemeta's own statements",
                first_words(&other.to_string())
            ))),
        },
    }
}

/// The first two words of a statement, to name it.
fn first_words(text: &str) -> String {
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}
