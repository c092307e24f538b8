use clap::Args;

use super::Exit;
use crate::error::{Error, Result};
use crate::model::ProductName;
use crate::repl::PrintFormat;
use crate::sql::{CheckTarget, LakeStatement, ParsedStatement, Session, interruptible};

/// Arguments of `lakemeta check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Products to check (domain.product); none: every product that has a contract.
    pub products: Vec<String>,
    /// Check every product of this domain that has a contract.
    #[arg(long, conflicts_with = "products")]
    pub domain: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PrintFormat::Table)]
    pub format: PrintFormat,
}

/// The tables a command acts on: a domain's, the named products, or (neither given) all.
pub(super) fn target(domain: Option<&str>, products: &[String]) -> Result<CheckTarget> {
    Ok(match (domain, products.is_empty()) {
        (Some(d), _) => CheckTarget::Domain(d.to_lowercase()),
        (None, true) => CheckTarget::All,
        (None, false) => CheckTarget::Products(
            products
                .iter()
                .map(|p| p.parse::<ProductName>().map_err(Error::Invalid))
                .collect::<Result<Vec<_>>>()?,
        ),
    })
}

/// `lakemeta check`: `RUN CHECKS` from the command line. Exit code 1 when a check failed or
/// errored.
pub(super) async fn run(session: &Session, args: CheckArgs) -> Result<Exit> {
    let target = target(args.domain.as_deref(), &args.products)?;
    let stmt = ParsedStatement::Lake(LakeStatement::RunChecks { target });
    let out = interruptible(session.catalog(), session.run(stmt)).await?;
    super::print(args.format, &out)?;
    Ok(Exit::from_failed_checks(out.failed_checks))
}
