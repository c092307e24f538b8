//! The command line: one module per subcommand.

mod apply;
mod check;
pub mod classify;
mod contract;
pub mod demo;
mod domain;
mod jobs;
mod lineage;
mod maintain;
mod product;
pub mod runtime;
mod serve;
mod shell;
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
#[command(name = "lakemeta", version = VERSION, about)]
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

/// What `lakemeta --version` prints: the version, and the commit it was built from when the
/// build knew it (a build from a git checkout).
pub const VERSION: &str = env!("LAKEMETA_VERSION");

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
        /// The domain of contracts that name none.
        #[arg(long, value_name = "DOMAIN")]
        domain: Option<String>,
        /// The owner team of contracts that name none (default: the domain's owner team).
        #[arg(long, value_name = "TEAM")]
        owner: Option<String>,
    },
    /// Run SQL: an interactive REPL, or a script with -c / -f.
    Sql(sql::SqlArgs),
    /// Run quality jobs (.sql files) once, recording each run in meta.job_runs; exits with 1
    /// when a check failed and 2 when a job errored.
    Run(jobs::RunArgs),
    /// Run the jobs of a directory on their schedules until SIGTERM or Ctrl-C.
    Schedule(jobs::ScheduleArgs),
    /// Lint contracts and specs, compare contract versions, or export a contract as ODCS YAML.
    Contract(contract::ContractArgs),
    /// Export a data product as an Open Data Product Standard (ODPS) file.
    Product(product::ProductArgs),
    /// Run the quality checks of data products and record the results; exits with 1 when a
    /// check fails.
    Check(check::CheckArgs),
    /// Compact and vacuum the managed products you may maintain (and, for a platform admin,
    /// the system tables), a line per table as it is done; exits with 2 when one failed.
    Maintain(maintain::MaintainArgs),
    /// Draw a product's lineage, or load OpenLineage events.
    Lineage(lineage::LineageArgs),
    /// Propose PII classifications for a product's columns from their names and a sample of
    /// their values, as ODCS YAML to paste into its contract.
    Classify(classify::ClassifyArgs),
    /// Storage policies for a domain: what its owner team's storage role may touch.
    Domain(domain::DomainArgs),
    /// Serve the warehouse over Arrow Flight SQL until SIGTERM or Ctrl-C.
    Serve(serve::ServeArgs),
    /// Print the argon2 hash of a password read from standard input, for the users file.
    HashPassword,
    /// Build the example mesh (three domains, nine data products with data, teams and their
    /// policy) as its platform admin, and open the REPL (as --user, else as that admin).
    Demo {
        /// Output format of the REPL.
        #[arg(long, value_enum, default_value_t = PrintFormat::Table)]
        format: PrintFormat,
    },
    /// Print a completion script for a shell, generated from these very flags: e.g.
    /// `lakemeta completions bash > ~/.local/share/bash-completion/completions/lakemeta`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print lakemeta's man page (roff; `lakemeta man | man -l -`), a subcommand's, or write
    /// them all into a directory.
    Man(shell::ManArgs),
}

/// How a command ended, as the process exit code says it: 0 success, 1 a check failed (or
/// some of the input was refused while the rest loaded), 2 an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything worked and every check passed.
    Success,
    /// It ran, but a quality check failed or errored.
    ChecksFailed,
    /// It ran, but some of its input was refused (and reported); the rest was loaded.
    PartlyRefused,
    /// Something failed (a statement of a REPL session; errors are returned as errors).
    Failed,
}

impl Exit {
    /// `ChecksFailed` when any check failed.
    pub fn from_failed_checks(n: usize) -> Self {
        if n > 0 {
            Exit::ChecksFailed
        } else {
            Exit::Success
        }
    }

    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::ChecksFailed | Exit::PartlyRefused => 1,
            Exit::Failed => 2,
        }
    }
}

