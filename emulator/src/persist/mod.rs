//! Persistence under `--data-dir`: a snapshot plus a write-ahead journal of changes.
//!
//! # Design
//!
//! The stores stay in memory, exactly as without a data directory, so no read path (ARM
//! GETs, token issuance, queries) takes a lock or touches a disk it did not before. Each
//! store records *which* objects a write changed (directory object ids, ARM keys,
//! assignment slots) and the Monitor store the writes themselves (rows are appended, never
//! rewritten). After a request's handler returns and before its response leaves, the
//! [`durable`] middleware commits: under one writer mutex it drains every store's changes,
//! turns each into a record of the object's *current* state (or its removal), appends them
//! to `journal.bin` as one checksummed frame and calls `fdatasync`. Writers that arrive
//! during an `fdatasync` queue on the mutex and the next holder drains all of their changes
//! at once: group commit, one `fdatasync` for any number of concurrent writes. A request
//! that changed nothing (every GET, every token request) commits nothing and waits for
//! nothing.
//!
//! Once the journal outgrows 64 MiB (and the last snapshot), after a reset or a bulk seed,
//! and at a clean shutdown, the whole state is written to a new `snapshot.bin` and the
//! journal starts again, both under a new generation number (written to temporary files,
//! `fsync`ed, renamed, directory `fsync`ed; a journal older than its snapshot is stale and
//! discarded). A seed of a million objects is therefore one snapshot, not a million
//! `fsync`s.
//!
//! Why not SQLite in WAL mode: it would add a C dependency to build, every store would
//! need a relational mapping and a load path, and 100k-object start-up would still decode
//! every row; the journal needs only `crc32fast` (already in the dependency tree through
//! `flate2`) and serde_json, and replaying it is the same code that loads a snapshot.
//!
//! Records are JSON inside binary frames ([`format`] describes the files and what counts
//! as a torn tail versus corruption). Client secrets are stored as their salted hashes
//! only, as in memory. The token signing key is kept beside the state in
//! `signing-key.pem` (mode 0600), with the instance tag in the snapshot, so tokens issued
//! before a restart stay valid; keys rotated in later are not kept.
//!
//! The directory is created private (mode 0700) and every file in it is written afresh
//! (mode 0600) and renamed into place; a directory or a file read back that another user
//! owns or can write to, or a file that is a symbolic link, stops the start (see
//! `crate::files`). One emulator at a time: it holds an advisory lock on the directory.

mod format;
mod records;

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

pub use self::format::PersistError;
use self::format::{HEADER_LEN, Kind, Next as Frame, Reader};
use self::records::{Loaded, Record};
use crate::changes::{Counter, Mark};
use crate::clock::Clock;
use crate::directory::Directory;
use crate::keys::{KeyRing, SigningKey};
use crate::resources::ArmStore;
use crate::telemetry::MonitorStore;

const SNAPSHOT: &str = "snapshot.bin";
const JOURNAL: &str = "journal.bin";
const SIGNING_KEY: &str = "signing-key.pem";
/// Elsewhere than Unix, the file whose lock marks the directory as in use.
#[cfg(not(unix))]
const LOCK: &str = "lock";
/// Journal size past which a commit writes a snapshot instead (if the snapshot is smaller).
const COMPACT_AT: u64 = 64 << 20;
/// Records per snapshot frame.
const SNAPSHOT_CHUNK: usize = 4096;

/// A data directory opened and read, before the state is built.
#[derive(Debug)]
pub(crate) struct Opened {
    dir: PathBuf,
    lock: File,
    loaded: Option<Loaded>,
    journal: Option<File>,
    journal_len: u64,
    generation: u64,
    snapshot_len: u64,
    signing_key: Arc<SigningKey>,
}

impl Opened {
    /// The key tokens are signed with, kept in the data directory.
    pub(crate) fn signing_key(&self) -> Arc<SigningKey> {
        self.signing_key.clone()
    }

    /// Whether the directory held a tenant already (a new one holds none).
    pub(crate) fn holds_state(&self) -> bool {
        self.loaded.is_some()
    }

    /// The persisted instance tag, if any.
    pub(crate) fn instance_tag(&self) -> Option<&str> {
        self.loaded.as_ref()?.instance_tag.as_deref()
    }
}

