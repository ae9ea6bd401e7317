//! The KQL engine (syntax check and a run over a small table) on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    entra_emulator::fuzzing::kql(input);
});
