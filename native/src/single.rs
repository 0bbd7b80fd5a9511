//! Single-file bundles: sidebundle-launch, this runner and a whole bundle, in one file.
//!
//! The format (written by lib/package/single-file.ts) is specified in docs/bundle-format.md. The
//! launcher at its head starts warm runs from the cache itself (native/nolibc/src/single.rs,
//! which mirrors the checks below, reading only) and execs this runner, from a memfd, for the
//! rest: the first run, SIDEBUNDLE_VERIFY=1, bwrap, a cache to make or refuse.
//! Extraction streams (single/stream.rs): a few members in memory at a time, inflated ahead on
//! worker threads and handed out in order, files written as their records arrive, modification
//! times kept (Python's __pycache__ stays valid). The bundle is extracted once into
//! `$SIDEBUNDLE_CACHE_DIR` (default `$XDG_CACHE_HOME/sidebundle/single`, `~/.cache/...`, or
//! `${TMPDIR:-/tmp}/sidebundle-UID/single`) under the digest: into a private temporary
//! directory, checked against the digest once the stream ends (nothing in it is used before),
//! stamped, renamed into place; a concurrent first run
//! that loses the rename uses the winner's copy. A copy without its stamp is extracted again,
//! and with SIDEBUNDLE_VERIFY=1 any copy is: it replaces what the cache holds.
//!
//! Whoever can write to the cache chooses what runs, so it is trusted only when this user owns
//! it (not a symlink, writable by no one else) and only root or this user can change any
//! directory above it (others may write to a sticky one, like /tmp). Missing directories are
//! made mode 0700. An unsafe XDG_CACHE_HOME or ~/.cache is passed over; an unsafe
//! SIDEBUNDLE_CACHE_DIR or temporary directory is an error and nothing runs. An extracted copy
//! counts only when this user owns it and its stamp.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use crate::sha256::hex;

mod records;
mod stream;

pub const MAGIC: &[u8; 16] = sidebundle_nolibc::single::MAGIC;
/// Every format's magic starts so: an older or newer file is named as such, not run as a plain
/// launcher.
const MAGIC_FAMILY: &[u8; 15] = b"SIDEBUNDLE-SFX-";
/// Where every format's magic starts, from the end of the file.
const MAGIC_AT: u64 = 64;
/// Format 4's trailer: the runner's offset (which this runner does not need), then the magic.
const TRAILER: u64 = sidebundle_nolibc::single::TRAILER;
const STAMP: &str = ".sidebundle-extracted";

pub struct Embedded {
    /// The path it was run as, for messages.
    exe: PathBuf,
    /// The file itself, open; read through /proc/self/fd/N (never its path again).
    file: File,
    /// Where the members start, where the index starts, where the trailer starts.
    offset: u64,
    index: u64,
    end: u64,
    digest: [u8; 32],
}

