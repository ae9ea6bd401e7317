//! The data directory, the generated CA's directory and the files in them: what another
//! user of the machine could plant or swap there is refused or avoided.
//!
//! Some cases need a directory or file owned by another user, which only root can make: they
//! run when the tests run as root (as CI does) and say so when skipped.

#![cfg(unix)]

use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use entra_emulator::keys::SigningKey;
use entra_emulator::{Config, Emulator, Server, TlsMode};
use uuid::Uuid;

/// Puts something where the emulator will look.
type Plant<'a> = Box<dyn Fn() + 'a>;
/// Sets up a directory path before the emulator uses it.
type Prepare<'a> = Box<dyn FnOnce(&Path) + 'a>;

/// The uid and gid of `nobody`.
const NOBODY: u32 = 65534;

fn fresh_path() -> PathBuf {
    std::env::temp_dir().join(format!("entra-files-test-{}", Uuid::new_v4()))
}

/// A new directory of this user's, mode 0700.
fn private_dir() -> PathBuf {
    let dir = fresh_path();
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .expect("mkdir");
    dir
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).expect("stat").mode() & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Why the emulator would not start on `dir`.
async fn refusal(dir: &Path) -> String {
    match Emulator::builder().data_dir(dir).start().await {
        Ok(_) => panic!("started on {}", dir.display()),
        Err(e) => e.to_string(),
    }
}

/// A valid signing key's PEM, as an attacker would plant it.
fn key_pem() -> String {
    SigningKey::generate()
        .expect("key")
        .to_pkcs8_pem()
        .expect("pem")
}

#[tokio::test]
async fn a_new_data_directory_and_its_files_are_private_to_the_user() {
    let dir = fresh_path().join("nested");
    let emu = Emulator::builder()
        .data_dir(&dir)
        .https()
        .start()
        .await
        .expect("start");
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(dir.parent().expect("parent")), 0o700);
    for file in ["signing-key.pem", "snapshot.bin", "journal.bin"] {
        assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
    }
    drop(emu);
    let _ = std::fs::remove_dir_all(dir.parent().expect("parent"));
}

#[tokio::test]
async fn a_data_directory_others_can_write_to_or_own_is_refused() {
    for unsafe_mode in [0o777, 0o770, 0o1777] {
        let dir = private_dir();
        chmod(&dir, unsafe_mode);
        let refused = refusal(&dir).await;
        assert!(
            refused.contains(&dir.display().to_string())
                && refused.contains("other users can write to it"),
            "{unsafe_mode:o}: {refused}"
        );
        assert!(
            std::fs::read_dir(&dir).expect("list").next().is_none(),
            "nothing was written into it"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
    if !is_root() {
        println!("skipped: a directory of another user needs root to make");
        return;
    }
    let dir = private_dir();
    std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).expect("chown");
    let refused = refusal(&dir).await;
    assert!(
        refused.contains(&dir.display().to_string())
            && refused.contains("belongs to another user (uid 65534)"),
        "{refused}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_planted_signing_key_is_refused_unless_it_is_the_users_own() {
    let pem = key_pem();
    let elsewhere = private_dir();
    std::fs::write(elsewhere.join("key.pem"), &pem).expect("write");
    let dir = private_dir();
    let key = dir.join("signing-key.pem");
    let mut cases: Vec<(&str, Plant<'_>, &str)> = vec![
        (
            "writable by others",
            Box::new(|| chmod(&key, 0o666)),
            "other users can write to it (mode 666)",
        ),
        (
            "a link to a key elsewhere",
            Box::new(|| {
                std::fs::remove_file(&key).expect("rm");
                std::os::unix::fs::symlink(elsewhere.join("key.pem"), &key).expect("ln");
            }),
            "symbolic link",
        ),
    ];
    if is_root() {
        cases.push((
            "owned by another user",
            Box::new(|| std::os::unix::fs::chown(&key, Some(NOBODY), Some(NOBODY)).expect("chown")),
            "belongs to another user",
        ));
    } else {
        println!("skipped: a key file of another user needs root to make");
    }
    for (what, plant, problem) in cases {
        let _ = std::fs::remove_file(&key);
        std::fs::write(&key, &pem).expect("write");
        chmod(&key, 0o600);
        plant();
        let refused = refusal(&dir).await;
        assert!(
            refused.contains(&key.display().to_string()) && refused.contains(problem),
            "{what}: {refused}"
        );
    }
    // The user's own key, mode 0600, is the one tokens are signed with.
    let _ = std::fs::remove_file(&key);
    std::fs::write(&key, &pem).expect("write");
    chmod(&key, 0o600);
    let emu = Emulator::builder()
        .data_dir(&dir)
        .start()
        .await
        .expect("start");
    let kid = SigningKey::from_pkcs8_pem(&pem)
        .expect("key")
        .kid()
        .to_owned();
    assert_eq!(emu.state().keys.current().kid(), kid);
    drop(emu);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&elsewhere);
}

#[tokio::test]
async fn links_planted_where_state_is_written_are_not_followed() {
    let dir = private_dir();
    let victims = private_dir();
    let names = [
        "snapshot.bin.tmp",
        "journal.bin.tmp",
        "signing-key.pem.tmp",
        "ca.pem",
    ];
    for name in names {
        let victim = victims.join(name);
        std::fs::write(&victim, "precious").expect("write");
        std::os::unix::fs::symlink(&victim, dir.join(name)).expect("ln");
    }
    let config = Config {
        data_dir: Some(dir.clone()),
        ca_cert_path: Some(dir.join("ca.pem")),
        tls: TlsMode::SelfSigned { extra_sans: vec![] },
        ..Config::default()
    };
    // The first snapshot, the journal, the key and the CA are all written at start.
    let emu = Emulator::builder()
        .config(config)
        .start()
        .await
        .expect("start");
    for name in names {
        let victim = victims.join(name);
        assert_eq!(std::fs::read(&victim).expect("read"), b"precious", "{name}");
    }
    for name in ["snapshot.bin", "journal.bin", "signing-key.pem", "ca.pem"] {
        let meta = std::fs::symlink_metadata(dir.join(name)).expect("stat");
        assert!(meta.is_file(), "{name} is a regular file");
    }
    drop(emu);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&victims);
}

