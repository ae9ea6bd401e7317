//! Integration tests of the emulator over real sockets: one test binary, a module per service.

mod architecture;
mod arm;
mod cli;
mod concurrency;
mod entra;
mod faults;
mod graph;
mod identity;
mod input;
mod monitor;
mod persistence;
mod portal;
mod query_limits;
mod recipes;
mod replay;
mod security;
mod seed;
mod support;
