//! The ptrace backend: a tracer loop over every thread and process of the traced tree (forks,
//! vforks, clones and execs followed with PTRACE_O_TRACE*; PTRACE_O_EXITKILL so nothing
//! survives the tracer). The seccomp filter stops tracees only on the syscalls that name a file
//! (seccomp.rs); at that stop we read the path, then let the syscall run to its exit stop to
//! learn whether it succeeded, and which file the new descriptor is. Signals are passed on,
//! group stops are honoured (PTRACE_LISTEN), and a tracee that exits by a signal is reported as
//! such.
//!
//! Each stop costs the tracee two context switches, so the loop avoids the ones it can: a
//! syscall on a path this trace already saw succeed (Python stats the same directories dozens
//! of times) is recorded at its entry, since its result could not change the record; paths are
//! read with process_vm_readv (one call, no /proc file to open) where the kernel allows it.
//!
//! Only children of this thread are waited for (__WNOTHREAD): in a Node process other threads
//! have children of their own that must not be reaped here.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::raw::{c_ulong, c_void};
use std::os::unix::fs::FileExt;
use std::ptr;
use std::sync::{Arc, Mutex};

use crate::record::{Op, Record, Seen};
use crate::sys::{self, pid_t, Regs};

const WNOTHREAD: i32 = 0x2000_0000;
const MAX_PATH: usize = 4096;
const PAGE: u64 = 4096;
const O_ACCMODE: u64 = 0o3;
const O_CREAT: u64 = 0o100;
const ENOSYS: i32 = 38;
const EPERM: i32 = 1;

pub const OPTIONS: u64 = sys::PTRACE_O_TRACESYSGOOD
    | sys::PTRACE_O_TRACEFORK
    | sys::PTRACE_O_TRACEVFORK
    | sys::PTRACE_O_TRACECLONE
    | sys::PTRACE_O_TRACEEXEC
    | sys::PTRACE_O_TRACESECCOMP
    | sys::PTRACE_O_EXITKILL;

#[repr(C)]
struct IoVec {
    base: *mut c_void,
    len: usize,
}

extern "C" {
    fn process_vm_readv(pid: pid_t, local: *const IoVec, liovcnt: c_ulong, remote: *const IoVec, riovcnt: c_ulong, flags: c_ulong) -> isize;
}

/// Attach to `pid` (stopped in our handshake, not yet executing the command).
pub fn seize(pid: pid_t) -> std::io::Result<()> {
    // SAFETY: PTRACE_SEIZE takes the options in `data`.
    let rc = unsafe { sys::ptrace(sys::PTRACE_SEIZE, pid, ptr::null_mut(), OPTIONS as *mut c_void) };
    if rc != 0 {
        return Err(sys::last_error());
    }
    Ok(())
}

struct Pending {
    path: String,
    op: Op,
    flags: u64,
    /// The syscall number: what its result says about the path depends on it.
    nr: i64,
}

/// The shared view of the traced tree: live pids (for timeouts and cancellation) and whether
/// the session is being stopped.
#[derive(Default)]
pub struct Tree {
    pub pids: HashSet<pid_t>,
    pub stopping: bool,
}

pub struct Outcome {
    pub exit: Option<(Option<i32>, Option<i32>)>, // (code, signal) of the root process
}

/// What this trace already learnt about paths, so that a repeated syscall on one needs no exit
/// stop. The record keeps per path the set of operations, whether any succeeded and the file
/// the kernel opened: once a path is found, a stat of it adds only its operation, and once it
/// was opened, another open of it would resolve to the same file.
#[derive(Default)]
struct Known {
    found: HashSet<String>,
    opened: HashMap<String, (Op, Option<String>)>,
}

/// At a traced syscall's entry: nothing to do, a record made now, or an exit stop to wait for.
enum Entry {
    Ignore,
    Recorded,
    Follow(Pending),
}

/// A failed syscall that still shows its path exists: readlink of a file that is not a symbolic
/// link fails with EINVAL (as does a buffer size of 0 or less, before any lookup).
fn exists_despite(nr: i64, bufsiz: u64, result: i64) -> bool {
    const EINVAL: i64 = 22;
    matches!(nr, sys::SYS_READLINK | sys::SYS_READLINKAT) && result == -EINVAL && (bufsiz as i32) > 0
}

