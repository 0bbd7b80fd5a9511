//! Writes a single file's record stream (lib/package/single-file-records.ts) into a new
//! directory as the records arrive: files are copied from the stream in pieces, never held whole.
//! Each record may only land in the directory itself or a directory an earlier record made, and
//! never replaces anything, so a damaged or crafted stream cannot write through a symlink it
//! planted: everything stays inside the private directory, which the caller discards unless the
//! digest matches at the end.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{File, FileTimes, OpenOptions};
use std::io::{self, BufRead, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Longest path or link target accepted (Linux's PATH_MAX is 4096).
const MAX_NAME: u32 = 1 << 16;

pub enum Failure {
    /// The stream is not what the writer makes: the file is damaged.
    Damaged(String),
    /// The stream is fine but the extraction could not be written (disk full, permissions).
    Write(String),
}

fn damaged(e: io::Error) -> Failure {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => Failure::Damaged("the bundle's records end early".into()),
        _ => Failure::Damaged(e.to_string()),
    }
}

fn read_array<const N: usize>(input: &mut impl Read) -> Result<[u8; N], Failure> {
    let mut b = [0u8; N];
    input.read_exact(&mut b).map_err(damaged)?;
    Ok(b)
}

fn read_u32(input: &mut impl Read) -> Result<u32, Failure> {
    Ok(u32::from_le_bytes(read_array(input)?))
}

fn read_name(input: &mut impl Read) -> Result<Vec<u8>, Failure> {
    let len = read_u32(input)?;
    if len > MAX_NAME {
        return Err(Failure::Damaged(format!("a name of {} bytes in the bundle", len)));
    }
    let mut name = vec![0u8; len as usize];
    input.read_exact(&mut name).map_err(damaged)?;
    Ok(name)
}

pub fn safe_relative(path: &[u8]) -> Result<PathBuf, String> {
    let p = Path::new(OsStr::from_bytes(path));
    if path.is_empty() || p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(format!("unsafe path {:?} in the bundle", String::from_utf8_lossy(path)));
    }
    Ok(p.to_path_buf())
}

fn mtime(seconds: i64, nanos: u32) -> Result<SystemTime, Failure> {
    if nanos >= 1_000_000_000 {
        return Err(Failure::Damaged(format!("a time with {} nanoseconds in the bundle", nanos)));
    }
    let t = if seconds >= 0 {
        UNIX_EPOCH.checked_add(Duration::new(seconds as u64, nanos))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(seconds.unsigned_abs())).and_then(|t| t.checked_add(Duration::from_nanos(nanos as u64)))
    };
    t.ok_or_else(|| Failure::Damaged(format!("time {} out of range in the bundle", seconds)))
}

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    fn utimensat(dirfd: i32, path: *const std::ffi::c_char, times: *const Timespec, flags: i32) -> i32;
}

/// A symlink's own times (std sets them only through open files, which follow links).
fn set_link_time(path: &Path, seconds: i64, nanos: u32) {
    const AT_FDCWD: i32 = -100;
    const AT_SYMLINK_NOFOLLOW: i32 = 0x100;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else { return };
    let t = Timespec { tv_sec: seconds, tv_nsec: nanos as i64 };
    let times = [Timespec { tv_sec: t.tv_sec, tv_nsec: t.tv_nsec }, t];
    // SAFETY: a NUL-terminated path and two timespecs, as utimensat(2) takes; failure only
    // leaves the link's time as it is.
    unsafe { utimensat(AT_FDCWD, c.as_ptr(), times.as_ptr(), AT_SYMLINK_NOFOLLOW) };
}

/// Copies exactly `size` bytes of `input` into `out`, in the pieces the stream holds.
fn copy_exact(input: &mut impl BufRead, out: &mut File, mut size: u64, path: &Path) -> Result<(), Failure> {
    while size > 0 {
        let available = input.fill_buf().map_err(damaged)?;
        if available.is_empty() {
            return Err(Failure::Damaged("the bundle's records end early".into()));
        }
        let n = available.len().min(usize::try_from(size).unwrap_or(usize::MAX));
        out.write_all(&available[..n]).map_err(|e| Failure::Write(format!("cannot write {}: {}", path.display(), e)))?;
        input.consume(n);
        size -= n as u64;
    }
    Ok(())
}

/// Writes every record of `input` under `into` (made here, mode 0700), with the recorded modes
/// (less group and other write) and modification times of files, directories and symlinks.
pub fn write_records(input: &mut impl BufRead, into: &Path) -> Result<(), Failure> {
    std::fs::DirBuilder::new().mode(0o700).create(into).map_err(|e| Failure::Write(format!("cannot create {}: {}", into.display(), e)))?;
    let mut dirs: HashSet<PathBuf> = HashSet::new();
    let mut files: HashSet<PathBuf> = HashSet::new();
    let mut deferred: Vec<(PathBuf, u32, FileTimes)> = Vec::new();
    while !input.fill_buf().map_err(damaged)?.is_empty() {
        let [kind] = read_array::<1>(input)?;
        let mode = read_u32(input)?;
        let seconds = i64::from_le_bytes(read_array(input)?);
        let nanos = read_u32(input)?;
        let rel = safe_relative(&read_name(input)?).map_err(Failure::Damaged)?;
        let parent = rel.parent().unwrap_or(Path::new(""));
        if !parent.as_os_str().is_empty() && !dirs.contains(parent) {
            return Err(Failure::Damaged(format!("{} comes before its directory in the bundle", rel.display())));
        }
        let time = mtime(seconds, nanos)?;
        let times = FileTimes::new().set_modified(time).set_accessed(time);
        let path = into.join(&rel);
        let io = |e: io::Error| Failure::Write(format!("cannot write {}: {}", path.display(), e));
        // Modes lose group and other write and the setuid/setgid bits (0o1755): no one else may
        // change what this user runs, and a crafted stream cannot hand out a setuid program.
        match kind {
            b'd' => {
                std::fs::DirBuilder::new().mode(0o700).create(&path).map_err(io)?;
                deferred.push((path.clone(), mode & 0o1755, times));
                dirs.insert(rel);
            }
            b'f' => {
                let size = u64::from_le_bytes(read_array(input)?);
                // create_new: never through a symlink, never over an earlier record.
                let mut f = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).map_err(io)?;
                copy_exact(input, &mut f, size, &path)?;
                f.set_permissions(std::fs::Permissions::from_mode(mode & 0o1755)).map_err(io)?;
                f.set_times(times).map_err(io)?;
                files.insert(rel);
            }
            b'l' => {
                let target = read_name(input)?;
                symlink(OsStr::from_bytes(&target), &path).map_err(io)?;
                set_link_time(&path, seconds, nanos);
            }
            b'h' => {
                let target = safe_relative(&read_name(input)?).map_err(Failure::Damaged)?;
                if !files.contains(&target) {
                    return Err(Failure::Damaged(format!("{} links to {}, which is no earlier file of the bundle", rel.display(), target.display())));
                }
                std::fs::hard_link(into.join(&target), &path).map_err(io)?;
            }
            other => return Err(Failure::Damaged(format!("unknown record kind {} in the bundle", other))),
        }
    }
    // Directories last, deepest first: writing into a directory changes its time, and a
    // read-only one would refuse the files written into it.
    for (path, mode, times) in deferred.into_iter().rev() {
        if let Ok(dir) = File::open(&path) {
            let _ = dir.set_times(times);
        }
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode));
    }
    Ok(())
}