/// The bundle appended to this executable, if any.
pub fn embedded() -> Result<Option<Embedded>, String> {
    let var = OsStr::from_bytes(sidebundle_nolibc::single::PATH_VAR);
    let handed = std::env::var_os(var);
    // Removed before anything starts, so the program never sees it.
    std::env::remove_var(var);
    // Started by the launcher heading a single file (format 4) from a copy (a memfd, or an
    // unlinked file where memfds may not run): the launcher hands over the file it checked.
    let from_copy = std::fs::metadata("/proc/self/exe").is_ok_and(|m| m.nlink() == 0);
    let (mut file, exe) = match handed.filter(|_| from_copy) {
        Some(handed) => take_handed(&handed)?,
        None => match File::open("/proc/self/exe") {
            Ok(this) => (this, std::fs::read_link("/proc/self/exe").map_err(|e| format!("cannot find this executable: {}", e))?),
            // A runner this user may run but not read (mode 0711) carries no bundle it could read.
            Err(_) => return Ok(None),
        },
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size < TRAILER {
        return Ok(None);
    }
    let mut trailer = [0u8; 64];
    if file.seek(SeekFrom::Start(size - MAGIC_AT)).is_err() || file.read_exact(&mut trailer).is_err() {
        return Ok(None);
    }
    if &trailer[..16] != MAGIC {
        if &trailer[..15] == MAGIC_FAMILY {
            return Err(format!(
                "{} is a single-file bundle of another format ({}) than this runner reads ({}); rebuild it with this sidebundle",
                exe.display(),
                String::from_utf8_lossy(&trailer[..16]),
                String::from_utf8_lossy(MAGIC)
            ));
        }
        return Ok(None);
    }
    let offset = u64::from_le_bytes(trailer[16..24].try_into().unwrap());
    let index = u64::from_le_bytes(trailer[24..32].try_into().unwrap());
    let end = size.saturating_sub(TRAILER);
    if !sidebundle_nolibc::single::layout_fits(offset, index, end) {
        return Err(format!("{} is a damaged single-file bundle (its trailer does not describe its contents); rebuild it", exe.display()));
    }
    Ok(Some(Embedded { exe, file, offset, index, end, digest: trailer[32..64].try_into().unwrap() }))
}

/// The single file the launcher handed over (`FD:PATH`): reopened through /proc (close-on-exec,
/// as every descriptor of the runner's), the inherited descriptor closed.
fn take_handed(handed: &OsStr) -> Result<(File, PathBuf), String> {
    let bytes = handed.as_bytes();
    let colon = bytes.iter().position(|&b| b == b':').unwrap_or(bytes.len());
    let fd: i32 = std::str::from_utf8(&bytes[..colon]).ok().and_then(|n| n.parse().ok()).filter(|&fd| fd > 2).ok_or_else(|| {
        format!("{}={} does not name an open single file (FD:PATH); it is for the launcher of a single-file bundle alone", OsStr::from_bytes(sidebundle_nolibc::single::PATH_VAR).to_string_lossy(), handed.to_string_lossy())
    })?;
    let exe = PathBuf::from(OsStr::from_bytes(bytes.get(colon + 1..).unwrap_or_default()));
    let file = File::open(format!("/proc/self/fd/{}", fd)).map_err(|e| format!("cannot read the single file {} (descriptor {}): {}", exe.display(), fd, e));
    // SAFETY: the descriptor was inherited for this runner alone; nothing else here holds it.
    unsafe { crate::sys::close(fd) };
    Ok((file?, exe))
}

fn nonempty_var(key: &str) -> Option<OsString> {
    std::env::var_os(key).filter(|v| !v.is_empty())
}

/// Where extracted bundles live (see the header): the first safe candidate.
fn cache_dir(uid: u32) -> Result<PathBuf, String> {
    if let Some(dir) = nonempty_var("SIDEBUNDLE_CACHE_DIR") {
        return private_dir(Path::new(&dir), uid).map_err(|why| {
            format!("cannot use SIDEBUNDLE_CACHE_DIR={}: {}; nothing was run. Point it at a directory of your own that no other user can write to", Path::new(&dir).display(), why)
        });
    }
    let xdg = nonempty_var("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("sidebundle/single"));
    // HOME itself is never created (system users have HOME=/nonexistent).
    let home = nonempty_var("HOME").map(PathBuf::from).filter(|h| h.is_dir()).map(|h| h.join(".cache/sidebundle/single"));
    for candidate in [xdg, home].into_iter().flatten() {
        match private_dir(&candidate, uid) {
            Ok(dir) => return Ok(dir),
            Err(why) => crate::launch::debug(&format!("not extracting into {}: {}", candidate.display(), why)),
        }
    }
    let tmp = nonempty_var("TMPDIR").map(PathBuf::from).filter(|d| d.is_absolute()).unwrap_or_else(|| PathBuf::from("/tmp"));
    private_dir(&tmp.join(format!("sidebundle-{}/single", uid)), uid).map_err(|why| {
        format!("no safe place to extract this bundle: {}; nothing was run (another user may have made it to plant programs). Set SIDEBUNDLE_CACHE_DIR to a directory of your own (or remove that one if it is yours)", why)
    })
}

enum Step {
    Name(OsString),
    Up,
}

/// The steps of a path, last first (a stack); `/` and `.` are left to the caller.
fn steps(path: &Path) -> Vec<Step> {
    let mut out: Vec<Step> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(Step::Name(n.to_os_string())),
            Component::ParentDir => Some(Step::Up),
            _ => None,
        })
        .collect();
    out.reverse();
    out
}

