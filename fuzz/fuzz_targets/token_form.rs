//! The token endpoint's form parser on arbitrary bytes. The first byte picks the content
//! type (a form, or the raw bytes up to the first NUL) and whether a Basic header is sent.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (content_type, body): (&[u8], &[u8]) = if mode & 1 == 0 {
        (b"application/x-www-form-urlencoded", rest)
    } else {
        let cut = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
        (&rest[..cut], rest.get(cut + 1..).unwrap_or_default())
    };
    let authorization = (mode & 2 != 0).then_some(body);
    entra_emulator::fuzzing::token_form(content_type, authorization, body);
});
