//! A weak admin token (blank, short, or with characters a header cannot carry) stops the
//! start, whichever way it is given.

use std::time::Duration;

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
    for (args, env) in [
        (vec!["--admin-token", "short-token"], None),
        (vec!["--admin-token", ""], None),
        (vec![], Some("fifteen-chars-x")),
        (vec![], Some("   ")),
    ] {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_entra-emulator"));
        command
            .args(["--bind", "127.0.0.1:0", "--plain-http"])
            .args(&args)
            .env_remove("ENTRA_EMULATOR_ADMIN_TOKEN")
            .kill_on_drop(true);
        if let Some(token) = env {
            command.env("ENTRA_EMULATOR_ADMIN_TOKEN", token);
        }
        let out = tokio::time::timeout(Duration::from_secs(30), command.output())
            .await
            .expect("exits at once instead of serving")
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} {env:?}");
        assert!(
            stderr.contains("weak admin token") && stderr.contains("at least 16"),
            "{stderr}"
        );
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("listening on"),
            "nothing was served"
        );
    }
}
