//! Medians and percentiles of small samples.

use std::time::Duration;

/// Median, 90th percentile and maximum of a sample.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Summary {
    pub(crate) median: Duration,
    pub(crate) p90: Duration,
    pub(crate) max: Duration,
}

impl Summary {
    pub(crate) fn of(sample: &[Duration]) -> Self {
        let mut sorted = sample.to_vec();
        sorted.sort_unstable();
        let at = |q: f64| {
            if sorted.is_empty() {
                return Duration::ZERO;
            }
            // Nearest rank.
            let rank = (q * sorted.len() as f64).ceil() as usize;
            sorted[rank.clamp(1, sorted.len()) - 1]
        };
        Self {
            median: median(&sorted),
            p90: at(0.9),
            max: sorted.last().copied().unwrap_or_default(),
        }
    }
}

/// The median (the mean of the middle two for an even count).
pub(crate) fn median(sample: &[Duration]) -> Duration {
    let mut sorted = sample.to_vec();
    sorted.sort_unstable();
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

/// The median of numbers.
pub(crate) fn median_f64(sample: &[f64]) -> f64 {
    let mut sorted = sample.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_ranks() {
        let ms = |v: &[u64]| {
            v.iter()
                .map(|&m| Duration::from_millis(m))
                .collect::<Vec<_>>()
        };
        assert_eq!(median(&ms(&[3, 1, 2])), Duration::from_millis(2));
        assert_eq!(median(&ms(&[4, 1, 2, 3])), Duration::from_micros(2500));
        let s = Summary::of(&ms(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
        assert_eq!(s.p90, Duration::from_millis(9));
        assert_eq!(s.max, Duration::from_millis(10));
        assert_eq!(median_f64(&[2.0, 1.0]), 1.5);
    }
}
