//! Scheduled quality jobs: `.sql` files with a schedule in a header comment, run once
//! (`lakemeta run`) or on their schedules (`lakemeta schedule`), every run recorded in
//! `meta.job_runs`.

mod job;
mod runner;
mod schedule;
mod scheduler;

pub use job::Job;
pub use runner::{JobRun, RunStatus, run_job};
pub use schedule::{CronSchedule, Schedule};
pub use scheduler::run_scheduler;
