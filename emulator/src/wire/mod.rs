//! Typed wire shapes: the JSON objects the emulated APIs return, as serde structs whose
//! field order is the service's own (serde writes fields in declaration order, and
//! `serde_json` keeps that order), so that answers are byte-identical to what snapshots pin.
//!
//! Only the emulator writes these; the client crate reads the same objects with its own,
//! lenient types (it must also read what real Azure adds over time), and a round-trip test
//! in the client's tests keeps the two compatible.

pub(crate) mod arm;
pub(crate) mod graph;