/// `path` as a directory only this user controls (see the header), made where missing. Each
/// directory is checked before anything is made in it; symlinks above it are followed when root
/// or this user owns them (only they could change where they point). Returns the path with the
/// links resolved.
fn private_dir(path: &Path, uid: u32) -> Result<PathBuf, String> {
    let absolute = match path.is_absolute() {
        true => path.to_path_buf(),
        false => std::env::current_dir().map_err(|e| format!("cannot find the working directory: {}", e))?.join(path),
    };
    let mut todo = steps(&absolute);
    let mut at = PathBuf::from("/");
    check_above(&at, &lstat(&at)?, uid)?;
    let mut links = 0;
    while let Some(step) = todo.pop() {
        let name = match step {
            Step::Up => {
                at.pop();
                continue;
            }
            Step::Name(name) => name,
        };
        let next = at.join(&name);
        let meta = match std::fs::symlink_metadata(&next) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match std::fs::DirBuilder::new().mode(0o700).create(&next) {
                    Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(format!("cannot create {}: {}", next.display(), e)),
                    _ => lstat(&next)?,
                }
            }
            _ => lstat(&next)?,
        };
        if meta.file_type().is_symlink() {
            if todo.is_empty() {
                return Err(format!("{} is a symbolic link (name the directory itself)", next.display()));
            }
            if meta.uid() != 0 && meta.uid() != uid {
                return Err(format!("{} is a symbolic link owned by uid {} (neither root nor you, uid {})", next.display(), meta.uid(), uid));
            }
            links += 1;
            let target = std::fs::read_link(&next).map_err(|e| format!("cannot read {}: {}", next.display(), e))?;
            if links > 40 {
                return Err(format!("too many symbolic links under {}", next.display()));
            }
            if target.is_absolute() {
                at = PathBuf::from("/");
            }
            todo.extend(steps(&target));
            continue;
        }
        if !meta.is_dir() {
            return Err(format!("{} is not a directory", next.display()));
        }
        if !todo.is_empty() {
            check_above(&next, &meta, uid)?;
        }
        at = next;
    }
    let meta = lstat(&at)?;
    if meta.uid() != uid {
        return Err(format!("{} is owned by uid {}, not by you (uid {})", at.display(), meta.uid(), uid));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!("{} can be written by other users (mode {:o})", at.display(), meta.mode() & 0o7777));
    }
    Ok(at)
}

fn lstat(path: &Path) -> Result<std::fs::Metadata, String> {
    std::fs::symlink_metadata(path).map_err(|e| format!("cannot inspect {}: {}", path.display(), e))
}

/// A directory on the way to the cache: only root or this user may change it, or it is sticky.
fn check_above(path: &Path, meta: &std::fs::Metadata, uid: u32) -> Result<(), String> {
    if meta.uid() != 0 && meta.uid() != uid {
        return Err(format!("{} is owned by uid {} (neither root nor you, uid {})", path.display(), meta.uid(), uid));
    }
    if meta.mode() & 0o022 != 0 && meta.mode() & 0o1000 == 0 {
        return Err(format!("{} can be written by other users and is not sticky (mode {:o})", path.display(), meta.mode() & 0o7777));
    }
    Ok(())
}

/// This user owns `path` (not a symlink) and no one else can write to it.
fn ours(path: &Path, uid: u32) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| !m.file_type().is_symlink() && m.uid() == uid && m.mode() & 0o022 == 0)
}

/// Extract if needed, pick the entry, exec its launcher. Returns only with an error message.
pub fn run(embedded: Embedded, args: &[OsString]) -> String {
    let digest = hex(&embedded.digest);
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { crate::sys::getuid() };
    let cache = match cache_dir(uid) {
        Ok(dir) => dir,
        Err(e) => return e,
    };
    let dir = cache.join(&digest);
    let verify = std::env::var_os("SIDEBUNDLE_VERIFY").is_some_and(|v| !v.is_empty() && v != "0");
    let stamped = installed(&dir, &digest, uid);
    // SIDEBUNDLE_VERIFY=1 trusts nothing in the cache: the copy is extracted again from this file
    // (checked against its digest) and replaces it. A check of the copy against its own
    // manifest.lock missed what the manifest does not list (a planted ld.so.preload), launchers,
    // entry specs, and a manifest edited along with a file.
    let replace = stamped && verify;
    if !stamped || replace {
        if let Err(e) = extract(&embedded, &cache, &dir, &digest, replace, uid) {
            return e;
        }
    }
    let (name, rest) = match pick_entry(&dir, args) {
        Ok(x) => x,
        Err(e) => return e,
    };
    // A host-mode bundle made where the launcher was not built has sh scripts for launchers
    // (lib/package/launcher.ts) that find the bundle from their own path.
    let launcher = dir.join("bin").join(&name);
    if std::fs::symlink_metadata(&launcher).is_ok_and(|m| m.is_file()) {
        let mut argv = vec![launcher.clone().into_os_string()];
        argv.extend(rest);
        let error = crate::sys::exec_argv(launcher.as_os_str(), &argv);
        return format!("cannot run {}: {}", launcher.display(), error);
    }
    // The entry runs from here, in this process: no second launcher start.
    crate::launch::run_entry(&dir, &name, &invoked_name(args, &name), &rest)
}

/// argv[0] for the entry: the name it was called by when that is the entry (a symlink named
/// after it), else the entry's name.
fn invoked_name(args: &[OsString], name: &OsStr) -> OsString {
    match args.first() {
        Some(a) if Path::new(a).file_name() == Some(name) => a.clone(),
        _ => name.to_os_string(),
    }
}