/// The tracer's per-session state besides the process bookkeeping.
struct Tracer<'a> {
    record: &'a Arc<Mutex<Record>>,
    known: Known,
    memory: Memory,
}

/// Run the tracer loop until every traced process is gone.
pub fn run(root: pid_t, seccomp: bool, tree: &Arc<Mutex<Tree>>, record: &Arc<Mutex<Record>>, on_root_exit: &dyn Fn()) -> Outcome {
    let mut pending: HashMap<pid_t, Pending> = HashMap::new();
    let mut live: HashSet<pid_t> = HashSet::new();
    live.insert(root);
    tree.lock().map(|mut t| t.pids.insert(root)).ok();
    let mut outcome = Outcome { exit: None };
    let mut tracer = Tracer { record, known: Known::default(), memory: Memory::new() };
    // Without seccomp, stop at every syscall entry and exit (slow, but complete).
    let resume = if seccomp { sys::PTRACE_CONT } else { sys::PTRACE_SYSCALL };
    let mut in_syscall: HashSet<pid_t> = HashSet::new();

    while !live.is_empty() {
        let mut status: i32 = 0;
        // SAFETY: waitpid on our own children/tracees.
        let pid = unsafe { sys::waitpid(-1, &mut status, sys::WALL | WNOTHREAD) };
        if pid < 0 {
            match sys::errno() {
                4 => continue, // EINTR
                _ => break,    // ECHILD: nothing left
            }
        }
        let stopping = tree.lock().map(|t| t.stopping).unwrap_or(false);
        if !live.contains(&pid) {
            // A new tracee can report before its parent's fork event: adopt it.
            live.insert(pid);
            tree.lock().map(|mut t| t.pids.insert(pid)).ok();
        }
        if stopping {
            // SAFETY: killing a tracee of ours.
            unsafe { sys::kill(pid, sys::SIGKILL) };
        }
        let exited = status & 0x7f == 0;
        let signaled = ((status & 0x7f) + 1) as i8 >> 1 > 0;
        if exited || signaled {
            live.remove(&pid);
            pending.remove(&pid);
            tree.lock().map(|mut t| t.pids.remove(&pid)).ok();
            if pid == root {
                outcome.exit = Some(if exited { (Some((status >> 8) & 0xff), None) } else { (None, Some(status & 0x7f)) });
                on_root_exit();
            }
            continue;
        }
        // Stopped.
        let sig = (status >> 8) & 0xff;
        let event = (status >> 16) & 0xff;
        let mut inject = 0;
        let mut how = resume;
        match event {
            sys::PTRACE_EVENT_SECCOMP => {
                if let Entry::Follow(p) = tracer.entry(pid) {
                    pending.insert(pid, p);
                    how = sys::PTRACE_SYSCALL; // to its exit stop
                }
            }
            sys::PTRACE_EVENT_EXEC => {
                // The exec succeeded. A non-leader thread that executed takes over the leader's
                // pid: its pending record moves with it.
                let former = event_message(pid) as pid_t;
                let p = pending.remove(&former).or_else(|| pending.remove(&pid));
                if former != pid {
                    live.remove(&former);
                    tree.lock().map(|mut t| t.pids.remove(&former)).ok();
                    if in_syscall.remove(&former) {
                        in_syscall.insert(pid); // the execve's exit stop comes under the new pid
                    }
                }
                if let Some(p) = p {
                    tracer.add(p.path, p.op, true, None);
                }
            }
            sys::PTRACE_EVENT_FORK | sys::PTRACE_EVENT_VFORK | sys::PTRACE_EVENT_CLONE => {
                let child = event_message(pid) as pid_t;
                live.insert(child);
                tree.lock().map(|mut t| t.pids.insert(child)).ok();
            }
            sys::PTRACE_EVENT_STOP => {
                // Group stop (a stop signal) or the initial stop of an auto-attached tracee.
                if matches!(sig, sys::SIGSTOP | sys::SIGTSTP | sys::SIGTTIN | sys::SIGTTOU) && !stopping {
                    how = sys::PTRACE_LISTEN;
                }
            }
            0 if sig == (sys::SIGTRAP | 0x80) => {
                // A syscall stop: the exit of a syscall we chose to follow (or, without
                // seccomp, any entry or exit).
                if seccomp || in_syscall.remove(&pid) {
                    if let Some(p) = pending.remove(&pid) {
                        tracer.exit(pid, p);
                    }
                } else {
                    in_syscall.insert(pid);
                    if let Entry::Follow(p) = tracer.entry(pid) {
                        pending.insert(pid, p);
                    }
                }
            }
            0 => {
                // A signal for the tracee: deliver it.
                inject = sig;
            }
            _ => {}
        }
        if stopping {
            continue; // already killed; its exit follows
        }
        // SAFETY: restarting a stopped tracee of ours.
        unsafe { sys::ptrace(how, pid, ptr::null_mut(), inject as usize as *mut c_void) };
    }
    outcome
}

