//! Replaying a fingerprint that `sidebundle digest` recorded: when every path of the record is in
//! its recorded state, the recorded output is the output, and Node need not start. What is hashed
//! and the record's format are defined in lib/cli/replay.ts; this side only compares states.

use std::ffi::{OsStr, OsString};
use std::fs::{self, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;

use crate::sha256::{hex, Sha256};

const HEADER: &[u8] = b"sidebundle-replay@1\n";
const ENOENT: i32 = 2;
const ENOTDIR: i32 = 20;

/// The record's name for `command` run in `cwd`: the sha256 of both, NUL-separated.
pub fn record_name(cwd: &OsStr, command: &[OsString]) -> String {
    let mut hash = Sha256::default();
    hash.update(cwd.as_bytes());
    hash.update(b"\0");
    for arg in command {
        hash.update(arg.as_bytes());
        hash.update(b"\0");
    }
    hex(&hash.finish())
}

/// The recorded output, if every recorded path is as recorded (None for a damaged record too).
pub fn replay(record: &[u8]) -> Option<&[u8]> {
    let mut rest = record.strip_prefix(HEADER)?;
    loop {
        let end = rest.iter().position(|&b| b == b'\n')?;
        let line = &rest[..end];
        rest = &rest[end + 1..];
        if line.is_empty() {
            return Some(rest);
        }
        let tab = line.iter().position(|&b| b == b'\t')?;
        if !holds(&line[..tab], OsStr::from_bytes(&line[tab + 1..])) {
            return None;
        }
    }
}

/// Whether `path` is in the recorded `state`: absent, a directory (by kind), or a full stat.
fn holds(state: &[u8], path: &OsStr) -> bool {
    match fs::symlink_metadata(path) {
        Err(error) => state == b"absent" && matches!(error.raw_os_error(), Some(ENOENT) | Some(ENOTDIR)),
        Ok(meta) if state == b"dir" => meta.is_dir(),
        Ok(meta) => state == full_state(&meta).as_bytes(),
    }
}

/// `stat:DEV:INO:SIZE:MTIME_NS:CTIME_NS:MODE`, as Node's bigint lstat gives them.
pub fn full_state(meta: &Metadata) -> String {
    let ns = |seconds: i64, nanos: i64| i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
    format!("stat:{}:{}:{}:{}:{}:{}", meta.dev(), meta.ino(), meta.size(), ns(meta.mtime(), meta.mtime_nsec()), ns(meta.ctime(), meta.ctime_nsec()), meta.mode())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_while_the_states_hold() {
        let dir = std::env::temp_dir().join(format!("sb-replay-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f");
        fs::write(&file, b"one").unwrap();
        let state = full_state(&fs::symlink_metadata(&file).unwrap());
        let record = format!("sidebundle-replay@1\n{}\t{}\ndir\t{}\nabsent\t{}\n\nout\nput\n", state, file.display(), dir.display(), dir.join("none").display());
        assert_eq!(replay(record.as_bytes()), Some(&b"out\nput\n"[..]));
        fs::write(&file, b"two, longer").unwrap();
        assert_eq!(replay(record.as_bytes()), None);
        assert_eq!(replay(b"sidebundle-replay@0\n\nout"), None);
        assert_eq!(replay(b"sidebundle-replay@1\nno tab\n\nout"), None);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn names_a_record_by_directory_and_command() {
        let a = record_name(OsStr::new("/ws"), &[OsString::from("node"), OsString::from("digest")]);
        assert_eq!(a.len(), 64);
        assert_ne!(a, record_name(OsStr::new("/ws2"), &[OsString::from("node"), OsString::from("digest")]));
        assert_ne!(a, record_name(OsStr::new("/ws"), &[OsString::from("nodedigest")]));
    }
}
