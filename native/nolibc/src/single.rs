//! A single-file bundle's start (format 4, docs/bundle-format.md): the file is sidebundle-launch,
//! then the static runner, then the compressed bundle. The launcher runs first. Warm, when this
//! user's cache already holds the bundle extracted and stamped, it starts the entry from there
//! itself, with no C library start-up. Otherwise it execs the runner, copied from the file into a
//! memfd: the runner extracts (again, with SIDEBUNDLE_VERIFY=1) and then starts the entry.
//!
//! The warm path only reads. Where the cache's rules are not plainly met it leaves the decision
//! to the runner (native/src/single.rs, whose checks these mirror): a candidate cache directory
//! that is missing (the runner makes it), one that is not safe, SIDEBUNDLE_VERIFY, an entry it
//! cannot pick, bwrap. So the runner stays the one place that extracts, creates directories,
//! and says what is wrong.

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use core::convert::Infallible;

use crate::host::Env;
use crate::launch::{self, Request};
use crate::path::{file_name, join, show};
use crate::report::die;
use crate::{sys, timing};

/// The format this launcher heads: its magic sits 64 bytes from the end, as every format's did.
pub const MAGIC: &[u8; 16] = b"SIDEBUNDLE-SFX-4";
const FAMILY: &[u8] = b"SIDEBUNDLE-SFX-";
/// runner offset u64 | magic (16) | members offset u64 | index offset u64 | sha256 (32).
pub const TRAILER: u64 = 72;
const STAMP: &[u8] = b".sidebundle-extracted";
/// The runner, started from a copy (its /proc/self/exe a memfd or an unlinked file), learns of
/// the single file from this: `FD:PATH`, the descriptor it inherits open on the file the
/// launcher checked (never opened again by name) and the path it was run as, for messages.
pub const PATH_VAR: &[u8] = b"SIDEBUNDLE_SINGLE_FILE";

pub struct Single {
    fd: i32,
    runner: u64,
    runner_len: u64,
    digest: Vec<u8>,
}

/// The single-file bundle this process runs (`exe`, its path, names it in messages), None when
/// it carries none (a launcher copied out of its bundle's runtime/, which finds its bundle from
/// argv[0] as ever). Opened through /proc/self/exe: the very file the kernel runs, whatever its
/// path names by now.
pub fn open(exe: &[u8]) -> Option<Single> {
    let fd = sys::open(b"/proc/self/exe", sys::O_RDONLY | sys::O_CLOEXEC).ok()?;
    let size = sys::fstat(fd).map(|m| m.size).unwrap_or(0);
    let mut trailer = [0u8; TRAILER as usize];
    if size < TRAILER || !sys::pread_exact(fd, &mut trailer, size - TRAILER).unwrap_or(false) {
        sys::close(fd);
        return None;
    }
    let (magic, word) = (&trailer[8..24], |at: usize| u64::from_le_bytes(trailer[at..at + 8].try_into().unwrap()));
    if magic != MAGIC {
        let carries_more = past_own_end(fd, size);
        sys::close(fd);
        if magic.starts_with(FAMILY) {
            die(&format!("{} is a single-file bundle of another format ({}) than its launcher reads ({}); rebuild it with this sidebundle", show(exe), show(magic), show(MAGIC)), 126);
        }
        // Bytes after the launcher's own ELF image, and no trailer at the end: a single file cut
        // short or appended to, not a launcher copied out of a bundle's runtime/.
        if carries_more {
            die(&format!("{} is a damaged single-file bundle (its trailer is not at its end: the file was cut short, or bytes were added after it); nothing was run. Copy or download it again", show(exe)), 126);
        }
        return None;
    }
    // The runner's own check, and the runner ahead of the members.
    let (runner, members, index) = (word(0), word(24), word(32));
    if runner >= members || !layout_fits(members, index, size - TRAILER) {
        die(&format!("{} is a damaged single-file bundle (its trailer does not describe its contents); rebuild it", show(exe)), 126);
    }
    Some(Single { fd, runner, runner_len: members - runner, digest: hex(&trailer[40..72]) })
}