/// A complete extraction of this digest is at `dir` (its completion stamp is written last), made
/// by this user: a copy someone else owns is never trusted, whatever its stamp says.
fn installed(dir: &Path, digest: &str, uid: u32) -> bool {
    let stamp = dir.join(STAMP);
    // The stamp's mode follows the umask: only the directory's mode matters to who can write.
    let stamp_ours = std::fs::symlink_metadata(&stamp).is_ok_and(|m| m.is_file() && m.uid() == uid);
    ours(dir, uid) && stamp_ours && std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == digest)
}

fn pick_entry(dir: &Path, args: &[OsString]) -> Result<(OsString, Vec<OsString>), String> {
    let mut entries: Vec<OsString> = std::fs::read_dir(dir.join("bin")).map_err(|e| format!("the extracted bundle has no bin/: {}", e))?.filter_map(|e| e.ok().map(|e| e.file_name())).collect();
    entries.sort();
    let rest = args.get(1..).unwrap_or_default();
    // A lone entry takes every argument as given, its own name too (`one.run one` is `one one`).
    if entries.len() == 1 {
        return Ok((entries[0].clone(), rest.to_vec()));
    }
    let invoked = args.first().map(|a| Path::new(a).file_name().unwrap_or_default().to_os_string()).unwrap_or_default();
    if entries.contains(&invoked) {
        return Ok((invoked, rest.to_vec()));
    }
    if let Some(first) = rest.first() {
        if entries.contains(first) {
            return Ok((first.clone(), rest[1..].to_vec()));
        }
    }
    let names: Vec<String> = entries.iter().map(|e| e.to_string_lossy().into_owned()).collect();
    Err(format!(
        "this single-file bundle holds {}: name one as the first argument ({} {} ...), or run it through a symlink with the entry's name",
        names.join(", "),
        invoked.to_string_lossy(),
        names.first().cloned().unwrap_or_default()
    ))
}

/// `replace`: the installed copy failed verification and must go even though it is stamped.
/// `cache` is private_dir's: it exists and is this user's.
fn extract(embedded: &Embedded, cache: &Path, dir: &Path, digest: &str, replace: bool, uid: u32) -> Result<(), String> {
    let damaged = |why: String| format!("{} is damaged ({}); rebuild or download it again", embedded.exe.display(), why);
    let mut members = stream::Members::open(Path::new(&format!("/proc/self/fd/{}", embedded.file.as_raw_fd())), embedded.offset, embedded.index, embedded.end).map_err(damaged)?;
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { crate::sys::getpid() };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let tmp = cache.join(format!(".{}.tmp-{}-{}", &digest[..16], pid, nanos));
    // Files land in the private temporary directory as they stream in; the digest is known
    // only at the end, and until it matches nothing there is used.
    let result = records::write_records(&mut members, &tmp)
        .map_err(|failure| match failure {
            records::Failure::Damaged(why) => damaged(why),
            records::Failure::Write(why) => why,
        })
        .and_then(|()| members.finish().map_err(damaged))
        .and_then(|sum| if hex(&sum) == digest { Ok(()) } else { Err(damaged("its contents do not match the digest it carries".into())) })
        .and_then(|()| {
            let mut stamp = File::create(tmp.join(STAMP)).map_err(|e| format!("cannot write {}: {}", tmp.display(), e))?;
            stamp.write_all(format!("{}\n", digest).as_bytes()).map_err(|e| e.to_string())
        });
    crate::launch::timing::mark("extract the single file (inflate, hash, write)");
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    // Another first run may have installed its copy meanwhile (and may be running from it):
    // keep that one. Only a damaged or half-written copy is moved aside.
    if installed(dir, digest, uid) && !replace {
        let _ = std::fs::remove_dir_all(&tmp);
        return Ok(());
    }
    // Whatever is there (half written, damaged, not ours, a symlink) is moved aside, not followed.
    if std::fs::symlink_metadata(dir).is_ok() {
        let stale = cache.join(format!(".{}.stale-{}-{}", &digest[..16], pid, nanos));
        if std::fs::rename(dir, &stale).is_ok() {
            let _ = std::fs::remove_dir_all(&stale);
        }
    }
    if std::fs::rename(&tmp, dir).is_err() {
        // Another first run won the race: its copy is as good as ours.
        let _ = std::fs::remove_dir_all(&tmp);
        if !installed(dir, digest, uid) {
            return Err(format!("cannot install the extracted bundle at {}", dir.display()));
        }
    }
    Ok(())
}