#[tokio::test]
async fn deleting_the_lock_file_does_not_let_a_second_emulator_in() {
    let dir = private_dir();
    let first = Emulator::builder()
        .data_dir(&dir)
        .start()
        .await
        .expect("start");
    let _ = std::fs::remove_file(dir.join("lock"));
    let second = Emulator::builder().data_dir(&dir).start().await;
    assert!(
        matches!(
            second,
            Err(entra_emulator::StartError::Persist(
                entra_emulator::persist::PersistError::Locked { .. }
            ))
        ),
        "{second:?}"
    );
    // Once the first has stopped (it flushes in the background), the directory is free.
    drop(first);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        match Emulator::builder().data_dir(&dir).start().await {
            Ok(_) => break,
            Err(e) => assert!(std::time::Instant::now() < deadline, "{e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts a server with a generated certificate and no CA path, on a port whose default CA
/// directory `prepare` has set up first; returns where the CA went.
async fn ca_path_after(prepare: impl FnOnce(&Path)) -> (PathBuf, PathBuf) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let default = std::env::temp_dir().join(format!("entra-emulator-{port}"));
    let _ = std::fs::remove_dir_all(&default);
    let _ = std::fs::remove_file(&default);
    prepare(&default);
    let config = Config {
        tls: TlsMode::SelfSigned { extra_sans: vec![] },
        ..Config::default()
    };
    let server = Server::new(listener, config, None).expect("server");
    let ca = server.connection_info().ca_cert_path.expect("ca path");
    (default, ca)
}

#[tokio::test]
async fn a_temp_directory_someone_else_made_first_is_not_used_for_the_ca() {
    let victims = private_dir();
    let victim = victims.join("ca.pem");
    std::fs::write(&victim, "precious").expect("write");
    let mut cases: Vec<(&str, Prepare<'_>)> = vec![
        (
            "world-writable, with a link where the CA goes",
            Box::new(|dir: &Path| {
                std::fs::create_dir(dir).expect("mkdir");
                chmod(dir, 0o777);
                std::os::unix::fs::symlink(&victim, dir.join("ca.pem")).expect("ln");
            }),
        ),
        (
            "a link to another directory",
            Box::new(|dir: &Path| std::os::unix::fs::symlink(&victims, dir).expect("ln")),
        ),
    ];
    if is_root() {
        cases.push((
            "owned by another user",
            Box::new(|dir: &Path| {
                std::fs::create_dir(dir).expect("mkdir");
                std::os::unix::fs::chown(dir, Some(NOBODY), Some(NOBODY)).expect("chown");
            }),
        ));
    } else {
        println!("skipped: a directory of another user needs root to make");
    }
    for (what, prepare) in cases {
        let (planted, ca) = ca_path_after(prepare).await;
        let used = ca.parent().expect("dir");
        assert_ne!(used, planted, "{what}");
        assert_eq!(mode(used), 0o700, "{what}");
        let pem = std::fs::read_to_string(&ca).expect("ca");
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{what}");
        assert_eq!(std::fs::read(&victim).expect("read"), b"precious", "{what}");
        let _ = std::fs::remove_dir_all(used);
        let _ = std::fs::remove_dir_all(&planted);
        let _ = std::fs::remove_file(&planted);
    }
    // A private directory of this user's is reused (by the next start on that port).
    let (default, ca) = ca_path_after(|dir: &Path| {
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(dir)
            .expect("mkdir")
    })
    .await;
    assert_eq!(ca.parent(), Some(default.as_path()));
    let _ = std::fs::remove_dir_all(&default);
    let _ = std::fs::remove_dir_all(&victims);
}

#[tokio::test]
async fn the_binarys_connection_file_and_ca_are_readable_by_the_user_only() {
    let bin = crate::support::RunningBinary::start(&[]).await;
    assert_eq!(mode(&bin.conn_path()), 0o600);
    assert_eq!(mode(Path::new(bin.ca_path())), 0o600);
    assert_eq!(mode(bin.conn_path().parent().expect("dir")), 0o700);
    drop(bin.stop_and_collect_stderr().await);
}
