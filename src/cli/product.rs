use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use crate::contracts::{export_contract, export_odps};
use crate::error::{Error, Result};
use crate::model::ProductName;
use crate::sql::Session;

/// Arguments of `lakemeta product`.
#[derive(Debug, Args)]
pub struct ProductArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ProductCommand,
}

/// `lakemeta product` subcommands.
#[derive(Debug, Subcommand)]
pub enum ProductCommand {
    /// Write a data product as a standard's file (to stdout, or a file with -o): `odps`, the
    /// Open Data Product Standard file applied for it (else one written from its contract and
    /// lineage), or `odcs`, its contract.
    Export {
        /// The product (domain.product), or an ODPS data product's id.
        target: String,
        /// The standard to write.
        #[arg(long, value_enum, default_value_t = ExportFormat::Odps)]
        format: ExportFormat,
        /// Write to this file instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

/// What `product export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Open Data Product Standard v1.0.0.
    Odps,
    /// Open Data Contract Standard (as `contract export`).
    Odcs,
}

/// `lakemeta product …`.
pub(super) async fn run(session: &Session, args: ProductArgs) -> Result<super::Exit> {
    session.catalog().refresh().await?;
    match args.command {
        ProductCommand::Export {
            target,
            format,
            output,
        } => {
            let state = session.catalog().state();
            let as_name = target.parse::<ProductName>();
            let is_table = as_name
                .as_ref()
                .is_ok_and(|n| state.products.contains_key(n));
            if !is_table && let Some(dp) = state.data_products.get(&target) {
                if format == ExportFormat::Odcs {
                    return Err(Error::invalid(format!(
                        "{target} is an ODPS data product, which has no contract of its own: \
                         export the contract of one of its tables (lakemeta contract export \
                         CONTRACT_ID; its output ports name them) or give --format odps"
                    )));
                }
                super::write_text(output.as_deref(), &dp.spec)?;
                return Ok(super::Exit::Success);
            }
            let name: ProductName = as_name.map_err(|m: String| {
                Error::invalid(format!(
                    "{m}; nor is it the id of an applied ODPS data product \
                     (SELECT id FROM meta.data_products lists them)"
                ))
            })?;
            let p = state.product(&name)?;
            let text = match format {
                ExportFormat::Odcs => export_contract(p)?,
                ExportFormat::Odps => {
                    let me = name.to_string();
                    let mut upstream: Vec<&crate::model::DataProduct> = Vec::new();
                    let near = state.graph_near(&[], std::slice::from_ref(&me)).await?;
                    for e in near.edges_of(&me) {
                        if e.target != me || e.source == me {
                            continue;
                        }
                        if let Ok(source) = e.source.parse::<ProductName>()
                            && let Ok(u) = state.product(&source)
                            && !upstream.iter().any(|x| x.qualified_name() == source)
                        {
                            upstream.push(u);
                        }
                    }
                    export_odps(p, &upstream)?
                }
            };
            super::write_text(output.as_deref(), &text)?;
        }
    }
    Ok(super::Exit::Success)
}
