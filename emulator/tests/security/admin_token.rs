//! A weak admin token (blank, short, or with characters a header cannot carry) stops the
//! start, whichever way it is given.

use entra_emulator::Emulator;
use entra_emulator::config::{ConfigError, MIN_ADMIN_TOKEN_LEN};

#[tokio::test]
async fn the_library_refuses_a_weak_admin_token() {
    let sixteen = "0123456789abcdef";
    assert_eq!(sixteen.len(), MIN_ADMIN_TOKEN_LEN);
    for weak in [
        "",
        "                ",
        &sixteen[1..],
        "0123456789 abcdef",
        "0123456789abcdeé",
    ] {
        let refused = Emulator::builder().admin_token(weak).start().await;
        assert!(
            matches!(
                refused,
                Err(entra_emulator::StartError::Config(
                    ConfigError::WeakAdminToken
                ))
            ),
            "{weak:?}: {refused:?}"
        );
    }
    let started = Emulator::builder().admin_token(sixteen).start().await;
    assert!(started.is_ok(), "{started:?}");
}

#[tokio::test]
async fn the_binary_refuses_a_weak_admin_token_from_its_flag_or_variable() {
    let bind = ["--bind", "127.0.0.1:0"];
    for (flag, env) in [
        (Some("short-token"), None),
        (Some(""), None),
        (None, Some("fifteen-chars-x")),
        (None, Some("   ")),
    ] {
        let mut args = bind.to_vec();
        args.extend(flag.map(|token| ["--admin-token", token]).iter().flatten());
        let env: Vec<_> = env
            .map(|token| ("ENTRA_EMULATOR_ADMIN_TOKEN", token))
            .into_iter()
            .collect();
        let stderr = super::refused_start(&args, &env).await;
        assert!(
            stderr.contains("weak admin token") && stderr.contains("at least 16"),
            "{stderr}"
        );
    }
}