fn event_message(pid: pid_t) -> u64 {
    let mut msg: u64 = 0;
    // SAFETY: GETEVENTMSG writes one unsigned long.
    unsafe { sys::ptrace(sys::PTRACE_GETEVENTMSG, pid, ptr::null_mut(), &mut msg as *mut u64 as *mut c_void) };
    msg
}

fn regs(pid: pid_t) -> Option<Regs> {
    let mut r = Regs::default();
    // SAFETY: GETREGS fills a user_regs_struct.
    let rc = unsafe { sys::ptrace(sys::PTRACE_GETREGS, pid, ptr::null_mut(), &mut r as *mut Regs as *mut c_void) };
    if rc == 0 {
        Some(r)
    } else {
        None
    }
}

impl Tracer<'_> {
    /// At a traced syscall's entry: which path it names, resolved against the cwd or the dirfd;
    /// recorded now when its result could not change the record.
    fn entry(&mut self, pid: pid_t) -> Entry {
        let Some(r) = regs(pid) else { return Entry::Ignore };
        let nr = r.orig_rax as i64;
        let (dirfd, addr, flags, op) = match nr {
            sys::SYS_OPEN => (sys::AT_FDCWD, r.rdi, r.rsi, Op::Open),
            sys::SYS_OPENAT => (r.rdi as i32 as i64, r.rsi, r.rdx, Op::Open),
            sys::SYS_OPENAT2 => {
                let flags = self.memory.read_u64(pid, r.rdx).unwrap_or(0); // struct open_how { u64 flags; ... }
                (r.rdi as i32 as i64, r.rsi, flags, Op::Open)
            }
            sys::SYS_EXECVE => (sys::AT_FDCWD, r.rdi, 0, Op::Exec),
            sys::SYS_EXECVEAT => (r.rdi as i32 as i64, r.rsi, 0, Op::Exec),
            // readlink's buffer size rides in `flags` (see exists_despite).
            sys::SYS_READLINK => (sys::AT_FDCWD, r.rdi, r.rdx, Op::Stat),
            sys::SYS_READLINKAT => (r.rdi as i32 as i64, r.rsi, r.r10, Op::Stat),
            sys::SYS_STAT | sys::SYS_LSTAT | sys::SYS_ACCESS => (sys::AT_FDCWD, r.rdi, 0, Op::Stat),
            sys::SYS_NEWFSTATAT | sys::SYS_STATX | sys::SYS_FACCESSAT | sys::SYS_FACCESSAT2 => (r.rdi as i32 as i64, r.rsi, 0, Op::Stat),
            _ => return Entry::Ignore,
        };
        let Some(name) = self.memory.read_string(pid, addr) else { return Entry::Ignore };
        if name.is_empty() {
            return Entry::Ignore; // AT_EMPTY_PATH: the descriptor itself, already recorded when opened
        }
        let op = if op == Op::Open && flags & sys::O_DIRECTORY != 0 { Op::Opendir } else { op };
        let path = absolute(pid, dirfd, &name);
        let known = match op {
            Op::Stat if self.known.found.contains(&path) => Some((Op::Stat, None)),
            // The same open as before, or a plain one that may open what was a directory.
            Op::Open | Op::Opendir => self.known.opened.get(&path).filter(|(was, _)| *was == op || (op == Op::Open && may_be_dir(flags))).cloned(),
            _ => None,
        };
        match known {
            Some((op, resolved)) => {
                self.record.lock().map(|mut rec| rec.add(path, op, true, resolved, Seen::Ptrace)).ok();
                Entry::Recorded
            }
            None => Entry::Follow(Pending { path, op, flags, nr }),
        }
    }

    /// At the exit stop of a followed syscall: did it succeed, and which file did it open.
    fn exit(&mut self, pid: pid_t, p: Pending) {
        let Some(r) = regs(pid) else { return };
        let result = r.rax as i64;
        let found = result >= 0 || exists_despite(p.nr, p.flags, result);
        let opened = result >= 0 && matches!(p.op, Op::Open | Op::Opendir);
        let resolved = if opened { std::fs::read_link(format!("/proc/{}/fd/{}", pid, result)).ok() } else { None };
        let resolved = resolved.map(|t| t.to_string_lossy().into_owned());
        // A plain open that opened a directory lists it too: ask the descriptor itself, not
        // its path (which may name another file in our mount namespace).
        let op = if opened && p.op == Op::Open && may_be_dir(p.flags) && std::fs::metadata(format!("/proc/{}/fd/{}", pid, result)).map(|m| m.is_dir()).unwrap_or(false) {
            Op::Opendir
        } else {
            p.op
        };
        if opened {
            self.known.opened.insert(p.path.clone(), (op, resolved.clone()));
        }
        self.add(p.path, op, found, resolved);
    }

    /// Record what a syscall's result showed; a path found is known from now on, so a repeat
    /// of a lookup on it needs no exit stop.
    fn add(&mut self, path: String, op: Op, found: bool, resolved: Option<String>) {
        if found {
            self.known.found.insert(path.clone());
        }
        self.record.lock().map(|mut rec| rec.add(path, op, found, resolved, Seen::Ptrace)).ok();
    }
}

