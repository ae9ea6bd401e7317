//! The on-disk format of `snapshot.bin` and `journal.bin`.
//!
//! ```text
//! file   = header frame*
//! header = "ENTRAEMU" version:u16 kind:u8 0:u8 generation:u64 crc32(previous 20 bytes):u32
//! frame  = length:u32 crc32(payload):u32 crc32(length ‖ crc32(payload)):u32 payload
//! ```
//!
//! Integers are little-endian; a payload is a JSON array of records. The frame header has a
//! checksum of its own so that a damaged length is told apart from a short last frame.
//!
//! Reading tells three cases apart. A *torn tail* — the file ends inside a frame, or only
//! zero bytes follow the last good frame — is what `kill -9` or a power cut leaves when it
//! interrupts an append. Such a frame was never acknowledged (the response waits for
//! `fdatasync`), so the journal is cut back to the last good frame with a warning. Anything
//! else that does not check out — a bad header, an unknown version, a checksum mismatch on
//! a complete frame even at the end of the file, a record that does not decode — is
//! *corruption*, and the emulator refuses to start, naming the file and byte offset:
//! dropping it would lose acknowledged writes without a word.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

/// First bytes of every file.
pub(crate) const MAGIC: &[u8; 8] = b"ENTRAEMU";
/// The format version this build writes and reads.
pub(crate) const VERSION: u16 = 1;
/// Length of the file header.
pub(crate) const HEADER_LEN: u64 = 24;
const FRAME_HEADER_LEN: usize = 12;
/// Largest frame accepted (a bigger length is corruption, not a reason to allocate).
const MAX_FRAME: u32 = 1 << 30;

/// Which file a header belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A full state.
    Snapshot = 1,
    /// Changes after the snapshot of the same generation.
    Journal = 2,
}

/// Why persisted state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// An I/O error on a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A file does not read back as written.
    #[error(
        "{}: corrupt at byte offset {offset}: {reason}; refusing to start (restore a backup, \
         or move the data directory away to start empty)",
        path.display()
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the problem starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// Another emulator holds the data directory.
    #[error("{}: the data directory is in use by another emulator", path.display())]
    Locked {
        /// The data directory (elsewhere than Unix, its lock file).
        path: PathBuf,
    },
}

impl PersistError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_owned(),
            source,
        }
    }

    fn corrupt(path: &Path, offset: u64, reason: impl Into<String>) -> Self {
        Self::Corrupt {
            path: path.to_owned(),
            offset,
            reason: reason.into(),
        }
    }
}

/// The header of a file of `kind` and `generation`.
pub(crate) fn header(kind: Kind, generation: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN as usize);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&VERSION.to_le_bytes());
    h.push(kind as u8);
    h.push(0);
    h.extend_from_slice(&generation.to_le_bytes());
    let crc = crc32fast::hash(&h);
    h.extend_from_slice(&crc.to_le_bytes());
    h
}

