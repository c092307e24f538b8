//! When a job runs: a cron expression (Vixie cron's five fields — minute hour day-of-month month
//! day-of-week — with names, ranges, steps, lists, `@hourly`… and croner's `L`, `#` and `W`),
//! in UTC or a named time zone, or an interval (`every 15m`, `every 1h 30m`, `every 2days`).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use croner::Cron;

/// A job's schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// A fixed interval, counted from the scheduler's start.
    Every(std::time::Duration),
    /// A cron expression in a time zone.
    Cron(Box<CronSchedule>),
}

/// A parsed cron expression and the time zone its times are in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSchedule {
    text: String,
    cron: Cron,
    zone: Tz,
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Every(d) => write!(f, "every {}", humantime::format_duration(*d)),
            Schedule::Cron(c) if c.zone == Tz::UTC => f.write_str(&c.text),
            Schedule::Cron(c) => write!(f, "{} ({})", c.text, c.zone),
        }
    }
}

/// The longest interval a schedule may have: a year.
const LONGEST: std::time::Duration = std::time::Duration::from_secs(366 * 86_400);

impl FromStr for Schedule {
    type Err = String;

    /// Reads a schedule in UTC; [`Schedule::in_zone`] moves a cron schedule to another zone.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(rest) = s
            .strip_prefix("every ")
            .or_else(|| s.strip_prefix("@every "))
        {
            let d = humantime::parse_duration(rest.trim()).map_err(|e| {
                format!(
                    "'{s}': {e}; write the interval as numbers with units, e.g. every 15m, \
                     every 1h 30m or every 2days"
                )
            })?;
            if d.is_zero() {
                return Err(format!("'{s}': the interval must be longer than zero"));
            }
            if d > LONGEST {
                return Err(format!(
                    "'{s}': the interval is longer than a year; use a cron schedule for rare \
                     runs (e.g. '0 0 1 1 *')"
                ));
            }
            return Ok(Schedule::Every(d));
        }
        if s.is_empty() {
            return Err(
                "the schedule is empty: give a cron expression (e.g. '*/15 * * * *'), \
                        @hourly/@daily/@weekly/@monthly, or 'every 15m'"
                    .into(),
            );
        }
        let cron = Cron::from_str(s).map_err(|e| {
            let culprit = faulty_field(s)
                .map(|(what, text)| format!(" the {what} '{text}' is not valid;"))
                .unwrap_or_default();
            format!(
                "'{s}' is not a schedule ({e}):{culprit} use five cron fields (minute hour day \
                 month weekday, e.g. '*/15 * * * *'), @hourly/@daily/@weekly/@monthly, or \
                 'every 15m'"
            )
        })?;
        Ok(Schedule::Cron(Box::new(CronSchedule {
            text: s.split_whitespace().collect::<Vec<_>>().join(" "),
            cron,
            zone: Tz::UTC,
        })))
    }
}

/// The field of a five-field cron expression that makes it invalid: each field is tried with
/// every other field `*`.
fn faulty_field(s: &str) -> Option<(&'static str, &str)> {
    const NAMES: [&str; 5] = ["minute", "hour", "day of month", "month", "day of week"];
    let fields: Vec<&str> = s.split_whitespace().collect();
    if fields.len() != 5 {
        return None;
    }
    (0..5).find_map(|i| {
        let alone: Vec<&str> = (0..5)
            .map(|j| if j == i { fields[i] } else { "*" })
            .collect();
        Cron::from_str(&alone.join(" "))
            .is_err()
            .then_some((NAMES[i], fields[i]))
    })
}

impl Schedule {
    /// The schedule with its cron times read in the time zone named `zone` (an IANA name such
    /// as `Europe/Paris`); an interval is the same in every zone.
    pub fn in_zone(self, zone: &str) -> Result<Self, String> {
        let tz: Tz = zone.trim().parse().map_err(|_| {
            format!(
                "unknown time zone '{}': use an IANA name such as UTC, Europe/Paris or \
                 America/New_York",
                zone.trim()
            )
        })?;
        Ok(match self {
            Schedule::Cron(mut c) => {
                c.zone = tz;
                Schedule::Cron(c)
            }
            every => every,
        })
    }

