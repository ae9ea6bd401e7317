//! Directories and files the emulator writes and later trusts: the data directory (state,
//! signing key), the generated CA's directory, the connection file.
//!
//! Another user of the machine must not be able to plant or swap any of them: a planted
//! `signing-key.pem` would let them sign tokens the emulator accepts, a swapped CA would be
//! the one the banner tells people to trust, and a symbolic link where the emulator writes
//! would make it overwrite another file. So:
//!
//! - directories it creates are private (mode 0700), and one it reuses must belong to this
//!   user and be writable by no one else ([`private_dir`], [`private_temp_dir`]);
//! - files it reads back must belong to this user, be writable by no one else and not be
//!   symbolic links ([`open_checked`]);
//! - files it writes are created afresh (mode 0600), never through an existing link or file
//!   ([`create_private`]), then renamed into place.
//!
//! Elsewhere than Unix only the creation rules apply.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Creates `dir` (and missing parents) readable by this user only, or checks that an
/// existing one belongs to this user and that no one else can write to it.
pub(crate) fn private_dir(dir: &Path) -> io::Result<()> {
    create_dirs(dir)?;
    check(&std::fs::metadata(dir)?)
}

/// Creates `dir` and its missing parents, each new one readable by this user only; existing
/// ones are left as they are.
pub(crate) fn create_dirs(dir: &Path) -> io::Result<()> {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// A private directory named `name` under the system temp directory. When that path is
/// already taken by something that is not a private directory of this user (another user may
/// have created it first, or put a link there), a new one with a random suffix is made
/// instead: the name is predictable, so it is not trusted.
pub(crate) fn private_temp_dir(name: &str) -> io::Result<PathBuf> {
    let create = |path: &Path| {
        let mut builder = DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(path)
    };
    let path = std::env::temp_dir().join(name);
    match create(&path) {
        Ok(()) => return Ok(path),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let meta = std::fs::symlink_metadata(&path)?;
            match check(&meta) {
                Ok(()) if meta.is_dir() => return Ok(path),
                Ok(()) => tracing::warn!(
                    path = %path.display(),
                    "not a directory; using a new private directory instead"
                ),
                Err(e) => tracing::warn!(
                    path = %path.display(),
                    problem = %e,
                    "not private to this user; using a new private directory instead"
                ),
            }
        }
        Err(e) => return Err(e),
    }
    let fresh = std::env::temp_dir().join(format!("{name}-{}", uuid::Uuid::new_v4().simple()));
    create(&fresh)?;
    Ok(fresh)
}

/// Opens `path` with `options` unless it is a symbolic link, and checks that the file belongs
/// to this user and that no one else can write to it.
pub(crate) fn open_checked(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(options, no_follow());
    let file = options.open(path).map_err(|e| {
        if is_link_refusal(&e) {
            refusal("it is a symbolic link, which is not followed".to_owned())
        } else {
            e
        }
    })?;
    check(&file.metadata()?)?;
    Ok(file)
}

/// Creates `path` for writing, readable by this user only. Whatever is there already (a
/// leftover of a crash, or a link someone put there) is removed first, and the file is
/// created exclusively, so the write can never go through a link into another file.
pub(crate) fn create_private(path: &Path) -> io::Result<File> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn refusal(problem: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("refusing to use it: {problem}"),
    )
}

/// Refuses what belongs to another user or what others can write to.
#[cfg(unix)]
fn check(meta: &std::fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(refusal(format!(
            "it belongs to another user (uid {}), not to this one (uid {me})",
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(refusal(format!(
            "other users can write to it (mode {mode:o}); run `chmod go-w` on it"
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check(_: &std::fs::Metadata) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn no_follow() -> i32 {
    i32::try_from(rustix::fs::OFlags::NOFOLLOW.bits()).unwrap_or(0)
}

/// `open` with `O_NOFOLLOW` fails with `ELOOP` on a link (`EMLINK` on FreeBSD).
fn is_link_refusal(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        let raw = e.raw_os_error();
        raw == Some(rustix::io::Errno::LOOP.raw_os_error())
            || raw == Some(rustix::io::Errno::MLINK.raw_os_error())
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}