/// Opens (creating when needed) the data directory `dir`: takes its lock, loads the
/// signing key and the state. Refuses a damaged file rather than starting without it.
pub(crate) fn open(dir: &Path) -> Result<Opened, PersistError> {
    crate::files::private_dir(dir).map_err(PersistError::io(dir))?;
    let lock = lock(dir)?;
    let signing_key = signing_key(dir)?;
    let (snapshot, journal) = (dir.join(SNAPSHOT), dir.join(JOURNAL));
    let mut opened = Opened {
        dir: dir.to_owned(),
        lock,
        loaded: None,
        journal: None,
        journal_len: 0,
        generation: 0,
        snapshot_len: 0,
        signing_key,
    };
    if !snapshot.exists() {
        if journal.exists() {
            return Err(PersistError::Corrupt {
                path: journal,
                offset: 0,
                reason: format!("a journal without its {SNAPSHOT}"),
            });
        }
        return Ok(opened);
    }
    let started = std::time::Instant::now();
    let mut loaded = Loaded::default();
    let (generation, snapshot_len, count) = read_snapshot(&snapshot, &mut loaded)?;
    opened.generation = generation;
    opened.snapshot_len = snapshot_len;
    let (file, len, replayed) = read_journal(&journal, generation, &mut loaded)?;
    opened.journal = Some(file);
    opened.journal_len = len;
    tracing::info!(
        dir = %dir.display(),
        snapshot_records = count,
        journal_records = replayed,
        elapsed_ms = started.elapsed().as_millis(),
        "state loaded"
    );
    opened.loaded = Some(loaded);
    Ok(opened)
}

/// Takes the data directory's advisory lock, held as long as the returned file is open. On
/// Unix the lock is on the directory itself: a lock on a file inside it would let a second
/// emulator in once someone deleted that file.
fn lock(dir: &Path) -> Result<File, PersistError> {
    #[cfg(unix)]
    let (path, opened) = (dir.to_owned(), File::open(dir));
    #[cfg(not(unix))]
    let (path, opened) = {
        let path = dir.join(LOCK);
        let opened = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path);
        (path, opened)
    };
    let lock = opened.map_err(PersistError::io(&path))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => Err(PersistError::Locked { path }),
        Err(std::fs::TryLockError::Error(e)) => Err(PersistError::io(&path)(e)),
    }
}

fn signing_key(dir: &Path) -> Result<Arc<SigningKey>, PersistError> {
    let path = dir.join(SIGNING_KEY);
    let bad = |e: crate::keys::KeyError| PersistError::Corrupt {
        path: path.clone(),
        offset: 0,
        reason: e.to_string(),
    };
    // A key someone else could have written would sign tokens of their making.
    let read = crate::files::open_checked(&path, OpenOptions::new().read(true)).and_then(|f| {
        let mut pem = String::new();
        io::Read::read_to_string(&mut &f, &mut pem).map(|_| pem)
    });
    match read {
        Ok(pem) => SigningKey::from_pkcs8_pem(&pem).map(Arc::new).map_err(bad),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let key = KeyRing::new(None).map_err(bad)?.current();
            let pem = key.to_pkcs8_pem().map_err(bad)?;
            let tmp = dir.join(format!("{SIGNING_KEY}.tmp"));
            let mut file = crate::files::create_private(&tmp).map_err(PersistError::io(&tmp))?;
            file.write_all(pem.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(PersistError::io(&tmp))?;
            std::fs::rename(&tmp, &path).map_err(PersistError::io(&path))?;
            sync_dir(dir)?;
            Ok(key)
        }
        Err(e) => Err(PersistError::io(&path)(e)),
    }
}

fn decode(reader: &Reader, at: u64, payload: &[u8]) -> Result<Vec<Record>, PersistError> {
    serde_json::from_slice(payload)
        .map_err(|e| reader.corrupt(at, format!("a record does not decode: {e}")))
}

