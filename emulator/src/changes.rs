//! Change tracking: which objects a store's writes changed, numbered, so that persistence
//! can write them and a request can wait until its own changes are on disk.
//!
//! Every tracked store numbers its changes from one counter shared by all stores: a
//! [`Mark`] is such a number. A store remembers the mark of its last change
//! ([`Changes::last`]); the services layer, which takes every write lock, compares it before
//! and after a write and notes the difference in the request's [`Pending`]. The durable-write
//! layer then waits until everything up to that mark is committed. No task-local state is
//! involved, so a write made on a blocking thread is noted like any other.

use std::collections::HashSet;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The number of a change (0: no change). [`Mark::ALL`] stands for "whatever is pending,
/// and any snapshot asked for": a change without a number of its own (the clock moved).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Mark(pub(crate) u64);

impl Mark {
    /// No change.
    pub(crate) const NONE: Mark = Mark(0);
    /// Everything pending at commit time.
    pub(crate) const ALL: Mark = Mark(u64::MAX);
}

/// The counter every store of one emulator numbers its changes with.
pub(crate) type Counter = Arc<AtomicU64>;

/// What a store changed since persistence last looked, numbered from the shared counter:
/// the keys of the changed objects ([`Tracker`]) or the writes themselves ([`Log`]).
#[derive(Debug, Clone)]
pub(crate) struct Changes<C> {
    items: C,
    counter: Counter,
    last: Mark,
}

/// The keys of a store's changed objects.
pub(crate) type Tracker<K> = Changes<HashSet<K>>;

/// The writes themselves, for a store whose writes are appends (journaled as they are).
pub(crate) type Log<T> = Changes<Vec<T>>;

impl<C: Default + IntoIterator> Changes<C> {
    /// Nothing recorded yet; changes are numbered with `counter`.
    pub(crate) fn new(counter: Counter) -> Self {
        Self {
            items: C::default(),
            counter,
            last: Mark::NONE,
        }
    }

    /// What was recorded since the last call (a log's writes in order), emptying the record.
    pub(crate) fn take(&mut self) -> Vec<C::Item> {
        std::mem::take(&mut self.items).into_iter().collect()
    }

    /// The mark of the last change recorded.
    pub(crate) fn last(&self) -> Mark {
        self.last
    }

    /// Numbers one change.
    fn number(&mut self) {
        self.last = Mark(self.counter.fetch_add(1, Ordering::SeqCst) + 1);
    }
}

impl<K: Eq + Hash> Changes<HashSet<K>> {
    /// Records that `key` changed. Called under the store's write lock, and the key is in
    /// the set before the change is numbered, which is what persistence's commit relies on
    /// (it reads the counter, then drains the sets).
    pub(crate) fn mark(&mut self, key: K) {
        self.items.insert(key);
        self.number();
    }
}

impl<T> Changes<Vec<T>> {
    /// Records a write (under the store's write lock).
    pub(crate) fn push(&mut self, op: T) {
        self.items.push(op);
        self.number();
    }
}

/// A store whose changes are numbered: it can tell the mark of its last one.
pub(crate) trait Tracked {
    /// The mark of the last change recorded ([`Mark::NONE`] when not tracked).
    fn last_mark(&self) -> Mark;
}

/// The highest mark one request's writes made: what its response waits for.
#[derive(Debug, Default)]
pub(crate) struct Pending(AtomicU64);

impl Pending {
    /// Notes a change the request made.
    pub(crate) fn note(&self, mark: Mark) {
        self.0.fetch_max(mark.0, Ordering::SeqCst);
    }

    /// The highest mark noted ([`Mark::NONE`]: the request changed nothing).
    pub(crate) fn get(&self) -> Mark {
        Mark(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_number_changes_across_trackers_and_pending_keeps_the_highest() {
        let counter = Counter::default();
        let mut a: Tracker<u32> = Tracker::new(counter.clone());
        let mut b: Log<&str> = Log::new(counter);
        assert_eq!(a.last(), Mark::NONE);
        a.mark(7);
        b.push("row");
        a.mark(7);
        assert_eq!((a.last(), b.last()), (Mark(3), Mark(2)));
        assert_eq!(a.take(), vec![7]);
        assert_eq!(b.take(), vec!["row"]);
        let pending = Pending::default();
        assert_eq!(pending.get(), Mark::NONE);
        pending.note(Mark(3));
        pending.note(Mark(2));
        assert_eq!(pending.get(), Mark(3));
        pending.note(Mark::ALL);
        assert_eq!(pending.get(), Mark::ALL);
    }
}
