//! bwrap mode: the root plan.rs describes (binds only: bubblewrap before 0.11 has no overlays,
//! and one plan keeps every bwrap alike), built by bubblewrap's arguments.
//!
//! bwrap neither forwards signals nor keeps a death by signal (it exits 128+n), so the runner
//! supervises on both sides: outside, it runs bwrap as a child, learns the pid inside from
//! --info-fd and forwards signals to it; inside, `sidebundle-run supervise FD PATH ARGV0 ARGS`
//! runs the program as its child, forwards signals to it, and writes the program's wait status
//! to FD (a pipe out of the sandbox), so the launcher leaves exactly as the program did.

use std::ffi::{OsStr, OsString};
use std::os::raw::{c_int, c_void};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};

use sidebundle_nolibc::launch::Request;
use sidebundle_nolibc::plan::{self, Inputs, Place};

use super::die;
use crate::sys;

/// Signals a process may send the launcher that the program should get instead.
const FORWARDED: [c_int; 6] = [sys::SIGHUP, sys::SIGINT, sys::SIGQUIT, sys::SIGUSR1, sys::SIGUSR2, sys::SIGTERM];

pub fn run_bwrap(request: &Request) -> std::convert::Infallible {
    let payload_at = Path::new(OsStr::from_bytes(&request.payload));
    let payload = std::fs::canonicalize(payload_at).unwrap_or_else(|e| die(format!("the payload {} is missing: {}", payload_at.display(), e), 126));
    let cwd = std::env::current_dir().ok();
    // The bundle's own runner (not /proc/self/exe: that may be a single file with a payload).
    let exe = Path::new(OsStr::from_bytes(&request.bundle)).join("runtime/sidebundle-run");
    let bwrap = find_on_path("bwrap").unwrap_or_else(|| die("run mode bwrap needs bubblewrap (`bwrap` on PATH); install it, or use SIDEBUNDLE_RUN_MODE=ns or auto".to_owned(), 127));
    let no_overlay = |_: &[u8]| false;
    let (payload, cwd_bytes) = (payload.into_os_string().into_vec(), cwd.as_ref().map(|d| d.as_os_str().as_bytes()));
    let places = plan::plan_root(&Inputs { payload: &payload, target: b"/", cwd: cwd_bytes, mounts: &[], overlay: &no_overlay });
    let mut argv: Vec<OsString> = vec!["bwrap".into()];
    argv.extend(place_args(&places));
    let runner = OsStr::new("/.sidebundle-run");
    argv.extend(["--ro-bind".into(), exe.into_os_string(), runner.to_owned()]);
    if let Some(dir) = &cwd {
        argv.extend(["--chdir".into(), dir.clone().into_os_string()]);
    }
    let status = Pipe::new(true, true).unwrap_or_else(|e| die(format!("cannot start bwrap: {}", e), 126));
    argv.extend(["--".into(), runner.to_owned(), "supervise".into(), status.write.to_string().into()]);
    argv.extend(request.spec.root_cmd.iter().chain(&request.user_args).map(|w| OsString::from_vec(w.clone())));
    supervise_bwrap(&bwrap, argv, status)
}

fn place_args(places: &[Place]) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    let os = |bytes: &Vec<u8>| OsString::from_vec(bytes.clone());
    for place in places {
        match place {
            Place::Dir { at } => args.extend(["--dir".into(), os(at)]),
            Place::Symlink { link, at } => args.extend(["--symlink".into(), os(link), os(at)]),
            Place::Bind { source, at, readonly, device, .. } => {
                let flag = if *device { "--dev-bind-try" } else if *readonly { "--ro-bind-try" } else { "--bind-try" };
                args.extend([flag.into(), os(source), os(at)]);
            }
            // Never planned for bwrap (overlays are off above).
            Place::Overlay { .. } => {}
        }
    }
    args
}