/// Loads `snapshot.bin`; returns its generation, length and record count.
fn read_snapshot(path: &Path, loaded: &mut Loaded) -> Result<(u64, u64, u64), PersistError> {
    let mut reader = Reader::open(path, Kind::Snapshot)?;
    let mut count = 0u64;
    let mut ended = false;
    loop {
        match reader.next_frame()? {
            Frame::Frame(at, payload) => {
                if ended {
                    return Err(reader.corrupt(at, "data after the end marker"));
                }
                for record in decode(&reader, at, &payload)? {
                    if let Record::End { records } = record {
                        if records != count {
                            return Err(reader.corrupt(
                                at,
                                format!("the end marker counts {records} records, not {count}"),
                            ));
                        }
                        ended = true;
                        continue;
                    }
                    if ended {
                        return Err(reader.corrupt(at, "data after the end marker"));
                    }
                    loaded
                        .apply(record)
                        .map_err(|e| reader.corrupt(at, format!("a record does not apply: {e}")))?;
                    count += 1;
                }
            }
            Frame::End if ended => return Ok((reader.generation, reader.offset, count)),
            Frame::End | Frame::Torn(_) => {
                // Snapshots are renamed into place only once complete: a short one is damage.
                return Err(reader.corrupt(reader.offset, "the snapshot is cut short"));
            }
        }
    }
}

/// Replays `journal.bin` of `generation` (creating it when missing, replacing it when
/// stale) and returns it opened for appending, with its length and record count.
fn read_journal(
    path: &Path,
    generation: u64,
    loaded: &mut Loaded,
) -> Result<(File, u64, u64), PersistError> {
    if !path.exists() {
        tracing::info!(path = %path.display(), "no journal; starting one");
        let (file, len) = new_journal(path, generation)?;
        return Ok((file, len, 0));
    }
    let mut reader = Reader::open(path, Kind::Journal)?;
    if reader.generation < generation {
        // The snapshot already holds what it says: it was written from a state that did.
        tracing::info!(path = %path.display(), "journal older than the snapshot; starting a new one");
        drop(reader);
        let (file, len) = new_journal(path, generation)?;
        return Ok((file, len, 0));
    }
    if reader.generation > generation {
        return Err(reader.corrupt(
            12,
            format!(
                "journal generation {} is newer than the snapshot's {generation}",
                reader.generation
            ),
        ));
    }
    let mut count = 0u64;
    let end = loop {
        match reader.next_frame()? {
            Frame::Frame(at, payload) => {
                for record in decode(&reader, at, &payload)? {
                    if matches!(record, Record::Meta { .. } | Record::End { .. }) {
                        return Err(reader.corrupt(at, "a snapshot record in the journal"));
                    }
                    loaded
                        .apply(record)
                        .map_err(|e| reader.corrupt(at, format!("a record does not apply: {e}")))?;
                    count += 1;
                }
            }
            Frame::End => break reader.offset,
            Frame::Torn(at) => {
                tracing::warn!(
                    path = %reader.path().display(),
                    offset = at,
                    "the journal ends in a torn write (a crash during an append that was never \
                     acknowledged); truncating it there"
                );
                break at;
            }
        }
    };
    drop(reader);
    let file = crate::files::open_checked(path, OpenOptions::new().write(true))
        .map_err(PersistError::io(path))?;
    file.set_len(end)
        .and_then(|()| file.sync_all())
        .map_err(PersistError::io(path))?;
    let mut file = file;
    io::Seek::seek(&mut file, io::SeekFrom::End(0)).map_err(PersistError::io(path))?;
    Ok((file, end, count))
}