impl Cli {
    /// Runs the command and says how it ended; errors are returned. Whatever the command
    /// audited is committed to `meta.audit_log` before this returns.
    pub async fn run(self) -> Result<Exit> {
        let user = self.user.as_deref();
        let principal = Principal::from_user_or_os(user);
        let location = self.warehouse.as_str();
        match self.command {
            Command::Init => {
                let wh = open_warehouse(location).await?;
                println!("warehouse ready at {}", wh.url());
                Ok(Exit::Success)
            }
            Command::Serve(args) => {
                let wh = open_warehouse(location).await?;
                serve::serve(wh, args).await
            }
            Command::HashPassword => serve::hash(),
            Command::Completions { shell } => shell::completions(shell),
            Command::Man(args) => shell::man(args),
            // linting needs no warehouse
            Command::Contract(contract::ContractArgs {
                command: contract::ContractCommand::Lint { paths },
            }) => contract::lint(&paths),
            Command::Demo { format } => {
                // the example mesh is built by its platform admin; the REPL runs as --user,
                // else as that admin
                let session = open_session(location, Principal::new(demo::ADMIN)).await?;
                let viewer = Principal::new(user.unwrap_or(demo::ADMIN));
                let result = demo::run(&session, viewer, format).await;
                flushed(
                    &session,
                    result.map(|ok| if ok { Exit::Success } else { Exit::Failed }),
                )
                .await
            }
            command => {
                let session = open_session(location, principal).await?;
                let result = run_in(&session, command).await;
                flushed(&session, result).await
            }
        }
    }
}

/// Runs a command that works in a session.
async fn run_in(session: &Session, command: Command) -> Result<Exit> {
    match command {
        Command::Apply {
            path,
            dry_run,
            domain,
            owner,
        } => {
            let defaults = apply::Defaults { domain, owner };
            apply::run(session, &path, dry_run, &defaults).await?;
            Ok(Exit::Success)
        }
        Command::Run(args) => jobs::run(session, args).await,
        Command::Schedule(args) => jobs::schedule(session, args).await,
        Command::Contract(args) => contract::run(session, args).await,
        Command::Product(args) => product::run(session, args).await,
        Command::Classify(args) => classify::run(session, args).await,
        Command::Check(args) => check::run(session, args).await,
        Command::Maintain(args) => maintain::run(session, args).await,
        Command::Lineage(args) => lineage::run(session, args).await,
        Command::Domain(args) => domain::run(session, args),
        Command::Sql(args) => sql::run(session, args).await,
        Command::Init
        | Command::Serve(_)
        | Command::HashPassword
        | Command::Demo { .. }
        | Command::Completions { .. }
        | Command::Man(_) => Err(crate::error::Error::invalid(
            "this command runs without a session",
        )),
    }
}

/// The command's result once the audit log holds what it did: a result whose audit cannot be
/// written is an error (the command's output stands, but nothing it did goes unaudited
/// silently).
async fn flushed(session: &Session, result: Result<Exit>) -> Result<Exit> {
    let audit = session.catalog().audit().flush().await;
    match (result, audit) {
        (Err(e), _) => Err(e),
        (Ok(_), Err(e)) => Err(e),
        (Ok(exit), Ok(())) => Ok(exit),
    }
}

/// Prints one output to stdout; a reader that went away (`| head`) is not an error.
fn print(format: PrintFormat, out: &crate::sql::Output) -> Result<()> {
    match format.print(out, &mut std::io::stdout().lock()) {
        Err(e) if crate::repl::is_broken_pipe(&e) => Ok(()),
        other => other,
    }
}

/// Writes a command's text output to a file, or to stdout (where a reader that closed the pipe
/// early is a normal end).
fn write_text(output: Option<&std::path::Path>, text: &str) -> Result<()> {
    use std::io::Write;
    let (path, result) = match output {
        Some(path) => (path.display().to_string(), std::fs::write(path, text)),
        None => (
            "<stdout>".to_string(),
            std::io::stdout().lock().write_all(text.as_bytes()),
        ),
    };
    match result.map_err(|source| crate::error::Error::Io { path, source }) {
        Err(e) if crate::repl::is_broken_pipe(&e) => Ok(()),
        other => other,
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
    Session::open(wh, SessionOptions::new(principal)).await
}
