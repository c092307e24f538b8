//! The 0–100 quality score: completeness 30, freshness 30, uniqueness 20, accuracy 20.

/// What the score is computed from.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ScoreInputs {
    /// Share of completeness checks (not_null, completeness) that passed, 0–1; `None` when the
    /// product has none (full points: nothing is missing that the contract asks for).
    pub completeness: Option<f64>,
    /// Minutes since the newest data (or the last commit); `None` when unknown (no points).
    pub freshness_minutes: Option<f64>,
    /// Share of uniqueness checks (unique, primary_key) that passed; `None` when none.
    pub uniqueness: Option<f64>,
    /// Share of accuracy checks (accepted values, ranges, patterns, row counts, schema,
    /// custom SQL) that passed; `None` when none.
    pub accuracy: Option<f64>,
    /// The SLA's freshness in minutes; 60 when the product has none.
    pub sla_minutes: Option<f64>,
}

/// Minutes within which data counts as fresh when the product has no freshness SLA.
pub const DEFAULT_FRESHNESS_MINUTES: f64 = 60.0;

/// Minutes within which data still earns half the freshness points.
pub const HALF_FRESHNESS_MINUTES: f64 = 24.0 * 60.0;

/// The score, 0–100: each dimension's points times the share of its checks that passed;
/// freshness is full when the data is no older than the SLA allows (or an hour), half when no
/// older than 24 hours, and none otherwise or when its age is unknown.
pub fn quality_score(i: ScoreInputs) -> f64 {
    let share = |v: Option<f64>| v.map(|v| v.clamp(0.0, 1.0)).unwrap_or(1.0);
    let sla = i.sla_minutes.unwrap_or(DEFAULT_FRESHNESS_MINUTES);
    let freshness = match i.freshness_minutes {
        Some(age) if age <= sla => 30.0,
        Some(age) if age <= HALF_FRESHNESS_MINUTES => 15.0,
        _ => 0.0,
    };
    let score = 30.0 * share(i.completeness)
        + freshness
        + 20.0 * share(i.uniqueness)
        + 20.0 * share(i.accuracy);
    (score * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dimension_counts() {
        let all = ScoreInputs {
            completeness: Some(1.0),
            freshness_minutes: Some(5.0),
            uniqueness: Some(1.0),
            accuracy: Some(1.0),
            sla_minutes: Some(15.0),
        };
        assert_eq!(quality_score(all), 100.0);
        let stale = ScoreInputs {
            freshness_minutes: Some(120.0),
            ..all
        };
        assert_eq!(quality_score(stale), 85.0);
        let unknown = ScoreInputs {
            freshness_minutes: None,
            ..all
        };
        assert_eq!(quality_score(unknown), 70.0);
        let half = ScoreInputs {
            completeness: Some(0.5),
            accuracy: Some(0.0),
            ..all
        };
        assert_eq!(quality_score(half), 65.0);
    }
}