/// A pipe; the write end is inherited across exec when `inherit_write`, the read end never.
/// A non-blocking read end reads what is there and stops.
struct Pipe {
    read: c_int,
    write: c_int,
}

impl Pipe {
    fn new(inherit_write: bool, nonblocking: bool) -> Result<Pipe, std::io::Error> {
        let mut fds = [0 as c_int; 2];
        let flags = sys::O_CLOEXEC | if nonblocking { sys::O_NONBLOCK } else { 0 };
        // SAFETY: pipe2 into a two-element array; fcntl on the descriptor it returned.
        unsafe {
            if sys::pipe2(fds.as_mut_ptr(), flags) != 0 {
                return Err(sys::last_error());
            }
            if inherit_write {
                sys::fcntl(fds[1], sys::F_SETFD, 0);
            }
        }
        Ok(Pipe { read: fds[0], write: fds[1] })
    }

    /// Everything written until every write end is closed.
    fn read_all(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            // SAFETY: reading into a local buffer.
            let n = unsafe { sys::read(self.read, buf.as_mut_ptr() as *mut c_void, buf.len()) };
            if n > 0 {
                out.extend_from_slice(&buf[..n as usize]);
            } else if n == 0 || sys::errno() != 4 {
                return out;
            }
        }
    }
}

/// The pid signals are forwarded to: bwrap's sandboxed child outside, the program inside.
static TARGET: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward(sig: c_int, info: *mut sys::SigInfo, _context: *mut c_void) {
    // Terminal signals (Ctrl+C, Ctrl+\) reach the whole foreground group, the program too:
    // forward only what a process sent to us (kill, a supervisor's SIGTERM).
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let code = if info.is_null() { 0 } else { unsafe { (*info).si_code } };
    let pid = TARGET.load(Ordering::SeqCst);
    if code <= 0 && pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { sys::kill(pid, sig) };
    }
}

fn install_forwarding() {
    for sig in FORWARDED {
        // SAFETY: a zeroed sigaction with our SA_SIGINFO handler.
        unsafe {
            let mut action: sys::SigAction = std::mem::zeroed();
            action.handler = forward as *const () as usize;
            action.flags = sys::SA_SIGINFO | sys::SA_RESTART;
            sys::sigaction(sig, &action, ptr::null_mut());
        }
    }
}

fn mask_forwarded(how: c_int) {
    let mut set = [0u64; 16];
    for sig in FORWARDED {
        set[0] |= 1 << (sig - 1);
    }
    // SAFETY: a full-size sigset.
    unsafe { sys::sigprocmask(how, set.as_ptr(), ptr::null_mut()) };
}

/// Run bwrap as our child, forward signals to the program, and leave as the program did.
fn supervise_bwrap(bwrap: &Path, mut argv: Vec<OsString>, status: Pipe) -> ! {
    let info = Pipe::new(true, false).unwrap_or_else(|e| die(format!("cannot start bwrap: {}", e), 126));
    argv.splice(1..1, ["--info-fd".into(), OsString::from(info.write.to_string())]);
    // SAFETY: fork in a single-threaded process; the child only execs or exits.
    let pid = unsafe { sys::fork() };
    if pid < 0 {
        die(format!("cannot start bwrap: {}", sys::last_error()), 126);
    }
    if pid == 0 {
        let error = sys::exec_argv(bwrap.as_os_str(), &argv);
        eprintln!("sidebundle: cannot run {}: {}", bwrap.display(), error);
        // SAFETY: leave the forked child without running the parent's destructors.
        unsafe { sys::_exit(127) };
    }
    // SAFETY: closing our copies of the write ends: EOF once bwrap and the program are done.
    unsafe {
        sys::close(info.write);
        sys::close(status.write);
    }
    TARGET.store(pid, Ordering::SeqCst);
    install_forwarding();
    // {"child-pid": N} on the info fd, then EOF when bwrap execs the program.
    let text = String::from_utf8_lossy(&info.read_all()).into_owned();
    if let Some(child) = text.split("\"child-pid\":").nth(1).and_then(|rest| rest.trim_start().split(|c: char| !c.is_ascii_digit()).next()).and_then(|n| n.parse::<i32>().ok()) {
        TARGET.store(child, Ordering::SeqCst);
    }
    let bwrap_status = wait_for(pid).unwrap_or_else(|e| die(format!("lost bwrap: {}", e), 126));
    // The program's own status when the supervisor inside reported one (bwrap failing before
    // it ran leaves the pipe empty: then bwrap's).
    let reported = String::from_utf8_lossy(&status.read_all()).trim().parse::<c_int>().ok();
    leave_as(reported.unwrap_or(bwrap_status))
}

