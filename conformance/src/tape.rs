//! What a scenario did, in order: every HTTP exchange (tagged with who made it), every wait,
//! and the outputs a tool would print.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use entra_client::{Exchange, Recorder};
use serde_json::Value;

/// Who made an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The target's administrator, which sets the scenario up. Its token depends on the
    /// tenant (which Graph permissions it was granted), so its claims are not part of the
    /// contract.
    Admin,
    /// The application the scenario created, or raw requests to the token endpoint.
    App,
}

/// One step of a scenario.
#[derive(Debug, Clone)]
pub enum Event {
    /// An HTTP exchange.
    Exchange(Actor, Exchange),
    /// Time passed: the emulator's clock was moved, or Azure was waited on.
    Wait(Duration),
    /// What the emulated tool would print (e.g. `az ad sp create-for-rbac`'s JSON).
    Output(Value),
}

/// The recording of one scenario; clones share it.
#[derive(Debug, Clone, Default)]
pub struct Tape(Arc<Mutex<Vec<Event>>>);

impl Tape {
    fn events_mut(&self) -> MutexGuard<'_, Vec<Event>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A recorder that appends the exchanges of `actor`.
    pub fn recorder(&self, actor: Actor) -> Arc<dyn Recorder> {
        Arc::new(TapeRecorder {
            tape: self.clone(),
            actor,
        })
    }

    /// Appends an event.
    pub fn push(&self, event: Event) {
        self.events_mut().push(event);
    }

    /// The current position, for [`Tape::rewind`].
    pub fn mark(&self) -> usize {
        self.events_mut().len()
    }

    /// Forgets everything after `mark` (a failed attempt that will be retried).
    pub fn rewind(&self, mark: usize) {
        self.events_mut().truncate(mark);
    }

    /// Everything recorded so far.
    pub fn events(&self) -> Vec<Event> {
        self.events_mut().clone()
    }
}

#[derive(Debug)]
struct TapeRecorder {
    tape: Tape,
    actor: Actor,
}

impl Recorder for TapeRecorder {
    fn record(&self, exchange: Exchange) {
        self.tape.push(Event::Exchange(self.actor, exchange));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(status: u16) -> Exchange {
        Exchange {
            method: "GET".into(),
            url: "http://x/".into(),
            request_headers: vec![],
            request_body: None,
            status,
            response_headers: vec![],
            response_body: bytes::Bytes::new(),
        }
    }

    #[test]
    fn recorders_tag_their_actor_and_rewind_forgets_attempts() {
        let tape = Tape::default();
        tape.recorder(Actor::Admin).record(exchange(200));
        let mark = tape.mark();
        tape.recorder(Actor::App).record(exchange(400));
        tape.push(Event::Wait(Duration::from_secs(5)));
        assert_eq!(tape.events().len(), 3);
        tape.rewind(mark);
        let events = tape.events();
        assert!(matches!(events.as_slice(), [Event::Exchange(Actor::Admin, e)] if e.status == 200));
    }
}