/// Whether an open with these flags can open a directory: one for writing or creating fails
/// with EISDIR.
fn may_be_dir(flags: u64) -> bool {
    flags & (O_ACCMODE | O_CREAT) == 0
}

/// A path as the process named it, made absolute with its cwd or directory descriptor.
fn absolute(pid: pid_t, dirfd: i64, name: &str) -> String {
    if name.starts_with('/') {
        return name.to_owned();
    }
    let base = if dirfd == sys::AT_FDCWD { format!("/proc/{}/cwd", pid) } else { format!("/proc/{}/fd/{}", pid, dirfd) };
    match std::fs::read_link(base) {
        Ok(dir) => {
            let dir = dir.to_string_lossy();
            let trimmed = name.strip_prefix("./").unwrap_or(name);
            if dir == "/" {
                format!("/{}", trimmed)
            } else {
                format!("{}/{}", dir, trimmed)
            }
        }
        Err(_) => name.to_owned(),
    }
}

/// Reads a tracee's memory: with process_vm_readv (one syscall, nothing to open), or through
/// /proc/PID/mem where a policy refuses it (a container's seccomp profile may).
struct Memory {
    vm_readv: bool,
}

impl Memory {
    fn new() -> Memory {
        Memory { vm_readv: true }
    }

    /// Fill `buf` from `addr`; callers keep a read within one page, so that a readable string
    /// just before an unmapped page is read whole. None when the memory is not readable.
    fn read(&mut self, pid: pid_t, addr: u64, buf: &mut [u8], mem: &mut Option<File>) -> Option<usize> {
        if self.vm_readv {
            let local = IoVec { base: buf.as_mut_ptr() as *mut c_void, len: buf.len() };
            let remote = IoVec { base: addr as *mut c_void, len: buf.len() };
            // SAFETY: `local` is our own buffer of that length; the kernel checks `remote`.
            let n = unsafe { process_vm_readv(pid, &local, 1, &remote, 1, 0) };
            if n >= 0 {
                return Some(n as usize);
            }
            match sys::errno() {
                ENOSYS => self.vm_readv = false, // never here: /proc/PID/mem from now on
                EPERM => {}                      // refused for this tracee: /proc/PID/mem this time
                _ => return None,
            }
        }
        if mem.is_none() {
            *mem = Some(File::open(format!("/proc/{}/mem", pid)).ok()?);
        }
        mem.as_ref()?.read_at(buf, addr).ok()
    }

