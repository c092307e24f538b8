use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use clap::{Args, Subcommand};

use crate::catalog::ContractRow;
use crate::contracts::{
    ContractChange, ProductSpec, Spec, SpecSource, check_version_bump, diff_products,
    export_contract, parse_spec,
};
use crate::error::{Error, Result};
use crate::model::{DataProduct, ProductName};
use crate::repl::PrintFormat;
use crate::sql::{Output, Session};

/// Arguments of `lakemeta contract`.
#[derive(Debug, Args)]
pub struct ContractArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ContractCommand,
}

/// `lakemeta contract` subcommands.
#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// Compare two recorded versions of a product's contract (default: the current one with
    /// the one before), or a contract file with the version in the warehouse.
    Diff {
        /// A product (domain.product) or an ODCS contract file.
        target: String,
        /// The older version (default: the one before the newer).
        from: Option<String>,
        /// The newer version (default: the current one).
        to: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = PrintFormat::Table)]
        format: PrintFormat,
    },
    /// Write a product's contract as ODCS v3.1.0 YAML (to stdout, or a file with -o).
    Export {
        /// The product, domain.product.
        product: String,
        /// Write to this file instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

/// `lakemeta contract …`.
pub(super) async fn run(session: &Session, args: ContractArgs) -> Result<()> {
    session.catalog().refresh().await?;
    match args.command {
        ContractCommand::Diff {
            target,
            from,
            to,
            format,
        } => {
            let out = if Path::new(&target).is_file() {
                if from.is_some() || to.is_some() {
                    return Err(Error::invalid(
                        "a contract file is compared with the version in the warehouse; give \
                         versions only with a product name",
                    ));
                }
                diff_file(session, Path::new(&target))?
            } else {
                let name: ProductName = target.parse().map_err(|m: String| {
                    Error::invalid(format!("{m}, or give the path of a contract file"))
                })?;
                diff_versions(session, &name, from.as_deref(), to.as_deref()).await?
            };
            super::print(format, &out)
        }
        ContractCommand::Export { product, output } => {
            let name: ProductName = product.parse().map_err(Error::Invalid)?;
            let state = session.catalog().state();
            let p = state.product(&name)?;
            let yaml = export_contract(p)?;
            super::write_text(output.as_deref(), &yaml)
        }
    }
}

fn diff_file(session: &Session, path: &Path) -> Result<Output> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let source = SpecSource {
        file: path.display().to_string(),
        text,
    };
    let Spec::Product(spec, _) = parse_spec(source)? else {
        return Err(Error::invalid(format!(
            "{} is a domain spec, not a data contract",
            path.display()
        )));
    };
    let name = spec.product.qualified_name();
    let state = session.catalog().state();
    let before = state.product(&name)?;
    if before.contract_spec.is_empty() {
        return Err(Error::invalid(format!(
            "data product {name} has no contract in the warehouse to compare with; lakemeta \
             apply {} records this one",
            path.display()
        )));
    }
    let after = located(session, &spec, before)?;
    Ok(report(before, &after))
}

async fn diff_versions(
    session: &Session,
    name: &ProductName,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Output> {
    let state = session.catalog().state();
    let current = state.product(name)?;
    let history = session.catalog().contract_history(name).await?;
    if history.is_empty() {
        return Err(Error::invalid(format!(
            "data product {name} has no recorded contract versions: apply an ODCS contract \
             for it first"
        )));
    }
    let versions = || {
        history
            .iter()
            .map(|r| r.version.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let find = |v: &str| -> Result<usize> {
        history.iter().rposition(|r| r.version == v).ok_or_else(|| {
            Error::invalid(format!(
                "data product {name} has no contract version '{v}'; its versions: {}",
                versions()
            ))
        })
    };
    let to_i = match to {
        Some(v) => find(v)?,
        None => history.len() - 1,
    };
    let from_i = match from {
        Some(v) => find(v)?,
        None if to_i == 0 => {
            return Err(Error::invalid(format!(
                "data product {name} has one contract version ({}), nothing to compare it \
                 with; give a contract file to compare with it",
                history[0].version
            )));
        }
        None => to_i - 1,
    };
    let before = parse_row(session, &history[from_i], current)?;
    let after = parse_row(session, &history[to_i], current)?;
    Ok(report(&before, &after))
}

fn parse_row(session: &Session, row: &ContractRow, current: &DataProduct) -> Result<DataProduct> {
    let source = SpecSource {
        file: format!("meta.contracts {}@{}", row.product, row.version),
        text: row.spec.clone(),
    };
    let Spec::Product(spec, _) = parse_spec(source)? else {
        return Err(Error::invalid(format!(
            "the recorded contract {}@{} is not a data contract",
            row.product, row.version
        )));
    };
    located(session, &spec, current)
}

/// The spec's product with its location resolved as `apply` resolves it.
fn located(session: &Session, spec: &ProductSpec, current: &DataProduct) -> Result<DataProduct> {
    let mut p = spec.product.clone();
    p.location = if spec.external {
        session.warehouse().data().resolve(&p.location)?.to_string()
    } else {
        current.location.clone()
    };
    Ok(p)
}

fn report(before: &DataProduct, after: &DataProduct) -> Output {
    let changes: Vec<ContractChange> = diff_products(before, after);
    let schema = Arc::new(Schema::new(vec![
        Field::new("change", DataType::Utf8, false),
        Field::new("what", DataType::Utf8, false),
    ]));
    let kinds: Vec<&str> = changes
        .iter()
        .map(|c| {
            if c.breaking {
                "breaking"
            } else {
                "non-breaking"
            }
        })
        .collect();
    let whats: Vec<&str> = changes.iter().map(|c| c.what.as_str()).collect();
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(StringArray::from(kinds)),
            Arc::new(StringArray::from(whats)),
        ],
    );
    let breaking = changes.iter().filter(|c| c.breaking).count();
    let verdict = match check_version_bump(before, after) {
        Ok(()) => "apply accepts it".to_string(),
        Err(m) => format!("apply refuses it: {m}"),
    };
    let mut out = match batch {
        Ok(b) => Output::rows(schema, vec![b]),
        Err(_) => Output::message(""),
    };
    out.message = Some(format!(
        "{} {} -> {}: {breaking} breaking, {} non-breaking; {verdict}",
        before.qualified_name(),
        before.contract_version,
        after.contract_version,
        changes.len() - breaking
    ));
    out
}