/// Whether the file `fd` (this launcher's executable, `size` bytes) goes on past the end of the
/// launcher's ELF image, its section header table (the last thing the linker and strip write).
fn past_own_end(fd: i32, size: u64) -> bool {
    let mut header = [0u8; 64];
    if !sys::pread_exact(fd, &mut header, 0).unwrap_or(false) {
        return false;
    }
    let shoff = u64::from_le_bytes(header[0x28..0x30].try_into().unwrap());
    let (shentsize, shnum) = (u16::from_le_bytes([header[0x3a], header[0x3b]]), u16::from_le_bytes([header[0x3c], header[0x3d]]));
    shoff != 0 && size > shoff.saturating_add(u64::from(shentsize) * u64::from(shnum))
}

/// The members run from `members` to `index`, the index (8 bytes per member) from there to
/// `end`, where the trailer starts: the trailer's offsets describe that, in that order.
pub fn layout_fits(members: u64, index: u64, end: u64) -> bool {
    members <= index && index <= end && (end - index) % 8 == 0
}

fn hex(bytes: &[u8]) -> Vec<u8> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes.iter().flat_map(|b| [DIGITS[(b >> 4) as usize], DIGITS[(b & 15) as usize]]).collect()
}

/// Start the bundle `single` (the file `exe`) as `args` asks: from the cache when it is there,
/// else through the runner.
pub fn start(single: Single, exe: &[u8], args: &[Vec<u8>], env: Env) -> ! {
    timing::mark("read the single file's trailer");
    let Some((dir, name, rest)) = warm(&single, args, &env) else { cold(&single, exe, args, &env) };
    timing::mark("find its extraction in the cache");
    let launcher = join(&join(&dir, b"bin"), &name);
    // A host-mode bundle made where the launcher was not built has sh scripts for launchers.
    if sys::lstat(&launcher).is_ok_and(|m| m.kind() == sys::S_IFREG) {
        let mut argv = vec![launcher.clone()];
        argv.extend(rest);
        let error = sys::execve(&launcher, &argv, &env.0);
        die(&format!("cannot run {}: {}", show(&launcher), error), 126);
    }
    let argv0 = match args.first() {
        Some(a) if file_name(a) == Some(name.as_slice()) => a.clone(),
        _ => name.clone(),
    };
    // bwrap needs the runner (threads, signal handlers): it starts the entry in-process.
    let bwrap = |_: &Request, _: Env| -> Infallible { cold(&single, exe, args, &env) };
    launch::run_entry(&dir, &name, &argv0, &rest, env.clone(), &bwrap)
}

/// Exec the runner out of the single file, copied into a memfd; where executing one is refused
/// (vm.memfd_noexec=2), into an unlinked file of its own in $TMPDIR or /tmp.
fn cold(single: &Single, exe: &[u8], args: &[Vec<u8>], env: &Env) -> ! {
    if !runner_fits(single) {
        die(&format!("{} is a damaged single-file bundle (its runner is not where its trailer says, or cut short); nothing was run. Rebuild or download it again", show(exe)), 126);
    }
    let mut env = env.clone();
    let mut handle = crate::path::decimal(single.fd as u64);
    handle.push(b':');
    handle.extend_from_slice(exe);
    env.set(PATH_VAR, &handle);
    if let Err(e) = sys::keep_on_exec(single.fd) {
        die(&format!("cannot start the runner of {} (fcntl: {}); nothing was run", show(exe), e), 126);
    }
    let copy = |fd: Result<i32, sys::Errno>| -> Result<i32, sys::Errno> {
        let fd = fd?;
        sys::send_range(fd, single.fd, single.runner, single.runner_len)?;
        Ok(fd)
    };
    let memfd = match sys::memfd_create(b"sidebundle-run", sys::MFD_CLOEXEC | sys::MFD_EXEC) {
        Err(sys::Errno(sys::EINVAL)) => sys::memfd_create(b"sidebundle-run", sys::MFD_CLOEXEC),
        other => other,
    };
    let in_memory = match copy(memfd) {
        Ok(fd) => {
            timing::flush("copy the runner into a memfd");
            sys::execve_fd(fd, args, &env.0)
        }
        Err(e) => e,
    };
    // An exec refused for another reason than a policy (a damaged runner, say): no second try.
    if memfd.is_ok() && !policy(in_memory) {
        die(&format!("cannot start the runner of {} from a memfd: {}; nothing was run", show(exe), in_memory), 126);
    }
    let tmp = nonempty(&env, b"TMPDIR").filter(|d| d.starts_with(b"/")).unwrap_or(b"/tmp").to_vec();
    let on_disk = match copy(sys::open_mode(&tmp, sys::O_TMPFILE | sys::O_RDWR | sys::O_CLOEXEC, 0o700)) {
        // Executing a file open for writing is refused (ETXTBSY): reopened read-only first.
        Ok(fd) => {
            let reopened = sys::open(&sys::fd_path(fd), sys::O_RDONLY | sys::O_CLOEXEC);
            sys::close(fd);
            match reopened {
                Ok(fd) => {
                    timing::flush("copy the runner into an unlinked file");
                    sys::execve_fd(fd, args, &env.0)
                }
                Err(e) => e,
            }
        }
        Err(e) => e,
    };
    let note = |error: sys::Errno, why: &str| if policy(error) { format!("{} ({})", error, why) } else { format!("{}", error) };
    die(
        &format!(
            "cannot start the runner of {}: from a memfd: {}; from an unlinked file in {}: {}; nothing was run. Set TMPDIR to a directory of yours where programs may run",
            show(exe),
            note(in_memory, "as where vm.memfd_noexec is 2"),
            show(&tmp),
            note(on_disk, "as on a file system mounted noexec")
        ),
        126,
    )
}

