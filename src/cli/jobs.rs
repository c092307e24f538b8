use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::Exit;
use crate::error::{Error, Result};
use crate::jobs::{Job, RunStatus, run_job, run_scheduler};
use crate::repl::PrintFormat;
use crate::sql::{Session, SessionOptions, interruptible};

/// Arguments of `lakemeta run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Job files (.sql), or directories of them.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output format of the statements' results.
    #[arg(long, value_enum, default_value_t = PrintFormat::Table)]
    pub format: PrintFormat,
}

/// Arguments of `lakemeta schedule`.
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// A directory of job files (or one file).
    #[arg(default_value = "sql/jobs")]
    pub dir: PathBuf,
}

/// `lakemeta run`: each job once, in order. Exit 2 when a job errored, 1 when a check failed.
pub(super) async fn run(session: &Session, args: RunArgs) -> Result<Exit> {
    let mut jobs = Vec::new();
    for f in &args.files {
        jobs.extend(Job::load_all(f)?);
    }
    let mut exit = Exit::Success;
    for job in &jobs {
        let mut print_error = None;
        let format = args.format;
        let run = interruptible(
            session.catalog(),
            run_job(session, job, |out| {
                if let Err(e) = super::print(format, out) {
                    print_error.get_or_insert(e);
                }
            }),
        )
        .await?;
        if let Some(e) = print_error {
            return Err(e);
        }
        let ms = (run.ended_at - run.started_at) / 1000;
        match run.status() {
            RunStatus::Error => {
                eprintln!(
                    "job {}: error after {ms} ms: {}",
                    job.name,
                    run.error.as_deref().unwrap_or_default()
                );
                exit = Exit::Failed;
            }
            status => {
                eprintln!(
                    "job {}: {} in {ms} ms ({} statements, {} checks, {} failed)",
                    job.name,
                    status.as_str(),
                    run.statements,
                    run.checks_run,
                    run.checks_failed
                );
                if status == RunStatus::ChecksFailed && exit == Exit::Success {
                    exit = Exit::ChecksFailed;
                }
            }
        }
    }
    Ok(exit)
}

/// `lakemeta schedule`: runs until SIGTERM or Ctrl-C.
pub(super) async fn schedule(session: &Session, args: ScheduleArgs) -> Result<Exit> {
    let jobs = Job::load_all(&args.dir)?;
    let catalog = Arc::clone(session.catalog());
    let options = SessionOptions::new(session.principal().clone());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Error::invalid(format!("cannot listen for SIGTERM: {e}")))?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    run_scheduler(catalog, options, jobs, shutdown).await?;
    Ok(Exit::Success)
}
