use std::time::Duration;

use rand::Rng;

/// How lakemeta retries a commit that lost the race to another writer: exponential backoff with
/// full jitter, so that writers that collided spread out instead of colliding again. A writer
/// among `n` busy ones wins a round with a chance of about `1/n`, so a fixed small number of
/// attempts is not enough under sustained contention (losing 40 rounds in a row among eight
/// writers has a chance of 0.5 %); lakemeta keeps trying until a time budget is spent.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: usize,
    /// The time after which no further attempt is started.
    pub max_elapsed: Duration,
    /// The first backoff ceiling.
    pub base: Duration,
    /// The largest backoff ceiling.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 1000,
            max_elapsed: Duration::from_secs(120),
            base: Duration::from_millis(5),
            cap: Duration::from_millis(250),
        }
    }
}

impl RetryPolicy {
    /// The pause before attempt `attempt` (1-based; the first retry is attempt 2): a uniform
    /// random duration up to `min(cap, base * 2^(attempt-2))`.
    pub fn backoff(&self, attempt: usize) -> Duration {
        let exp = attempt.saturating_sub(2).min(16) as u32;
        let ceiling = self.base.saturating_mul(1u32 << exp).min(self.cap);
        let micros = ceiling.as_micros().max(1) as u64;
        Duration::from_micros(rand::rng().random_range(0..=micros))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        for attempt in 2..60 {
            let d = p.backoff(attempt);
            assert!(d <= p.cap, "attempt {attempt}: {d:?} over the cap");
        }
        let exp = 2usize;
        let ceiling = p.base * (1 << (exp - 2));
        assert!(p.backoff(exp) <= ceiling);
    }
}