/// A refusal by policy (vm.memfd_noexec, noexec, a security module), not a fault of the copy.
fn policy(error: sys::Errno) -> bool {
    matches!(error, sys::Errno(sys::EACCES | sys::EPERM))
}

/// The runner's ELF header, program headers and every segment it loads lie within its extent.
/// A copy cut short (a damaged trailer) would otherwise fail in the kernel past exec's point of
/// no return: a SIGSEGV, not an error.
fn runner_fits(single: &Single) -> bool {
    const PT_LOAD: u32 = 1;
    let word = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let half = |b: &[u8], at: usize| u16::from_le_bytes(b[at..at + 2].try_into().unwrap()) as u64;
    let mut header = [0u8; 64];
    if single.runner_len < 64 || !sys::pread_exact(single.fd, &mut header, single.runner).unwrap_or(false) || &header[..5] != b"\x7fELF\x02" {
        return false;
    }
    let (at, size, count) = (word(&header, 0x20), half(&header, 0x36), half(&header, 0x38));
    if size < 56 || count > 256 || at.checked_add(size * count).is_none_or(|end| end > single.runner_len) {
        return false;
    }
    let mut table = vec![0u8; (size * count) as usize];
    if !sys::pread_exact(single.fd, &mut table, single.runner + at).unwrap_or(false) {
        return false;
    }
    table.chunks(size as usize).all(|ph| {
        u32::from_le_bytes(ph[..4].try_into().unwrap()) != PT_LOAD || word(ph, 8).checked_add(word(ph, 32)).is_some_and(|end| end <= single.runner_len)
    })
}

/// The extraction to run from, the entry and its arguments; None where the runner must decide.
fn warm(single: &Single, args: &[Vec<u8>], env: &Env) -> Option<(Vec<u8>, Vec<u8>, Vec<Vec<u8>>)> {
    if env.get(b"SIDEBUNDLE_VERIFY").is_some_and(|v| !v.is_empty() && v != b"0") {
        return None;
    }
    let uid = sys::getuid();
    let dir = join(&cache_dir(env, uid)?, &single.digest);
    if !installed(&dir, &single.digest, uid) {
        return None;
    }
    let (name, rest) = pick_entry(&dir, args)?;
    Some((dir, name, rest))
}

fn nonempty<'a>(env: &'a Env, key: &[u8]) -> Option<&'a [u8]> {
    env.get(key).filter(|v| !v.is_empty())
}

/// The runner's cache_dir: SIDEBUNDLE_CACHE_DIR, else the first safe of $XDG_CACHE_HOME and
/// ~/.cache, else ${TMPDIR:-/tmp}/sidebundle-UID; each under sidebundle/single. A candidate that
/// does not exist yet is passed over here, where the runner makes it, or passes over it when it
/// cannot (a missing ~/.cache under a HOME this user cannot write): the first that exists and is
/// safe is where the runner extracted, or the copy is not there yet and the runner is needed.
fn cache_dir(env: &Env, uid: u32) -> Option<Vec<u8>> {
    if let Some(dir) = nonempty(env, b"SIDEBUNDLE_CACHE_DIR") {
        return private_dir(dir, uid);
    }
    let xdg = nonempty(env, b"XDG_CACHE_HOME").map(|d| join(d, b"sidebundle/single"));
    let home = nonempty(env, b"HOME").filter(|h| sys::file_type(h, true) == Ok(sys::S_IFDIR)).map(|h| join(h, b".cache/sidebundle/single"));
    let tmp = nonempty(env, b"TMPDIR").filter(|d| d.starts_with(b"/")).unwrap_or(b"/tmp");
    let tmp = join(tmp, format!("sidebundle-{}/single", uid).as_bytes());
    [xdg, home, Some(tmp)].into_iter().flatten().find_map(|candidate| private_dir(&candidate, uid))
}

