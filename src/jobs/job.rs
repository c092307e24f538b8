//! A quality job: a `.sql` file whose header comments name it and say when it runs.
//!
//! ```sql
//! -- job: orders_quality            (optional; the file name without .sql otherwise)
//! -- schedule: */15 * * * *         (cron, @hourly…, or "every 15m")
//! -- timezone: Europe/Paris         (optional; the cron schedule's zone, UTC otherwise)
//! -- description: Checks the orders domain every quarter of an hour
//! RUN CHECKS FOR DOMAIN orders;
//! ```

use std::path::{Path, PathBuf};

use super::schedule::Schedule;
use crate::error::{Error, Result};

/// A job read from its file.
#[derive(Debug, Clone)]
pub struct Job {
    /// Its name (`-- job:` or the file name).
    pub name: String,
    /// The file it was read from.
    pub file: PathBuf,
    /// When it runs; `None` when the file has no `-- schedule:` header (it can still be run
    /// with `lakemeta run`).
    pub schedule: Option<Schedule>,
    /// What it is for.
    pub description: String,
    /// The SQL it runs.
    pub sql: String,
}

impl Job {
    /// Reads a job file. An invalid schedule is an error naming the file and line.
    pub fn load(path: &Path) -> Result<Self> {
        let sql = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        let mut name = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "job".into());
        let mut schedule: Option<(Schedule, usize)> = None;
        let mut zone: Option<(String, usize)> = None;
        let mut description = String::new();
        for (i, line) in sql.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let Some(comment) = line.strip_prefix("--") else {
                break; // the header ends at the first statement
            };
            let Some((key, value)) = comment.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key.trim().to_ascii_lowercase().as_str() {
                "job" | "name" => name = value.to_string(),
                "schedule" => {
                    let parsed = value.parse::<Schedule>().map_err(|m| Error::Spec {
                        file: path.display().to_string(),
                        line: i + 1,
                        field: "schedule".into(),
                        message: m,
                    })?;
                    schedule = Some((parsed, i + 1));
                }
                "timezone" | "time zone" | "tz" => zone = Some((value.to_string(), i + 1)),
                "description" => description = value.to_string(),
                _ => {}
            }
        }
        let schedule = match (schedule, zone) {
            (Some((s, _)), Some((z, line))) => {
                Some(s.in_zone(&z).map_err(|message| Error::Spec {
                    file: path.display().to_string(),
                    line,
                    field: "timezone".into(),
                    message,
                })?)
            }
            (Some((s, _)), None) => Some(s),
            (None, Some((_, line))) => {
                return Err(Error::Spec {
                    file: path.display().to_string(),
                    line,
                    field: "timezone".into(),
                    message: "a time zone without a schedule: add `-- schedule: …` or remove \
                              the time zone"
                        .into(),
                });
            }
            (None, None) => None,
        };
        Ok(Self {
            name,
            file: path.to_path_buf(),
            schedule,
            description,
            sql,
        })
    }

    /// Reads every `.sql` file of a directory (sorted by name), or one file.
    pub fn load_all(path: &Path) -> Result<Vec<Self>> {
        if path.is_file() {
            return Ok(vec![Self::load(path)?]);
        }
        let entries = std::fs::read_dir(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Error::invalid(format!(
                "{}: no .sql job files found",
                path.display()
            )));
        }
        files.iter().map(|f| Self::load(f)).collect()
    }
}
