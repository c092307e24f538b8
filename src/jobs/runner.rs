//! Runs a job once and records the run in `meta.job_runs`.

use std::io::IsTerminal;

use serde::Serialize;

use super::job::Job;
use crate::error::{Error, Result};
use crate::model::now_micros;
use crate::sql::{Output, Session, parse_sql};
use crate::storage::SystemTableKind;

/// How a job run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Every statement ran and every check passed.
    Success,
    /// Every statement ran, but a check failed or errored.
    ChecksFailed,
    /// A statement failed (the rest were not run).
    Error,
}

impl RunStatus {
    /// The name stored in `meta.job_runs.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Success => "success",
            RunStatus::ChecksFailed => "checks_failed",
            RunStatus::Error => "error",
        }
    }
}

/// One run of a job; one row of `meta.job_runs`.
#[derive(Debug, Clone, Serialize)]
pub struct JobRun {
    /// Unique per run.
    pub run_id: String,
    /// The job's name.
    pub job: String,
    /// Its file.
    pub file: String,
    /// Start (microseconds, UTC).
    pub started_at: i64,
    /// End.
    pub ended_at: i64,
    /// `success`, `checks_failed` or `error`.
    pub status: String,
    /// Why it failed.
    pub error: Option<String>,
    /// Statements that ran.
    pub statements: i64,
    /// Checks evaluated.
    pub checks_run: i64,
    /// Checks that failed or errored.
    pub checks_failed: i64,
    /// Who ran it.
    pub run_by: String,
}

impl JobRun {
    /// The status, parsed.
    pub fn status(&self) -> RunStatus {
        match self.status.as_str() {
            "success" => RunStatus::Success,
            "checks_failed" => RunStatus::ChecksFailed,
            _ => RunStatus::Error,
        }
    }
}

/// Runs every statement of a job in order (stopping at the first error), hands each output to
/// `on_output`, and appends the run to `meta.job_runs`. A job's failure is part of the result,
/// not an error; only failing to record the run is.
pub async fn run_job(
    session: &Session,
    job: &Job,
    mut on_output: impl FnMut(&Output),
) -> Result<JobRun> {
    let started_at = now_micros();
    let run_id = crate::sql::functions::new_run_id();
    let mut run = JobRun {
        run_id,
        job: job.name.clone(),
        file: job.file.display().to_string(),
        started_at,
        ended_at: started_at,
        status: RunStatus::Success.as_str().into(),
        error: None,
        statements: 0,
        checks_run: 0,
        checks_failed: 0,
        run_by: session.principal().name.clone(),
    };
    let progress = std::io::stderr().is_terminal();
    match parse_sql(&job.sql) {
        Err(e) => {
            run.status = RunStatus::Error.as_str().into();
            run.error = Some(format!("{}: {e}", job.file.display()));
        }
        Ok(statements) => {
            let total = statements.len();
            for (i, stmt) in statements.into_iter().enumerate() {
                if progress {
                    eprint!("\r\x1b[2K{}: statement {}/{total} …", job.name, i + 1);
                }
                match session.run(stmt).await {
                    Ok(out) => {
                        run.statements += 1;
                        run.checks_run += out.checks as i64;
                        run.checks_failed += out.failed_checks as i64;
                        on_output(&out);
                    }
                    Err(e) => {
                        run.status = RunStatus::Error.as_str().into();
                        run.error = Some(format!("statement {} of {total}: {e}", i + 1));
                        break;
                    }
                }
            }
            if progress {
                eprint!("\r\x1b[2K");
            }
        }
    }
    if run.status() == RunStatus::Success && run.checks_failed > 0 {
        run.status = RunStatus::ChecksFailed.as_str().into();
    }
    run.ended_at = now_micros();
    session
        .warehouse()
        .table(SystemTableKind::JobRuns)
        .append(std::slice::from_ref(&run))
        .await
        .map_err(|e| {
            Error::invalid(format!(
                "job {}: the run could not be recorded: {e}",
                job.name
            ))
        })?;
    Ok(run)
}