    fn read_string(&mut self, pid: pid_t, addr: u64) -> Option<String> {
        let mut out: Vec<u8> = Vec::new();
        let mut buf = [0u8; PAGE as usize];
        let mut mem = None;
        let mut at = addr;
        while out.len() < MAX_PATH {
            let len = ((PAGE - at % PAGE) as usize).min(MAX_PATH + 1 - out.len());
            let n = match self.read(pid, at, &mut buf[..len], &mut mem)? {
                0 => break,
                n => n,
            };
            if let Some(end) = buf[..n].iter().position(|&b| b == 0) {
                out.extend_from_slice(&buf[..end]);
                return Some(String::from_utf8_lossy(&out).into_owned());
            }
            out.extend_from_slice(&buf[..n]);
            at += n as u64;
        }
        out.truncate(MAX_PATH);
        Some(String::from_utf8_lossy(&out).into_owned())
    }

    fn read_u64(&mut self, pid: pid_t, addr: u64) -> Option<u64> {
        let mut buf = [0u8; 8];
        let mut mem = None;
        let first = ((PAGE - addr % PAGE) as usize).min(8);
        if self.read(pid, addr, &mut buf[..first], &mut mem)? != first {
            return None;
        }
        if first < 8 && self.read(pid, addr + first as u64, &mut buf[first..], &mut mem)? != 8 - first {
            return None;
        }
        Some(u64::from_le_bytes(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    extern "C" {
        fn mmap(addr: *mut c_void, len: usize, prot: i32, flags: i32, fd: i32, off: i64) -> *mut c_void;
        fn mprotect(addr: *mut c_void, len: usize, prot: i32) -> i32;
        fn munmap(addr: *mut c_void, len: usize) -> i32;
    }
    const PROT_NONE: i32 = 0;
    const PROT_RW: i32 = 3;
    const MAP_PRIVATE_ANONYMOUS: i32 = 0x22;

    /// Three pages of our own memory: two readable, then one that is not.
    struct Pages(*mut u8);

    impl Pages {
        fn new() -> Pages {
            // SAFETY: a fresh anonymous mapping, the last page then made unreadable.
            unsafe {
                let p = mmap(ptr::null_mut(), 3 * PAGE as usize, PROT_RW, MAP_PRIVATE_ANONYMOUS, -1, 0);
                assert_ne!(p as isize, -1);
                assert_eq!(mprotect((p as *mut u8).add(2 * PAGE as usize) as *mut c_void, PAGE as usize, PROT_NONE), 0);
                Pages(p as *mut u8)
            }
        }
        /// Write `bytes` at `offset` and return their address.
        fn put(&self, offset: usize, bytes: &[u8]) -> u64 {
            assert!(offset + bytes.len() <= 2 * PAGE as usize);
            // SAFETY: within the two readable pages.
            unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), self.0.add(offset), bytes.len()) };
            self.0 as u64 + offset as u64
        }
    }

    impl Drop for Pages {
        fn drop(&mut self) {
            // SAFETY: our own mapping.
            unsafe { munmap(self.0 as *mut c_void, 3 * PAGE as usize) };
        }
    }

