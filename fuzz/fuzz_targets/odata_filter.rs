//! Graph's `$filter` parser and evaluator on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    entra_emulator::fuzzing::odata_filter(input);
});
