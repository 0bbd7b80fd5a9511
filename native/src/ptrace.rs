//! The ptrace backend: a tracer loop over every thread and process of the traced tree (forks,
//! vforks, clones and execs followed with PTRACE_O_TRACE*; PTRACE_O_EXITKILL so nothing
//! survives the tracer). The seccomp filter stops tracees only on open/openat/openat2/execve/
//! execveat; at that stop we read the path, then let the syscall run to its exit stop to learn
//! whether it succeeded, and which file the new descriptor is. Signals are passed on, group
//! stops are honoured (PTRACE_LISTEN), and a tracee that exits by a signal is reported as such.
//!
//! Only children of this thread are waited for (__WNOTHREAD): in a Node process other threads
//! have children of their own that must not be reaped here.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::raw::c_void;
use std::os::unix::fs::FileExt;
use std::ptr;
use std::sync::{Arc, Mutex};

use crate::record::{Op, Record, Seen};
use crate::sys::{self, pid_t, Regs};

const WNOTHREAD: i32 = 0x2000_0000;
const MAX_PATH: usize = 4096;

pub const OPTIONS: u64 = sys::PTRACE_O_TRACESYSGOOD
    | sys::PTRACE_O_TRACEFORK
    | sys::PTRACE_O_TRACEVFORK
    | sys::PTRACE_O_TRACECLONE
    | sys::PTRACE_O_TRACEEXEC
    | sys::PTRACE_O_TRACESECCOMP
    | sys::PTRACE_O_EXITKILL;

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

/// Run the tracer loop until every traced process is gone.
pub fn run(root: pid_t, seccomp: bool, tree: &Arc<Mutex<Tree>>, record: &Arc<Mutex<Record>>, on_root_exit: &dyn Fn()) -> Outcome {
    let mut pending: HashMap<pid_t, Pending> = HashMap::new();
    let mut live: HashSet<pid_t> = HashSet::new();
    live.insert(root);
    tree.lock().map(|mut t| t.pids.insert(root)).ok();
    let mut outcome = Outcome { exit: None };
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
                if let Some(p) = syscall_entry(pid) {
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
                    record.lock().map(|mut r| r.add(p.path, p.op, true, None, Seen::Ptrace)).ok();
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
                if seccomp {
                    if let Some(p) = pending.remove(&pid) {
                        syscall_exit(pid, p, record);
                    }
                } else if in_syscall.remove(&pid) {
                    if let Some(p) = pending.remove(&pid) {
                        syscall_exit(pid, p, record);
                    }
                } else {
                    in_syscall.insert(pid);
                    if let Some(p) = syscall_entry(pid) {
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

/// At a traced syscall's entry: which path it names, resolved against the cwd or the dirfd.
fn syscall_entry(pid: pid_t) -> Option<Pending> {
    let r = regs(pid)?;
    let nr = r.orig_rax as i64;
    let (dirfd, addr, flags, op) = match nr {
        sys::SYS_OPEN => (sys::AT_FDCWD, r.rdi, r.rsi, Op::Open),
        sys::SYS_OPENAT => (r.rdi as i32 as i64, r.rsi, r.rdx, Op::Open),
        sys::SYS_OPENAT2 => {
            let flags = read_u64(pid, r.rdx).unwrap_or(0); // struct open_how { u64 flags; ... }
            (r.rdi as i32 as i64, r.rsi, flags, Op::Open)
        }
        sys::SYS_EXECVE => (sys::AT_FDCWD, r.rdi, 0, Op::Exec),
        sys::SYS_EXECVEAT => (r.rdi as i32 as i64, r.rsi, 0, Op::Exec),
        sys::SYS_STAT | sys::SYS_LSTAT | sys::SYS_ACCESS | sys::SYS_READLINK => (sys::AT_FDCWD, r.rdi, 0, Op::Stat),
        sys::SYS_NEWFSTATAT | sys::SYS_STATX | sys::SYS_FACCESSAT | sys::SYS_FACCESSAT2 | sys::SYS_READLINKAT => {
            (r.rdi as i32 as i64, r.rsi, 0, Op::Stat)
        }
        _ => return None,
    };
    let name = read_string(pid, addr)?;
    if name.is_empty() {
        return None; // AT_EMPTY_PATH: the descriptor itself, already recorded when opened
    }
    let op = if op == Op::Open && flags & sys::O_DIRECTORY != 0 { Op::Opendir } else { op };
    Some(Pending { path: absolute(pid, dirfd, &name), op })
}

fn syscall_exit(pid: pid_t, p: Pending, record: &Arc<Mutex<Record>>) {
    let Some(r) = regs(pid) else { return };
    let result = r.rax as i64;
    let found = result >= 0;
    let opened = found && matches!(p.op, Op::Open | Op::Opendir);
    let resolved = if opened { std::fs::read_link(format!("/proc/{}/fd/{}", pid, result)).ok() } else { None };
    let op = match (&resolved, p.op) {
        (Some(target), Op::Open) if std::fs::metadata(target).map(|m| m.is_dir()).unwrap_or(false) => Op::Opendir,
        _ => p.op,
    };
    let resolved = resolved.map(|t| t.to_string_lossy().into_owned());
    record.lock().map(|mut rec| rec.add(p.path, op, found, resolved, Seen::Ptrace)).ok();
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

fn mem(pid: pid_t) -> Option<File> {
    File::open(format!("/proc/{}/mem", pid)).ok()
}

fn read_string(pid: pid_t, addr: u64) -> Option<String> {
    let file = mem(pid)?;
    let mut out = Vec::with_capacity(128);
    let mut buf = [0u8; 256];
    let mut at = addr;
    while out.len() < MAX_PATH {
        let n = file.read_at(&mut buf, at).ok()?;
        if n == 0 {
            break;
        }
        if let Some(end) = buf[..n].iter().position(|&b| b == 0) {
            out.extend_from_slice(&buf[..end]);
            return Some(String::from_utf8_lossy(&out).into_owned());
        }
        out.extend_from_slice(&buf[..n]);
        at += n as u64;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

fn read_u64(pid: pid_t, addr: u64) -> Option<u64> {
    let mut buf = [0u8; 8];
    mem(pid)?.read_exact_at(&mut buf, addr).ok()?;
    Some(u64::from_le_bytes(buf))
}