    fn readers() -> [(&'static str, Memory); 2] {
        [("process_vm_readv", Memory { vm_readv: true }), ("/proc/PID/mem", Memory { vm_readv: false })]
    }

    #[test]
    fn reads_a_path_that_crosses_a_page_boundary() {
        let pages = Pages::new();
        let path = b"/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so\0";
        let addr = pages.put(PAGE as usize - 20, path);
        for (how, mut memory) in readers() {
            let text = memory.read_string(unsafe { sys::getpid() }, addr);
            assert_eq!(text.as_deref(), Some("/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so"), "{}", how);
        }
    }

    #[test]
    fn reads_a_path_that_ends_where_unreadable_memory_starts() {
        let pages = Pages::new();
        let addr = pages.put(2 * PAGE as usize - 11, b"/etc/hosts\0");
        for (how, mut memory) in readers() {
            assert_eq!(memory.read_string(unsafe { sys::getpid() }, addr).as_deref(), Some("/etc/hosts"), "{}", how);
        }
    }

    #[test]
    fn memory_the_tracee_cannot_read_gives_no_path() {
        // (/proc/PID/mem reads a PROT_NONE page all the same: FOLL_FORCE.)
        let pages = Pages::new();
        let unterminated = pages.put(2 * PAGE as usize - 4, b"/etc");
        let pid = unsafe { sys::getpid() };
        let mut memory = Memory::new();
        assert_eq!(memory.read_string(pid, unterminated), None);
        assert_eq!(memory.read_string(pid, pages.0 as u64 + 2 * PAGE), None);
        assert_eq!(memory.read_u64(pid, pages.0 as u64 + 2 * PAGE - 4), None);
        assert!(memory.vm_readv, "a fault is no reason to give up process_vm_readv");
    }

    #[test]
    fn reads_a_u64_that_crosses_a_page_boundary() {
        let pages = Pages::new();
        let addr = pages.put(PAGE as usize - 3, &0x0123_4567_89ab_cdefu64.to_le_bytes());
        for (how, mut memory) in readers() {
            assert_eq!(memory.read_u64(unsafe { sys::getpid() }, addr), Some(0x0123_4567_89ab_cdef), "{}", how);
        }
    }

    /// Trace `argv` with this loop, with the seccomp filter or stopping at every syscall.
    fn traced(argv: &[&str], seccomp: bool) -> (Option<(Option<i32>, Option<i32>)>, String) {
        use crate::spawn::{self, ChildStatus, SpawnSpec, Stdio};
        let spec = SpawnSpec {
            argv: argv.iter().map(|a| a.to_string()).collect(),
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            cwd: Some("/".into()),
            stdout: Stdio::Null,
            new_mount_ns: false,
            seccomp,
        };
        let mut child = spawn::spawn(&spec).expect("spawn");
        seize(child.pid).expect("seize");
        let filtered = child.release() == ChildStatus::SeccompOn;
        assert_eq!(filtered, seccomp);
        let (tree, record) = (Arc::new(Mutex::new(Tree::default())), Arc::new(Mutex::new(Record::default())));
        let outcome = run(child.pid, filtered, &tree, &record, &|| {});
        let json = crate::json::to_string(&record.lock().unwrap().to_json());
        (outcome.exit, json)
    }

    #[test]
    fn the_filtered_loop_records_what_stopping_at_every_syscall_records() {
        // Repeats (recorded at the entry when filtered), a failed lookup, a relative open, an
        // exec; the unfiltered loop sees every syscall, and records what it sees the same way.
        let script = "cat /etc/hostname; cat /etc/hostname; cd /etc && cat ./hostname os-release; ls -d /usr/lib; test -e /sb-missing; readlink /proc/self/exe; readlink /etc/debian_version; true";
        let (exit, filtered) = traced(&["/bin/sh", "-c", script], true);
        assert_eq!(exit, Some((Some(0), None)));
        let (exit, every) = traced(&["/bin/sh", "-c", script], false);
        assert_eq!(exit, Some((Some(0), None)));
        // Without the filter nothing stops the command's own execve before the loop resumes it
        // with PTRACE_SYSCALL: only the filtered loop sees that exec (as before these changes).
        let root_exec = r#"{"found":true,"ops":["exec"],"path":"/bin/sh","seenBy":["ptrace"]},"#;
        assert!(filtered.contains(root_exec), "{}", filtered);
        assert_eq!(filtered.replacen(root_exec, "", 1), every);
        for needle in [
            r#"{"found":true,"ops":["open"],"path":"/etc/hostname","#,
            r#"{"found":true,"ops":["open"],"path":"/etc/os-release","#,
            r#"{"found":false,"ops":["stat"],"path":"/sb-missing","#,
            r#"{"found":true,"ops":["exec","stat"],"path":"/usr/bin/readlink","#,
            r#"{"found":true,"ops":["stat"],"path":"/proc/self/exe","#,
            // Not a symbolic link: readlink fails with EINVAL, but the file is there.
            r#"{"found":true,"ops":["stat"],"path":"/etc/debian_version","#,
        ] {
            assert!(filtered.contains(needle), "{} not in {}", needle, filtered);
        }
    }

    #[test]
    fn a_path_is_cut_at_max_path() {
        let pages = Pages::new();
        let mut long = vec![b'a'; 2 * PAGE as usize - 1];
        long[0] = b'/';
        let addr = pages.put(0, &long);
        for (how, mut memory) in readers() {
            assert_eq!(memory.read_string(unsafe { sys::getpid() }, addr).map(|s| s.len()), Some(MAX_PATH), "{}", how);
        }
    }
}
