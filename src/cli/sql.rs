use std::path::PathBuf;

use clap::Args;

use super::Exit;
use crate::error::{Error, Result};
use crate::repl::{self, PrintFormat, ReplOptions};
use crate::sql::Session;

/// Arguments of `lakemeta sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// Run these statements and exit.
    #[arg(short = 'c', long = "command", conflicts_with = "file")]
    pub command: Option<String>,
    /// Run the statements of this file and exit.
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PrintFormat::Table)]
    pub format: PrintFormat,
}

/// `lakemeta sql`.
pub(super) async fn run(session: &Session, args: SqlArgs) -> Result<Exit> {
    if let Some(sql) = &args.command {
        let failed = repl::run_script(session, sql, args.format).await?;
        return Ok(Exit::from_failed_checks(failed));
    }
    if let Some(file) = &args.file {
        let sql = std::fs::read_to_string(file).map_err(|e| Error::Io {
            path: file.display().to_string(),
            source: e,
        })?;
        let failed = repl::run_script(session, &sql, args.format).await?;
        return Ok(Exit::from_failed_checks(failed));
    }
    let ok = repl::run(
        session,
        ReplOptions {
            format: args.format,
            history: history_file(),
        },
    )
    .await?;
    Ok(if ok { Exit::Success } else { Exit::Failed })
}

/// `$LAKEMETA_HISTORY`, else `~/.lakemeta_history`.
pub(super) fn history_file() -> Option<PathBuf> {
    std::env::var_os("LAKEMETA_HISTORY")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".lakemeta_history")))
}
