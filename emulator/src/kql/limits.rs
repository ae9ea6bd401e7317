//! What one query may use: a memory budget, a deadline and a cancel flag, enforced by a
//! [`Governor`] the evaluator consults as it works; and [`Queries`], the set of queries a
//! host is running, so that it can cancel them all at shutdown.
//!
//! The budget counts the bytes a query allocates (strings, column data, selections,
//! groups, sort keys) *before* it allocates them, and never gives them back while the query
//! runs: the count is an upper bound of the query's peak memory, and no allocation past the
//! budget is ever attempted. A charge that does not fit marks the query as over budget; the
//! value being built is replaced by a null and the operator stops at its next check, so the
//! query ends with an error instead of a failed allocation. Short-lived copies made while
//! comparing two values (lower-casing for `=~` or `in~`, a dynamic value's text) are not
//! counted: each is at most a few times the size of a value the query already holds. The
//! lower-cased copy of a string predicate (`has`, `contains`, …) is, since its text can be
//! as large as the budget allows.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

use super::error::KqlError;

/// Default memory budget of one query: 512 MiB. The service's own per-operator budget is
/// 5 GiB (`maxmemoryconsumptionperiterator`); the emulator runs on a developer machine and
/// keeps well below that.
pub(crate) const DEFAULT_MEMORY_BUDGET: usize = 512 << 20;

/// Rows an operator processes between two looks at the clock and the cancel flag.
pub(super) const CHUNK: usize = 256;

/// Units of work (bytes scanned, items compared) between two looks at the clock and the
/// cancel flag inside a single row's evaluation.
const POLL_WORK: u64 = 1 << 20;

/// A flag that stops a running query from another thread: the query ends with a
/// cancellation error at its next check.
#[derive(Clone, Debug, Default)]
pub(crate) struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// A flag not yet raised.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Raises the flag.
    pub(crate) fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the flag was raised.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Resource limits of one query run.
#[derive(Clone, Debug)]
pub(crate) struct Limits {
    /// Bytes the query may allocate ([`DEFAULT_MEMORY_BUDGET`] by default).
    pub(crate) memory_budget: usize,
    /// When the query must stop (none by default).
    pub(crate) deadline: Option<Instant>,
    /// Stops the query when raised.
    pub(crate) cancel: Option<CancelFlag>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_budget: DEFAULT_MEMORY_BUDGET,
            deadline: None,
            cancel: None,
        }
    }
}

/// What a query used (see [`super::run_measured`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    /// Bytes charged to the memory budget; never more than the budget.
    pub(crate) memory: usize,
}

/// Which limit stopped a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trip {
    Memory,
    Timeout,
    Cancelled,
}

/// The running account of one query against its [`Limits`]. Single-threaded: one query
/// runs on one thread; only the cancel flag is shared.
#[derive(Debug)]
pub(super) struct Governor {
    budget: usize,
    used: Cell<usize>,
    deadline: Option<Instant>,
    cancel: Option<CancelFlag>,
    tripped: Cell<Option<Trip>>,
    work: Cell<u64>,
}

impl Governor {
    pub(super) fn new(limits: &Limits) -> Self {
        Governor {
            budget: limits.memory_budget,
            used: Cell::new(0),
            deadline: limits.deadline,
            cancel: limits.cancel.clone(),
            tripped: Cell::new(None),
            work: Cell::new(0),
        }
    }

    /// A governor with the default budget and no deadline (unit tests).
    #[cfg(test)]
    pub(super) fn unlimited() -> Self {
        Self::new(&Limits::default())
    }

    /// Reserves `bytes` the caller is about to allocate. `false` (and the query marked as
    /// over budget) when they do not fit or the query must already stop: the caller then
    /// allocates nothing.
    #[inline]
    pub(super) fn charge(&self, bytes: usize) -> bool {
        if self.tripped.get().is_some() {
            return false;
        }
        match self.used.get().checked_add(bytes) {
            Some(n) if n <= self.budget => {
                self.used.set(n);
                true
            }
            _ => {
                self.tripped.set(Some(Trip::Memory));
                false
            }
        }
    }

    /// Returns bytes reserved by [`Self::charge`] but not allocated after all.
    #[inline]
    pub(super) fn refund(&self, bytes: usize) {
        self.used.set(self.used.get().saturating_sub(bytes));
    }

    /// [`Self::charge`] for an operator that can stop at once: the error names it.
    pub(super) fn reserve(&self, bytes: usize, op: &str) -> Result<(), KqlError> {
        if self.charge(bytes) {
            Ok(())
        } else {
            self.check(op)
        }
    }

    /// Counts `units` of work done inside one row's evaluation (bytes scanned, list items
    /// compared) and looks at the clock and the cancel flag every so often. `false` once
    /// the query must stop: the caller then skips the rest of its work.
    #[inline]
    pub(super) fn work(&self, units: usize) -> bool {
        if self.tripped.get().is_some() {
            return false;
        }
        let w = self.work.get().saturating_add(units as u64);
        if w >= POLL_WORK {
            self.work.set(0);
            self.poll()
        } else {
            self.work.set(w);
            true
        }
    }

