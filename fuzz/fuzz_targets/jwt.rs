//! The JWT validator on arbitrary text: nothing but a token signed with the ring's key may
//! pass. Inputs starting with `~` are instead a change list applied to a freshly minted
//! token (byte index, new byte), which must then be refused unless it changed nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

fuzz_target!(|data: &[u8]| {
    let now = OffsetDateTime::now_utc();
    match data.split_first() {
        Some((b'~', edits)) => {
            let token = entra_emulator::fuzzing::mint_token(now);
            let mut bytes = token.clone().into_bytes();
            for pair in edits.chunks_exact(3) {
                let at = usize::from(u16::from_le_bytes([pair[0], pair[1]])) % bytes.len();
                bytes[at] = pair[2];
            }
            let Ok(tampered) = String::from_utf8(bytes) else {
                return;
            };
            if tampered != token {
                assert!(
                    !entra_emulator::fuzzing::jwt(&tampered, now),
                    "a changed token passed: {tampered}"
                );
            }
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(data) {
                assert!(!entra_emulator::fuzzing::jwt(text, now), "forged: {text}");
            }
        }
    }
});
