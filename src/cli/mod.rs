//! The command line: one module per subcommand.

mod apply;
pub mod demo;
mod sql;

use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::error::Result;
use crate::model::Principal;
use crate::repl::PrintFormat;
use crate::sql::{Session, SessionOptions};
use crate::storage::{Warehouse, WarehouseLocation};

/// lakemeta: a data-mesh catalog — domains, data products, contracts — kept as Delta tables on
/// object storage and queried with SQL.
#[derive(Debug, Parser)]
#[command(name = "lakemeta", version, about)]
pub struct Cli {
    /// The warehouse: a directory, file://…, memory:// or s3://bucket/prefix.
    #[arg(
        long,
        short = 'w',
        global = true,
        env = "LAKEMETA_WAREHOUSE",
        default_value = "./warehouse"
    )]
    pub warehouse: String,
    /// Run as this principal (default: the operating-system user).
    #[arg(long, short = 'u', global = true, env = "LAKEMETA_USER")]
    pub user: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the warehouse (its system tables) if it does not exist, and check it if it does.
    Init,
    /// Apply domain specs and ODCS data contracts from a file or directory.
    Apply {
        /// A .yaml file or a directory of them.
        path: std::path::PathBuf,
        /// Print the plan only; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run SQL: an interactive REPL, or a script with -c / -f.
    Sql(sql::SqlArgs),
    /// Build the example mesh (three domains, nine data products with data) and open the REPL.
    Demo {
        /// Output format of the REPL.
        #[arg(long, value_enum, default_value_t = PrintFormat::Table)]
        format: PrintFormat,
    },
}

impl Cli {
    /// Runs the command. `Ok(false)` means the command ran but something in it failed (a
    /// statement of a REPL session); errors are returned.
    pub async fn run(self) -> Result<bool> {
        let principal = Principal::from_user_or_os(self.user.as_deref());
        match self.command {
            Command::Init => {
                let wh = open_warehouse(&self.warehouse).await?;
                println!("warehouse ready at {}", wh.url());
                Ok(true)
            }
            Command::Apply { path, dry_run } => {
                let session = open_session(&self.warehouse, principal).await?;
                apply::run(&session, &path, dry_run).await
            }
            Command::Sql(args) => {
                let session = open_session(&self.warehouse, principal).await?;
                sql::run(&session, args).await
            }
            Command::Demo { format } => {
                let session = open_session(&self.warehouse, principal).await?;
                demo::run(&session, format).await
            }
        }
    }
}

/// Opens (or creates) the warehouse named on the command line.
pub async fn open_warehouse(location: &str) -> Result<Arc<Warehouse>> {
    Ok(Arc::new(
        Warehouse::open(WarehouseLocation::parse(location)?).await?,
    ))
}

async fn open_session(location: &str, principal: Principal) -> Result<Session> {
    let wh = open_warehouse(location).await?;
    Session::open(wh, SessionOptions { principal }).await
}