/// Appends a frame holding `payload` to `out`.
pub(crate) fn frame(payload: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|l| *l <= MAX_FRAME)
        .ok_or_else(|| io::Error::other("a journal frame over 1 GiB"))?;
    let crc = crc32fast::hash(payload);
    let mut head = [0u8; 8];
    head[..4].copy_from_slice(&len.to_le_bytes());
    head[4..].copy_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(&crc32fast::hash(&head).to_le_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// Reads a file frame by frame.
pub(crate) struct Reader {
    path: PathBuf,
    input: BufReader<File>,
    len: u64,
    /// Offset of the next frame.
    pub(crate) offset: u64,
    /// The header's generation.
    pub(crate) generation: u64,
}

/// What [`Reader::next_frame`] found.
pub(crate) enum Next {
    /// A frame's payload, starting at this offset.
    Frame(u64, Vec<u8>),
    /// The end of the file, cleanly after a frame.
    End,
    /// A torn last frame starting at this offset (see the module docs).
    Torn(u64),
}

impl Reader {
    /// Opens `path` and checks its header is of `kind` in this version.
    pub(crate) fn open(path: &Path, kind: Kind) -> Result<Self, PersistError> {
        let file = crate::files::open_checked(path, std::fs::OpenOptions::new().read(true))
            .map_err(PersistError::io(path))?;
        let len = file.metadata().map_err(PersistError::io(path))?.len();
        let mut input = BufReader::with_capacity(1 << 20, file);
        let mut h = [0u8; HEADER_LEN as usize];
        if len < HEADER_LEN {
            return Err(PersistError::corrupt(
                path,
                0,
                format!("the {len}-byte file is shorter than its {HEADER_LEN}-byte header"),
            ));
        }
        input.read_exact(&mut h).map_err(PersistError::io(path))?;
        if &h[..8] != MAGIC {
            return Err(PersistError::corrupt(
                path,
                0,
                "not an entra-emulator data file (bad magic)",
            ));
        }
        let version = u16::from_le_bytes([h[8], h[9]]);
        if version != VERSION {
            return Err(PersistError::corrupt(
                path,
                8,
                format!("unsupported format version {version} (this build reads {VERSION})"),
            ));
        }
        let crc = u32::from_le_bytes([h[20], h[21], h[22], h[23]]);
        if crc32fast::hash(&h[..20]) != crc {
            return Err(PersistError::corrupt(path, 0, "header checksum mismatch"));
        }
        if h[10] != kind as u8 {
            return Err(PersistError::corrupt(
                path,
                10,
                format!("file kind {} where {} was expected", h[10], kind as u8),
            ));
        }
        let mut generation = [0u8; 8];
        generation.copy_from_slice(&h[12..20]);
        Ok(Self {
            path: path.to_owned(),
            input,
            len,
            offset: HEADER_LEN,
            generation: u64::from_le_bytes(generation),
        })
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// An error about the frame at `offset`.
    pub(crate) fn corrupt(&self, offset: u64, reason: impl Into<String>) -> PersistError {
        PersistError::corrupt(&self.path, offset, reason)
    }

    fn rest_is_zero(&mut self) -> Result<bool, PersistError> {
        let mut buf = [0u8; 8192];
        loop {
            let n = self
                .input
                .read(&mut buf)
                .map_err(PersistError::io(&self.path))?;
            if n == 0 {
                return Ok(true);
            }
            if buf[..n].iter().any(|b| *b != 0) {
                return Ok(false);
            }
        }
    }

    /// The next frame.
    pub(crate) fn next_frame(&mut self) -> Result<Next, PersistError> {
        let at = self.offset;
        let remaining = self.len - at;
        if remaining == 0 {
            return Ok(Next::End);
        }
        if remaining < FRAME_HEADER_LEN as u64 {
            return Ok(Next::Torn(at));
        }
        let mut head = [0u8; FRAME_HEADER_LEN];
        self.input
            .read_exact(&mut head)
            .map_err(PersistError::io(&self.path))?;
        if head.iter().all(|b| *b == 0) {
            return if self.rest_is_zero()? {
                Ok(Next::Torn(at))
            } else {
                Err(self.corrupt(at, "a zeroed frame header before more data"))
            };
        }
        let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        let (len, crc, head_crc) = (word(0), word(4), word(8));
        if crc32fast::hash(&head[..8]) != head_crc {
            return Err(self.corrupt(at, "frame header checksum mismatch"));
        }
        if len > MAX_FRAME {
            return Err(self.corrupt(at, format!("frame length {len} is over the limit")));
        }
        if u64::from(len) > remaining - FRAME_HEADER_LEN as u64 {
            return Ok(Next::Torn(at));
        }
        let mut payload = vec![0u8; len as usize];
        self.input
            .read_exact(&mut payload)
            .map_err(PersistError::io(&self.path))?;
        if crc32fast::hash(&payload) != crc {
            return Err(self.corrupt(at, "frame checksum mismatch"));
        }
        self.offset = at + FRAME_HEADER_LEN as u64 + u64::from(len);
        Ok(Next::Frame(at, payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, frames: &[&[u8]], extra: &[u8]) -> PathBuf {
        let mut bytes = header(Kind::Journal, 7);
        for f in frames {
            frame(f, &mut bytes).expect("frame");
        }
        bytes.extend_from_slice(extra);
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    }

    fn read_all(path: &Path) -> Result<(Vec<Vec<u8>>, Option<u64>), PersistError> {
        let mut r = Reader::open(path, Kind::Journal)?;
        assert_eq!(r.generation, 7);
        let mut out = Vec::new();
        loop {
            match r.next_frame()? {
                Next::Frame(_, p) => out.push(p),
                Next::End => return Ok((out, None)),
                Next::Torn(at) => return Ok((out, Some(at))),
            }
        }
    }

    fn tmp() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("entra-format-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        dir
    }

    #[test]
    fn frames_round_trip_and_torn_tails_are_told_from_corruption() {
        let dir = tmp();
        let ok = write(&dir, "ok", &[b"one", b"two"], &[]);
        assert_eq!(
            read_all(&ok).expect("reads").0,
            [b"one".to_vec(), b"two".to_vec()]
        );
        // A short last frame and a zeroed tail are torn, at the offset of the bad frame.
        let mut partial = Vec::new();
        frame(b"three", &mut partial).expect("frame");
        let torn = write(&dir, "torn", &[b"one"], &partial[..14]);
        let end_of_one = HEADER_LEN + 12 + 3;
        assert_eq!(read_all(&torn).expect("reads").1, Some(end_of_one));
        let zeros = write(&dir, "zeros", &[b"one"], &[0; 40]);
        assert_eq!(read_all(&zeros).expect("reads").1, Some(end_of_one));
        // A flipped payload byte, even in the last frame, is corruption.
        let mut bytes = std::fs::read(&ok).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&ok, &bytes).expect("write");
        let err = read_all(&ok).expect_err("corrupt").to_string();
        assert!(err.contains("corrupt at byte offset 39"), "{err}");
        // A damaged length is caught by the frame header's own checksum.
        let mut bytes = std::fs::read(&torn).expect("read");
        bytes[HEADER_LEN as usize] = 0xff;
        std::fs::write(&torn, &bytes).expect("write");
        let err = read_all(&torn).expect_err("corrupt").to_string();
        assert!(err.contains("frame header checksum"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn headers_are_checked() {
        let dir = tmp();
        let path = write(&dir, "j", &[b"x"], &[]);
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[8] = 9;
        std::fs::write(&path, &bytes).expect("write");
        let err = read_all(&path).expect_err("version").to_string();
        assert!(err.contains("unsupported format version 9"), "{err}");
        std::fs::write(&path, &bytes[..10]).expect("write");
        let err = read_all(&path).expect_err("short").to_string();
        assert!(err.contains("shorter than its 24-byte header"), "{err}");
        std::fs::write(&path, b"PK\x03\x04 definitely not ours....").expect("write");
        let err = read_all(&path).expect_err("magic").to_string();
        assert!(err.contains("bad magic"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