    /// The first time after `after` the job is due. An interval counts from `start`.
    pub fn next_after(&self, after: DateTime<Utc>, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Every(d) => {
                let step_ms = i64::try_from(d.as_millis()).ok()?.max(1);
                let n = (after - start).num_milliseconds().max(0) / step_ms + 1;
                start.checked_add_signed(Duration::milliseconds(step_ms.checked_mul(n)?))
            }
            Schedule::Cron(c) => {
                let local = after.with_timezone(&c.zone);
                c.cron
                    .find_next_occurrence(&local, false)
                    .ok()
                    .map(|t| t.with_timezone(&Utc))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn cron_and_intervals() {
        let start = at(2026, 1, 1, 0, 0);
        let next = |s: &str, after| s.parse::<Schedule>().unwrap().next_after(after, start);
        assert_eq!(
            next("*/15 * * * *", at(2026, 1, 1, 10, 7)),
            Some(at(2026, 1, 1, 10, 15))
        );
        // 2026-01-03 is a Saturday: next is Monday the 5th
        assert_eq!(
            next("30 2 * * mon-fri", at(2026, 1, 3, 3, 0)),
            Some(at(2026, 1, 5, 2, 30))
        );
        assert_eq!(
            next("0 0 29 2 *", at(2026, 3, 1, 0, 0)),
            Some(at(2028, 2, 29, 0, 0))
        );
        // Vixie cron: both day fields restricted, either matches
        assert_eq!(
            next("0 0 13 * fri", at(2026, 1, 1, 0, 0)),
            Some(at(2026, 1, 2, 0, 0))
        );
        // croner's last day of the month
        assert_eq!(
            next("0 12 L * *", at(2026, 2, 1, 0, 0)),
            Some(at(2026, 2, 28, 12, 0))
        );
        assert_eq!(
            next("@daily", at(2026, 1, 1, 0, 0)),
            Some(at(2026, 1, 2, 0, 0))
        );
        assert_eq!(
            next("every 15m", at(2026, 1, 1, 0, 20)),
            Some(at(2026, 1, 1, 0, 30))
        );
        assert_eq!(
            next("every 1h 30m", at(2026, 1, 1, 0, 20)),
            Some(at(2026, 1, 1, 1, 30))
        );
        assert_eq!(
            "every 90m".parse::<Schedule>().unwrap().to_string(),
            "every 1h 30m"
        );
        for bad in [
            "61 * * * *",
            "* * *",
            "",
            "every",
            "every 0m",
            "every 5 fortnights",
            "every 99999999999999999999d",
            "every 400d",
            "*/0 * * * *",
        ] {
            assert!(bad.parse::<Schedule>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_cron_schedule_runs_in_its_time_zone() {
        let s = "0 9 * * *"
            .parse::<Schedule>()
            .unwrap()
            .in_zone("Europe/Paris")
            .unwrap();
        assert_eq!(s.to_string(), "0 9 * * * (Europe/Paris)");
        // winter: UTC+1; summer: UTC+2
        let start = at(2026, 1, 1, 0, 0);
        assert_eq!(
            s.next_after(at(2026, 1, 10, 0, 0), start),
            Some(at(2026, 1, 10, 8, 0))
        );
        assert_eq!(
            s.next_after(at(2026, 7, 10, 0, 0), start),
            Some(at(2026, 7, 10, 7, 0))
        );
        let err = "0 9 * * *"
            .parse::<Schedule>()
            .unwrap()
            .in_zone("Mars/Olympus")
            .unwrap_err();
        assert!(err.contains("unknown time zone 'Mars/Olympus'"), "{err}");
    }
}
