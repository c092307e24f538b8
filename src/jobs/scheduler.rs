//! The long-running scheduler: runs each job on time, never one job twice at once, survives a
//! failing job, and stops cleanly on SIGTERM or Ctrl-C (running jobs finish, nothing new
//! starts).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::job::Job;
use super::runner::{RunStatus, run_job};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::sql::{Session, SessionOptions};

/// Runs `jobs` on their schedules until `shutdown` resolves. Every job needs a schedule.
pub async fn run_scheduler(
    catalog: Arc<Catalog>,
    options: SessionOptions,
    jobs: Vec<Job>,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let mut scheduled = Vec::new();
    for job in jobs {
        let Some(schedule) = job.schedule.clone() else {
            return Err(Error::invalid(format!(
                "{}: no schedule: add a header line such as '-- schedule: */15 * * * *' or \
                 '-- schedule: every 15m' (or run it once with lakemeta run)",
                job.file.display()
            )));
        };
        scheduled.push((Arc::new(job), schedule));
    }
    if scheduled.is_empty() {
        return Err(Error::invalid("no jobs to schedule"));
    }
    let start = Utc::now();
    let mut next: Vec<Option<DateTime<Utc>>> = scheduled
        .iter()
        .map(|(_, s)| s.next_after(start, start))
        .collect();
    let mut running = vec![false; scheduled.len()];
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<usize>();
    for (i, (job, s)) in scheduled.iter().enumerate() {
        println!(
            "{} scheduled {} ({s}); first run {}",
            stamp(),
            job.name,
            next[i].map_or("never".to_string(), |t| t
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        );
    }
    tokio::pin!(shutdown);
    loop {
        let Some(due) = next.iter().flatten().min().copied() else {
            println!("{} no job has a future run; stopping", stamp());
            break;
        };
        let wait = (due - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            _ = &mut shutdown => {
                println!("{} stopping: no new runs start", stamp());
                break;
            }
            Some(i) = done_rx.recv() => {
                running[i] = false;
                continue;
            }
            _ = tokio::time::sleep(wait) => {}
        }
        let now = Utc::now();
        for (i, (job, schedule)) in scheduled.iter().enumerate() {
            if next[i].is_none_or(|t| t > now) {
                continue;
            }
            next[i] = schedule.next_after(now, start);
            if running[i] {
                println!(
                    "{} {} is still running; this run is skipped (a job never runs twice at once)",
                    stamp(),
                    job.name
                );
                continue;
            }
            running[i] = true;
            let job = Arc::clone(job);
            let catalog = Arc::clone(&catalog);
            let options = options.clone();
            let done = done_tx.clone();
            tokio::spawn(async move {
                println!("{} {} started", stamp(), job.name);
                let result = match Session::with_catalog(catalog, options).await {
                    Ok(session) => run_job(&session, &job, |_| {}).await,
                    Err(e) => Err(e),
                };
                match result {
                    Ok(run) => {
                        let ms = (run.ended_at - run.started_at) / 1000;
                        match run.status() {
                            RunStatus::Error => println!(
                                "{} {} finished: error after {ms} ms: {}",
                                stamp(),
                                job.name,
                                run.error.as_deref().unwrap_or_default()
                            ),
                            status => println!(
                                "{} {} finished: {} in {ms} ms ({} statements, {} checks, {} \
                                 failed)",
                                stamp(),
                                job.name,
                                status.as_str(),
                                run.statements,
                                run.checks_run,
                                run.checks_failed
                            ),
                        }
                    }
                    Err(e) => println!("{} {} could not run: {e}", stamp(), job.name),
                }
                let _ = done.send(i);
            });
        }
    }
    let waiting = running.iter().filter(|r| **r).count();
    if waiting > 0 {
        println!("{} waiting for {waiting} running job(s) to finish", stamp());
    }
    drop(done_tx);
    while running.iter().any(|r| *r) {
        match done_rx.recv().await {
            Some(i) => running[i] = false,
            None => break,
        }
    }
    println!("{} scheduler stopped", stamp());
    Ok(())
}

fn stamp() -> String {
    Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
