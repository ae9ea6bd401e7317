//! Test certificates on RSA keys generated once per test process (generation is the slow
//! part); the certificate type and its signing are the emulator's `test_support`.

use std::sync::{Arc, OnceLock};

use aws_lc_rs::rsa::KeyPair;
pub(crate) use entra_emulator::test_support::TestCertificate as TestCert;

fn keys() -> &'static [Arc<KeyPair>] {
    static KEYS: OnceLock<Vec<Arc<KeyPair>>> = OnceLock::new();
    KEYS.get_or_init(|| (0..3).map(|_| TestCert::new_key()).collect())
}

/// A certificate `CN={cn}` on key number `key` (0–2), valid between the two dates.
pub(crate) fn cert(
    key: usize,
    cn: &str,
    not_before: (i32, u8, u8),
    not_after: (i32, u8, u8),
) -> TestCert {
    TestCert::for_key(
        keys()[key].clone(),
        cn,
        rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2),
        rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2),
    )
}

/// A certificate valid from 2020 to 2090 on key number `key`.
pub(crate) fn long_lived(key: usize, cn: &str) -> TestCert {
    cert(key, cn, (2020, 1, 1), (2090, 1, 1))
}