    /// Looks at the cancel flag and the clock now; `false` once the query must stop.
    pub(super) fn poll(&self) -> bool {
        if self.tripped.get().is_some() {
            return false;
        }
        if self.cancel.as_ref().is_some_and(CancelFlag::is_cancelled) {
            self.tripped.set(Some(Trip::Cancelled));
            return false;
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.tripped.set(Some(Trip::Timeout));
            return false;
        }
        true
    }

    /// The error for the limit the query hit, if any (looking at the clock and the cancel
    /// flag too); `op` is the operator running.
    pub(super) fn check(&self, op: &str) -> Result<(), KqlError> {
        self.poll();
        match self.tripped.get() {
            None => Ok(()),
            Some(Trip::Memory) => Err(KqlError::runaway(op, self.budget)),
            Some(Trip::Timeout) => Err(KqlError::timeout()),
            Some(Trip::Cancelled) => Err(KqlError::cancelled()),
        }
    }

    /// Bytes charged so far.
    pub(super) fn used(&self) -> usize {
        self.used.get()
    }
}

/// The queries a host is running. Each registers for the time it evaluates
/// ([`Queries::register`]); [`Queries::shutdown`] cancels those running and every one
/// registered afterwards. Clones share the set.
#[derive(Clone, Debug, Default)]
pub struct Queries {
    inner: Arc<Mutex<Registry>>,
}

#[derive(Debug, Default)]
struct Registry {
    next: u64,
    running: HashMap<u64, CancelFlag>,
    closed: bool,
    cancelled: u64,
}

impl Queries {
    /// An empty set.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Registers a query that stops when `flag` is raised, until the returned guard is
    /// dropped. After [`Self::shutdown`] the flag is raised at once.
    pub(crate) fn register(&self, flag: CancelFlag) -> RunningQuery {
        let mut inner = self.inner.lock();
        if inner.closed {
            flag.cancel();
        }
        let id = inner.next;
        inner.next += 1;
        inner.running.insert(id, flag.clone());
        RunningQuery {
            queries: self.clone(),
            id,
            #[cfg(test)]
            flag,
        }
    }

    /// Cancels every running query, and every query registered from now on.
    pub(crate) fn shutdown(&self) {
        let mut inner = self.inner.lock();
        inner.closed = true;
        for flag in inner.running.values() {
            flag.cancel();
        }
    }

    /// Queries evaluating now.
    pub fn running(&self) -> usize {
        self.inner.lock().running.len()
    }

    /// Queries that stopped because they were cancelled (their client left, or the host
    /// shut down), since the set was made.
    pub fn cancelled(&self) -> u64 {
        self.inner.lock().cancelled
    }
}

/// A query's entry in [`Queries`]; dropping it removes the entry.
#[derive(Debug)]
pub(crate) struct RunningQuery {
    queries: Queries,
    id: u64,
    #[cfg(test)]
    flag: CancelFlag,
}

impl RunningQuery {
    /// Records that the query stopped because its flag was raised.
    pub(crate) fn mark_cancelled(&self) {
        self.queries.inner.lock().cancelled += 1;
    }

    /// The query's cancel flag.
    #[cfg(test)]
    pub(crate) fn flag(&self) -> &CancelFlag {
        &self.flag
    }
}

impl Drop for RunningQuery {
    fn drop(&mut self) {
        self.queries.inner.lock().running.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kql::KqlErrorKind;

    #[test]
    fn charges_stop_at_the_budget_and_nothing_is_counted_past_it() {
        let g = Governor::new(&Limits {
            memory_budget: 100,
            ..Limits::default()
        });
        assert!(g.charge(60));
        assert!(!g.charge(41), "60 + 41 > 100");
        assert_eq!(g.used(), 60, "a refused charge is not counted");
        assert!(!g.charge(1), "once over budget, every charge is refused");
        let e = g.check("extend").expect_err("over budget");
        assert_eq!(e.kind, KqlErrorKind::Runaway);
        assert!(
            e.message
                .starts_with("'extend' operator has exceeded the memory budget (100)")
        );
        let g = Governor::new(&Limits {
            memory_budget: 10,
            ..Limits::default()
        });
        assert!(!g.charge(usize::MAX), "no overflow");
    }

    #[test]
    fn a_past_deadline_or_a_raised_flag_stops_the_query() {
        let g = Governor::new(&Limits {
            deadline: Some(Instant::now()),
            ..Limits::default()
        });
        assert_eq!(
            g.check("where").expect_err("late").kind,
            KqlErrorKind::Timeout
        );
        let flag = CancelFlag::new();
        let g = Governor::new(&Limits {
            cancel: Some(flag.clone()),
            ..Limits::default()
        });
        assert!(g.work(POLL_WORK as usize - 1));
        flag.cancel();
        assert!(!g.work(1), "work polls the flag");
        assert_eq!(
            g.check("where").expect_err("cancelled").kind,
            KqlErrorKind::Cancelled
        );
    }

    #[test]
    fn shutdown_cancels_running_and_later_queries() {
        let queries = Queries::new();
        let first = queries.register(CancelFlag::new());
        assert_eq!(queries.running(), 1);
        queries.shutdown();
        assert!(first.flag().is_cancelled());
        let later = queries.register(CancelFlag::new());
        assert!(later.flag().is_cancelled(), "registered after shutdown");
        later.mark_cancelled();
        drop((first, later));
        assert_eq!((queries.running(), queries.cancelled()), (0, 1));
    }
}
