//! When a job runs: a five-field cron expression (minute hour day-of-month month day-of-week,
//! in UTC) or an interval (`every 15m`, `every 30s`, `every 2h`, `every 1d`).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, DurationRound, Timelike, Utc};

/// A job's schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// A fixed interval, counted from the scheduler's start.
    Every(std::time::Duration),
    /// A cron expression.
    Cron(Box<Cron>),
}

/// A parsed five-field cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    text: String,
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Vec<bool>,
    months: Vec<bool>,
    weekdays: Vec<bool>,
    /// Both day fields restricted: a day matches when either does (as cron does).
    either_day: bool,
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Every(d) => write!(f, "every {}s", d.as_secs()),
            Schedule::Cron(c) => f.write_str(&c.text),
        }
    }
}

impl FromStr for Schedule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(rest) = s
            .strip_prefix("every ")
            .or_else(|| s.strip_prefix("@every "))
        {
            let rest = rest.trim();
            let split = rest
                .find(|c: char| !c.is_ascii_digit())
                .ok_or_else(|| format!("'{s}': give a unit: every 15m, 30s, 2h or 1d"))?;
            let (n, unit) = rest.split_at(split);
            let n: u64 = n.parse().map_err(|_| {
                format!("'{s}': write the interval as a number and a unit, e.g. every 15m")
            })?;
            let secs = match unit.trim() {
                "s" | "sec" | "secs" | "second" | "seconds" => n,
                "m" | "min" | "mins" | "minute" | "minutes" => n * 60,
                "h" | "hour" | "hours" => n * 3600,
                "d" | "day" | "days" => n * 86_400,
                other => return Err(format!("'{s}': unknown unit '{other}': use s, m, h or d")),
            };
            if secs == 0 {
                return Err(format!("'{s}': the interval must be longer than zero"));
            }
            return Ok(Schedule::Every(std::time::Duration::from_secs(secs)));
        }
        let fields: Vec<&str> = s.split_whitespace().collect();
        let fields: Vec<&str> = match fields.as_slice() {
            ["@hourly"] => vec!["0", "*", "*", "*", "*"],
            ["@daily"] | ["@midnight"] => vec!["0", "0", "*", "*", "*"],
            ["@weekly"] => vec!["0", "0", "*", "*", "0"],
            ["@monthly"] => vec!["0", "0", "1", "*", "*"],
            f if f.len() == 5 => f.to_vec(),
            f => {
                return Err(format!(
                    "'{s}' is not a schedule: use five cron fields (minute hour day month \
                     weekday, e.g. '*/15 * * * *'), @hourly/@daily/@weekly/@monthly, or \
                     'every 15m' (found {} fields)",
                    f.len()
                ));
            }
        };
        const MONTHS: [&str; 12] = [
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ];
        const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
        let minutes = field(fields[0], "minute", 0, 59, &[])?;
        let hours = field(fields[1], "hour", 0, 23, &[])?;
        let days = field(fields[2], "day of month", 1, 31, &[])?;
        let months = field(fields[3], "month", 1, 12, &MONTHS)?;
        let mut weekdays = field(fields[4], "day of week", 0, 7, &DAYS)?;
        if weekdays[7] {
            weekdays[0] = true; // 7 is Sunday too
        }
        weekdays.truncate(7);
        Ok(Schedule::Cron(Box::new(Cron {
            text: fields.join(" "),
            minutes,
            hours,
            days,
            months,
            weekdays,
            either_day: fields[2] != "*" && fields[4] != "*",
        })))
    }
}

/// One cron field as a table of allowed values (index = value).
fn field(text: &str, what: &str, lo: u32, hi: u32, names: &[&str]) -> Result<Vec<bool>, String> {
    let mut allowed = vec![false; hi as usize + 1];
    let value = |v: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(v)) {
            // month names count from 1, weekday names from 0
            return Ok(i as u32 + lo);
        }
        let n: u32 = v
            .parse()
            .map_err(|_| format!("'{v}' is not a valid {what} (use {lo}-{hi})"))?;
        if n < lo || n > hi {
            return Err(format!("{what} {n} is out of range {lo}-{hi}"));
        }
        Ok(n)
    };
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                    format!("'{part}': the step of a {what} must be a positive number")
                })?;
                (r, step)
            }
            None => (part, 1),
        };
        let (start, end) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (value(a)?, value(b)?);
            if a > b {
                return Err(format!("'{part}': a {what} range must go up"));
            }
            (a, b)
        } else {
            let a = value(range)?;
            (a, if step > 1 { hi } else { a })
        };
        let mut v = start;
        while v <= end {
            allowed[v as usize] = true;
            v += step;
        }
    }
    Ok(allowed)
}

impl Cron {
    fn matches(&self, t: &DateTime<Utc>) -> bool {
        let day_ok = self.days[t.day() as usize];
        let weekday_ok = self.weekdays[t.weekday().num_days_from_sunday() as usize];
        let day = if self.either_day {
            day_ok || weekday_ok
        } else {
            day_ok && weekday_ok
        };
        self.minutes[t.minute() as usize]
            && self.hours[t.hour() as usize]
            && self.months[t.month() as usize]
            && day
    }
}

impl Schedule {
    /// The first time after `after` the job is due. An interval counts from `start`.
    pub fn next_after(&self, after: DateTime<Utc>, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Every(d) => {
                let step_ms = i64::try_from(d.as_millis()).ok()?.max(1);
                let n = (after - start).num_milliseconds().max(0) / step_ms + 1;
                Some(start + Duration::milliseconds(step_ms.checked_mul(n)?))
            }
            Schedule::Cron(c) => {
                let mut t = after.duration_trunc(Duration::minutes(1)).ok()? + Duration::minutes(1);
                // at most a little over four years of minutes (29 February needs that)
                for _ in 0..(4 * 366 * 24 * 60 + 1) {
                    if c.matches(&t) {
                        return Some(t);
                    }
                    t += Duration::minutes(1);
                }
                None
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
        let s: Schedule = "*/15 * * * *".parse().unwrap();
        assert_eq!(
            s.next_after(at(2026, 1, 1, 10, 7), at(2026, 1, 1, 0, 0)),
            Some(at(2026, 1, 1, 10, 15))
        );
        let s: Schedule = "30 2 * * mon-fri".parse().unwrap();
        // 2026-01-03 is a Saturday: next is Monday the 5th
        assert_eq!(
            s.next_after(at(2026, 1, 3, 3, 0), at(2026, 1, 1, 0, 0)),
            Some(at(2026, 1, 5, 2, 30))
        );
        let s: Schedule = "0 0 29 2 *".parse().unwrap();
        assert_eq!(
            s.next_after(at(2026, 3, 1, 0, 0), at(2026, 1, 1, 0, 0)),
            Some(at(2028, 2, 29, 0, 0))
        );
        let s: Schedule = "every 15m".parse().unwrap();
        assert_eq!(
            s.next_after(at(2026, 1, 1, 0, 20), at(2026, 1, 1, 0, 0)),
            Some(at(2026, 1, 1, 0, 30))
        );
        for bad in [
            "61 * * * *",
            "* * *",
            "every",
            "every 0m",
            "*/0 * * * *",
            "5-2 * * * *",
            "every 5 fortnights",
        ] {
            assert!(bad.parse::<Schedule>().is_err(), "{bad}");
        }
    }
}