/// Writes an empty journal of `generation` at `path` (via a temporary file).
fn new_journal(path: &Path, generation: u64) -> Result<(File, u64), PersistError> {
    let tmp = path.with_extension("bin.tmp");
    let mut file = crate::files::create_private(&tmp).map_err(PersistError::io(&tmp))?;
    file.write_all(&format::header(Kind::Journal, generation))
        .and_then(|()| file.sync_all())
        .map_err(PersistError::io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(PersistError::io(path))?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok((file, HEADER_LEN))
}

fn sync_dir(dir: &Path) -> Result<(), PersistError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(PersistError::io(dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The persistence of one emulator: the journal writer and what it needs to know.
#[derive(Debug)]
pub(crate) struct Persistence {
    dir: PathBuf,
    counter: Arc<AtomicU64>,
    snapshots_requested: AtomicU64,
    snapshots_done: AtomicU64,
    instance_tag: String,
    writer: Mutex<Writer>,
    _lock: File,
}

#[derive(Debug)]
struct Writer {
    journal: Option<File>,
    len: u64,
    generation: u64,
    snapshot_len: u64,
    /// Every change numbered up to this is on disk.
    durable: u64,
    clock_offset: Duration,
    /// Set when a write failed: the journal may end in a partial frame, so nothing more
    /// is appended to it and every later write is refused.
    failed: Option<String>,
}

/// What [`Persistence::new`] hands the state: the loaded stores, if any, and the clock offset.
pub(crate) type LoadedStores = Option<(Directory, ArmStore, MonitorStore, Duration)>;

/// The stores persistence reads and drains, as the services layer holds them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stores<'a> {
    /// The directory.
    pub(crate) directory: &'a RwLock<Directory>,
    /// ARM: subscriptions, groups, resources and role assignments.
    pub(crate) arm: &'a RwLock<ArmStore>,
    /// Azure Monitor data.
    pub(crate) telemetry: &'a RwLock<MonitorStore>,
    /// The emulated clock (its offset is persisted).
    pub(crate) clock: &'a Clock,
}

impl Persistence {
    /// The persistence of an opened directory, and the stores it loaded.
    pub(crate) fn new(opened: Opened, instance_tag: String) -> (Self, LoadedStores) {
        let stores = opened
            .loaded
            .map(|l| (l.dir, l.arm, l.monitor, l.clock_offset));
        let fresh = stores.is_none();
        let persistence = Self {
            dir: opened.dir,
            counter: Arc::new(AtomicU64::new(0)),
            snapshots_requested: AtomicU64::new(u64::from(fresh)),
            snapshots_done: AtomicU64::new(0),
            instance_tag,
            writer: Mutex::new(Writer {
                journal: opened.journal,
                len: opened.journal_len,
                generation: opened.generation,
                snapshot_len: opened.snapshot_len,
                durable: 0,
                clock_offset: stores.as_ref().map_or(Duration::ZERO, |s| s.3),
                failed: None,
            }),
            _lock: opened.lock,
        };
        (persistence, stores)
    }

    /// The counter the stores number their changes with.
    pub(crate) fn counter(&self) -> Counter {
        self.counter.clone()
    }

    /// Asks for the next commit to write a whole snapshot (after a reset or a bulk seed).
    pub(crate) fn request_snapshot(&self) {
        self.snapshots_requested.fetch_add(1, Ordering::SeqCst);
    }

    /// Makes every change numbered up to `until` durable (and any snapshot asked for),
    /// together with whatever else is pending. Blocking: call it off the async workers.
    pub(crate) fn commit(&self, state: Stores<'_>, until: Mark) -> Result<(), PersistError> {
        let mut w = self.writer.lock();
        if let Some(e) = &w.failed {
            return Err(self.failure(format!("an earlier write failed: {e}")));
        }
        let requested = self.snapshots_requested.load(Ordering::SeqCst);
        let wanted = requested > self.snapshots_done.load(Ordering::SeqCst);
        // Read before draining: every change numbered up to here is in a store's set.
        let target = self.counter.load(Ordering::SeqCst);
        let offset = state.clock.offset();
        if !wanted && offset == w.clock_offset && Mark(w.durable) >= until {
            return Ok(());
        }
        let compact = w.len > COMPACT_AT.max(w.snapshot_len);
        let result = if wanted || compact || w.journal.is_none() {
            self.snapshot(&mut w, state, offset)
                .map(|()| self.snapshots_done.store(requested, Ordering::SeqCst))
        } else {
            append(&mut w, state, offset)
        };
        match result {
            Ok(()) => {
                w.durable = target;
                w.clock_offset = offset;
                Ok(())
            }
            Err(e) => {
                let e = e.to_string();
                tracing::error!(error = %e, "persisting failed; further writes are refused");
                w.failed = Some(e.clone());
                Err(self.failure(e))
            }
        }
    }

    fn failure(&self, reason: String) -> PersistError {
        PersistError::Io {
            path: self.dir.clone(),
            source: io::Error::other(reason),
        }
    }

    /// Writes the whole state as a new snapshot and starts an empty journal after it.
    fn snapshot(&self, w: &mut Writer, state: Stores<'_>, offset: Duration) -> io::Result<()> {
        let started = std::time::Instant::now();
        // Copies taken with each store's changes drained under the same write lock, so
        // whatever a copy holds is not journaled again; the tables' columns are shared,
        // not copied.
        let dir = {
            let mut d = state.directory.write();
            d.take_changed();
            d.clone()
        };
        let arm = {
            let mut a = state.arm.write();
            a.take_changed();
            a.authz.take_changed();
            a.clone()
        };
        let monitor = {
            let mut m = state.telemetry.write();
            m.take_ops();
            m.clone()
        };
        let generation = w.generation + 1;
        let snapshot = self.dir.join(SNAPSHOT);
        let tmp = self.dir.join(format!("{SNAPSHOT}.tmp"));
        let mut out = BufWriter::with_capacity(1 << 20, crate::files::create_private(&tmp)?);
        out.write_all(&format::header(Kind::Snapshot, generation))?;
        let mut len = HEADER_LEN;
        let mut chunk: Vec<Record> = Vec::with_capacity(SNAPSHOT_CHUNK);
        let mut count = 0u64;
        let mut buf = Vec::new();
        let mut flush = |chunk: &mut Vec<Record>, out: &mut BufWriter<File>| -> io::Result<()> {
            buf.clear();
            format::frame(&serde_json::to_vec(&*chunk)?, &mut buf)?;
            out.write_all(&buf)?;
            len += buf.len() as u64;
            chunk.clear();
            Ok(())
        };
        records::snapshot(
            &self.instance_tag,
            offset,
            &dir,
            &arm,
            &monitor,
            &mut |record| {
                chunk.push(record);
                count += 1;
                if chunk.len() == SNAPSHOT_CHUNK {
                    flush(&mut chunk, &mut out)?;
                }
                Ok(())
            },
        )?;
        drop((dir, arm, monitor));
        chunk.push(Record::End { records: count });
        flush(&mut chunk, &mut out)?;
        let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        let written = started.elapsed();
        file.sync_all()?;
        drop(file);
        let journal = self.dir.join(JOURNAL);
        let journal_tmp = self.dir.join(format!("{JOURNAL}.tmp"));
        let mut new_journal = crate::files::create_private(&journal_tmp)?;
        new_journal.write_all(&format::header(Kind::Journal, generation))?;
        new_journal.sync_all()?;
        // The snapshot first: a crash between the renames leaves it with the old
        // journal, which start-up recognises as stale by its generation.
        std::fs::rename(&tmp, &snapshot)?;
        std::fs::rename(&journal_tmp, &journal)?;
        sync_dir(&self.dir).map_err(io::Error::other)?;
        w.journal = Some(new_journal);
        w.len = HEADER_LEN;
        w.generation = generation;
        w.snapshot_len = len;
        tracing::info!(
            records = count,
            bytes = len,
            write_ms = written.as_millis(),
            total_ms = started.elapsed().as_millis(),
            "snapshot written"
        );
        Ok(())
    }

    /// At shutdown: everything pending to disk, compacted into a snapshot so that the next
    /// start reads one file.
    pub(crate) fn flush(&self, state: Stores<'_>) -> Result<(), PersistError> {
        self.commit(state, Mark::ALL)?;
        if self.writer.lock().len > HEADER_LEN {
            self.snapshots_requested.fetch_add(1, Ordering::SeqCst);
            self.commit(state, Mark::ALL)?;
        }
        Ok(())
    }
}

/// Appends the pending changes as one frame and waits for them to reach the disk.
fn append(w: &mut Writer, state: Stores<'_>, offset: Duration) -> io::Result<()> {
    let mut batch = Vec::new();
    records::directory_changes(&mut state.directory.write(), &mut batch);
    records::arm_changes(&mut state.arm.write(), &mut batch);
    let ops = state.telemetry.write().take_ops();
    batch.extend(ops.iter().map(records::monitor_op));
    drop(ops);
    if offset != w.clock_offset {
        batch.push(Record::Clock {
            offset_nanos: u64::try_from(offset.as_nanos()).unwrap_or(u64::MAX),
        });
    }
    if batch.is_empty() {
        return Ok(());
    }
    let mut buf = Vec::new();
    format::frame(&serde_json::to_vec(&batch)?, &mut buf)?;
    let journal = w
        .journal
        .as_mut()
        .ok_or_else(|| io::Error::other("no journal"))?;
    journal.write_all(&buf)?;
    journal.sync_data()?;
    w.len += buf.len() as u64;
    Ok(())
}