fn wait_for(pid: c_int) -> Result<c_int, std::io::Error> {
    let mut status: c_int = 0;
    loop {
        // SAFETY: waiting for our own child.
        let r = unsafe { sys::waitpid(pid, &mut status, 0) };
        if r == pid {
            return Ok(status);
        }
        if r < 0 && sys::errno() != 4 {
            return Err(sys::last_error());
        }
    }
}

/// Exit with a child's exit code, or die of the signal that killed it (without a second core
/// dump), so our caller sees what the program's own caller would have seen.
fn leave_as(status: c_int) -> ! {
    if status & 0x7f == 0 {
        std::process::exit((status >> 8) & 0xff);
    }
    let sig = status & 0x7f;
    let mut set = [0u64; 16];
    set[0] = 1 << (sig - 1);
    // SAFETY: default disposition, unblocked, then the signal to ourselves.
    unsafe {
        sys::prctl(sys::PR_SET_DUMPABLE, 0, 0, 0, 0);
        sys::signal(sig, sys::SIG_DFL);
        sys::sigprocmask(sys::SIG_UNBLOCK, set.as_ptr(), ptr::null_mut());
        sys::kill(sys::getpid(), sig);
    }
    std::process::exit(128 + sig)
}

/// Inside the sandbox (`supervise FD PATH ARGV0 ARGS...`): run the program as a child,
/// forward signals to it, report its wait status on FD, exit as bwrap would.
pub fn supervise_inside(fd: &OsStr, path: &OsStr, argv: &[OsString]) -> ! {
    let fd: c_int = fd.to_string_lossy().parse().unwrap_or(-1);
    // SAFETY: the program must not inherit the status pipe.
    unsafe { sys::fcntl(fd, sys::F_SETFD, sys::FD_CLOEXEC) };
    // Signals wait until the handlers know the program's pid.
    mask_forwarded(sys::SIG_BLOCK);
    // SAFETY: fork in a single-threaded process; the child only execs or exits.
    let pid = unsafe { sys::fork() };
    if pid < 0 {
        die(format!("cannot start {}: {}", path.to_string_lossy(), sys::last_error()), 126);
    }
    if pid == 0 {
        mask_forwarded(sys::SIG_UNBLOCK);
        let error = sys::exec_argv(path, argv);
        eprintln!("sidebundle: cannot run {}: {}", path.to_string_lossy(), error);
        // SAFETY: leave the forked child without running the parent's destructors.
        unsafe { sys::_exit(127) };
    }
    TARGET.store(pid, Ordering::SeqCst);
    install_forwarding();
    mask_forwarded(sys::SIG_UNBLOCK);
    let status = wait_for(pid).unwrap_or_else(|e| die(format!("lost {}: {}", path.to_string_lossy(), e), 126));
    let text = format!("{}\n", status);
    // SAFETY: writing a local buffer to the pipe (smaller than PIPE_BUF: never partial).
    unsafe { sys::write(fd, text.as_ptr() as *const c_void, text.len()) };
    if status & 0x7f == 0 {
        std::process::exit((status >> 8) & 0xff)
    }
    std::process::exit(128 + (status & 0x7f))
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false))
}
