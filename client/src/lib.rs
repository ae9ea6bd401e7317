//! Client (work in progress).
