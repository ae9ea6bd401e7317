//! The emulator's clock: wall time plus an offset that tests move forward.
//!
//! Every time-dependent rule (token lifetimes, secret expiry, replication and
//! propagation delays) reads this clock, never the system time directly, so
//! `POST /_emulator/clock/advance` moves all of them at once.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use time::OffsetDateTime;

/// A monotonic-forward clock: real UTC time shifted by an offset that only grows.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    offset_nanos: AtomicI64,
}

impl Clock {
    /// The emulated current time (UTC).
    pub(crate) fn now(&self) -> OffsetDateTime {
        let offset = self.offset_nanos.load(Ordering::Relaxed);
        OffsetDateTime::now_utc() + time::Duration::nanoseconds(offset)
    }

    /// Moves the clock forward by `by` and returns the new time.
    pub(crate) fn advance(&self, by: Duration) -> OffsetDateTime {
        let nanos = i64::try_from(by.as_nanos()).unwrap_or(i64::MAX);
        // Saturate instead of wrapping: an absurd advance pins the clock far in the future.
        let _ = self
            .offset_nanos
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |o| {
                Some(o.saturating_add(nanos))
            });
        self.now()
    }

    /// How far the clock has been moved ahead of wall time.
    pub(crate) fn offset(&self) -> Duration {
        Duration::from_nanos(
            self.offset_nanos
                .load(Ordering::Relaxed)
                .max(0)
                .unsigned_abs(),
        )
    }
}

/// `2024-03-15T20:49:40`: `t` in UTC to the second, with no zone suffix (Graph's error
/// `innerError.date`; with a `Z`, the metrics API's `timespan` and the start of Graph's
/// date-time form).
pub(crate) fn whole_seconds(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]"
        ))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_now_forward_by_the_amount() {
        let clock = Clock::default();
        let before = clock.now();
        let after = clock.advance(Duration::from_secs(3600));
        let moved = after - before;
        assert!(moved >= time::Duration::seconds(3600), "{moved}");
        assert!(moved < time::Duration::seconds(3660), "{moved}");
        assert_eq!(clock.offset(), Duration::from_secs(3600));
    }

    #[test]
    fn huge_advance_saturates_instead_of_wrapping() {
        let clock = Clock::default();
        clock.advance(Duration::from_secs(u64::MAX));
        clock.advance(Duration::from_secs(u64::MAX));
        assert!(clock.offset() > Duration::from_secs(100 * 365 * 86400));
    }
}