enum Step {
    Name(Vec<u8>),
    Up,
}

/// The steps of a path, last first (a stack).
fn steps(path: &[u8]) -> Vec<Step> {
    let mut out: Vec<Step> = path
        .split(|&b| b == b'/')
        .filter(|part| !part.is_empty() && *part != b".")
        .map(|part| if part == b".." { Step::Up } else { Step::Name(part.to_vec()) })
        .collect();
    out.reverse();
    out
}

/// The runner's private_dir, reading only: `path` is a directory this user owns that no one else
/// can write, and only root or this user can change a directory above it (or it is sticky);
/// links on the way are followed where root or this user owns them. Its path, links resolved.
fn private_dir(path: &[u8], uid: u32) -> Option<Vec<u8>> {
    let absolute = if path.starts_with(b"/") { path.to_vec() } else { join(&sys::getcwd()?, path) };
    let mut todo = steps(&absolute);
    let mut at: Vec<u8> = b"/".to_vec();
    check_above(&sys::lstat(&at).ok()?, uid)?;
    let mut links = 0;
    while let Some(step) = todo.pop() {
        let name = match step {
            Step::Up => {
                at = crate::path::parent(&at).unwrap_or_else(|| b"/".to_vec());
                continue;
            }
            Step::Name(name) => name,
        };
        let next = join(&at, &name);
        let meta = sys::lstat(&next).ok()?;
        if meta.kind() == sys::S_IFLNK {
            links += 1;
            if todo.is_empty() || (meta.uid != 0 && meta.uid != uid) || links > 40 {
                return None;
            }
            let target = sys::readlink(&next).ok()?;
            if target.starts_with(b"/") {
                at = b"/".to_vec();
            }
            todo.extend(steps(&target));
            continue;
        }
        if meta.kind() != sys::S_IFDIR {
            return None;
        }
        if !todo.is_empty() {
            check_above(&meta, uid)?;
        }
        at = next;
    }
    let meta = sys::lstat(&at).ok()?;
    if meta.uid != uid || meta.mode & 0o022 != 0 {
        return None;
    }
    Some(at)
}

fn check_above(meta: &sys::Meta, uid: u32) -> Option<()> {
    if (meta.uid != 0 && meta.uid != uid) || (meta.mode & 0o022 != 0 && meta.mode & 0o1000 == 0) {
        return None;
    }
    Some(())
}

/// The runner's `installed`: a directory of this user's that no one else can write, holding its
/// completion stamp (a regular file of this user's) naming this digest.
fn installed(dir: &[u8], digest: &[u8], uid: u32) -> bool {
    let ours = sys::lstat(dir).is_ok_and(|m| m.kind() == sys::S_IFDIR && m.uid == uid && m.mode & 0o022 == 0);
    let stamp = join(dir, STAMP);
    ours && sys::lstat(&stamp).is_ok_and(|m| m.kind() == sys::S_IFREG && m.uid == uid) && sys::read_file(&stamp).is_ok_and(|s| s.trim_ascii() == digest)
}

/// The runner's pick_entry: the lone entry; else the one named by argv[0], else by the first
/// argument. None when neither names one (the runner says which there are).
fn pick_entry(dir: &[u8], args: &[Vec<u8>]) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    let mut entries: Vec<Vec<u8>> = sys::read_dir(&join(dir, b"bin")).ok()?.into_iter().map(|(name, _)| name).collect();
    entries.sort();
    let rest = args.get(1..).unwrap_or_default();
    if entries.len() == 1 {
        return Some((entries.remove(0), rest.to_vec()));
    }
    let invoked = args.first().and_then(|a| file_name(a)).unwrap_or_default();
    if entries.iter().any(|e| e.as_slice() == invoked) {
        return Some((invoked.to_vec(), rest.to_vec()));
    }
    match rest.first() {
        Some(first) if entries.contains(first) => Some((first.clone(), rest[1..].to_vec())),
        _ => None,
    }
}
