//! Starting the traced command: fork, a two-pipe handshake so the tracer can attach (ptrace) and
//! mark the child's mounts (fanotify) before anything runs, then the seccomp filter and execve.
//! After fork only async-signal-safe calls are made in the child: everything it needs (argv,
//! envp, the program path) is prepared before fork, and errors travel back as bytes on a pipe.

use std::ffi::CString;
use std::io;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr;

use crate::seccomp;
use crate::sys;

pub enum Stdio {
    Inherit,
    Null,
    /// The command's stdout goes to our stderr (keeps a --json stdout clean).
    Stderr,
}

pub struct SpawnSpec {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: Option<String>,
    pub stdout: Stdio,
    /// Put the child in a mount namespace of its own (for fanotify's mount marks).
    pub new_mount_ns: bool,
    /// Install the seccomp filter that stops the child on the traced syscalls.
    pub seccomp: bool,
}

pub struct Child {
    pub pid: sys::pid_t,
    go_fd: c_int,
    status_fd: c_int,
}

/// What the child reported before (or instead of) running the command.
#[derive(Debug, PartialEq)]
pub enum ChildStatus {
    SeccompOn,
    SeccompOff,
    Failed { stage: &'static str, errno: i32 },
}

// Status bytes the child writes on the status pipe.
const READY: u8 = b'R';
const SECCOMP_ON: u8 = b'S';
const SECCOMP_OFF: u8 = b'N';
const FAIL_UNSHARE: u8 = b'U';
const FAIL_CHDIR: u8 = b'C';
const FAIL_EXEC: u8 = b'X';
const FAIL_STDIO: u8 = b'O';
const SIGXFSZ: c_int = 25;

fn find_program(name: &str, env: &[(String, String)]) -> String {
    if name.contains('/') {
        return name.to_owned();
    }
    let path = env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.as_str()).unwrap_or("/usr/local/bin:/usr/bin:/bin");
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let candidate = format!("{}/{}", dir, name);
        if let Ok(meta) = std::fs::metadata(&candidate) {
            use std::os::unix::fs::PermissionsExt;
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return candidate;
            }
        }
    }
    name.to_owned()
}

/// Fork the child; it waits for `release` before it changes directory and executes.
pub fn spawn(spec: &SpawnSpec) -> io::Result<Child> {
    if spec.argv.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty command"));
    }
    let program = sys::cstring(&find_program(&spec.argv[0], &spec.env))?;
    let argv: Vec<CString> = spec.argv.iter().map(|a| sys::cstring(a)).collect::<io::Result<_>>()?;
    let envp: Vec<CString> = spec.env.iter().map(|(k, v)| sys::cstring(&format!("{}={}", k, v))).collect::<io::Result<_>>()?;
    let mut argv_ptrs: Vec<*const c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(ptr::null());
    let mut envp_ptrs: Vec<*const c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    envp_ptrs.push(ptr::null());
    let cwd = match &spec.cwd {
        Some(dir) => Some(sys::cstring(dir)?),
        None => None,
    };
    let filter = seccomp::filter();
    let devnull = sys::cstring("/dev/null")?;

    let mut go = [0 as c_int; 2];
    let mut status = [0 as c_int; 2];
    // SAFETY: two-element arrays for pipe2.
    if unsafe { sys::pipe2(go.as_mut_ptr(), sys::O_CLOEXEC) } != 0 {
        return Err(sys::last_error());
    }
    if unsafe { sys::pipe2(status.as_mut_ptr(), sys::O_CLOEXEC) } != 0 {
        let e = sys::last_error();
        unsafe {
            sys::close(go[0]);
            sys::close(go[1]);
        }
        return Err(e);
    }

    // SAFETY: fork; the child branch below only makes async-signal-safe calls on data prepared
    // above, and always ends in execve or _exit.
    let pid = unsafe { sys::fork() };
    if pid < 0 {
        let e = sys::last_error();
        unsafe {
            for fd in [go[0], go[1], status[0], status[1]] {
                sys::close(fd);
            }
        }
        return Err(e);
    }
    if pid == 0 {
        unsafe {
            child_after_fork(spec, go[0], status[1], &program, &argv_ptrs, &envp_ptrs, cwd.as_ref(), &filter, &devnull);
        }
    }
    unsafe {
        sys::close(go[0]);
        sys::close(status[1]);
    }
    let child = Child { pid, go_fd: go[1], status_fd: status[0] };
    match child.read_byte() {
        Some(READY) => Ok(child),
        Some(FAIL_UNSHARE) => {
            let errno = child.read_errno();
            child.reap();
            Err(io::Error::from_raw_os_error(errno))
        }
        _ => {
            child.reap();
            Err(io::Error::new(io::ErrorKind::Other, "the traced command's process ended before it started"))
        }
    }
}

#[allow(clippy::too_many_arguments)]
unsafe fn child_after_fork(
    spec: &SpawnSpec,
    go_fd: c_int,
    status_fd: c_int,
    program: &CString,
    argv: &[*const c_char],
    envp: &[*const c_char],
    cwd: Option<&CString>,
    filter: &[sys::SockFilter],
    devnull: &CString,
) -> ! {
    let fail = |code: u8| -> ! {
        let errno = sys::errno();
        let bytes = [code, (errno & 0xff) as u8, ((errno >> 8) & 0xff) as u8];
        sys::write(status_fd, bytes.as_ptr() as *const c_void, 3);
        sys::_exit(127)
    };
    // Die with the tracer; a group of its own so a terminal's Ctrl+C reaches sidebundle, which
    // then stops the trace cleanly.
    sys::prctl(sys::PR_SET_PDEATHSIG, sys::SIGKILL as u64, 0, 0, 0);
    sys::setpgid(0, 0);
    // The command starts with SIGPIPE and SIGXFSZ at their defaults, as from a shell or Node's
    // child_process: Node and Rust's start-up ignore them, and an exec keeps an ignored signal
    // (a traced writer to a closed pipe would get EPIPE where it dies natively).
    sys::signal(sys::SIGPIPE, sys::SIG_DFL);
    sys::signal(SIGXFSZ, sys::SIG_DFL);
    let null = sys::open(devnull.as_ptr(), 2 /* O_RDWR */);
    if null < 0 || sys::dup2(null, 0) < 0 {
        fail(FAIL_STDIO);
    }
    match spec.stdout {
        Stdio::Inherit => {}
        Stdio::Null => {
            sys::dup2(null, 1);
            sys::dup2(null, 2);
        }
        Stdio::Stderr => {
            sys::dup2(2, 1);
        }
    }
    // Node opens its own stdio with O_CLOEXEC: an inherited descriptor would close at exec and
    // the traced command's stderr (its error messages) would vanish.
    for fd in 0..3 {
        sys::fcntl(fd, sys::F_SETFD, 0);
    }
    if null > 2 {
        sys::close(null);
    }
    if spec.new_mount_ns && sys::unshare(sys::CLONE_NEWNS) != 0 {
        fail(FAIL_UNSHARE);
    }
    let ready = READY;
    sys::write(status_fd, &ready as *const u8 as *const c_void, 1);
    let mut go = 0u8;
    if sys::read(go_fd, &mut go as *mut u8 as *mut c_void, 1) != 1 || go != b'G' {
        sys::_exit(127);
    }
    let state = if spec.seccomp && seccomp::install(filter) { SECCOMP_ON } else { SECCOMP_OFF };
    sys::write(status_fd, &state as *const u8 as *const c_void, 1);
    if let Some(dir) = cwd {
        if sys::chdir(dir.as_ptr()) != 0 {
            fail(FAIL_CHDIR);
        }
    }
    sys::execve(program.as_ptr(), argv.as_ptr(), envp.as_ptr());
    fail(FAIL_EXEC)
}

impl Child {
    /// Let the child go on: it installs the filter, changes directory and executes.
    pub fn release(&mut self) -> ChildStatus {
        let go = b'G';
        // SAFETY: writing one byte to our end of the pipe.
        unsafe {
            sys::write(self.go_fd, &go as *const u8 as *const c_void, 1);
            sys::close(self.go_fd);
        }
        self.go_fd = -1;
        match self.read_byte() {
            Some(SECCOMP_ON) => ChildStatus::SeccompOn,
            Some(SECCOMP_OFF) => ChildStatus::SeccompOff,
            _ => ChildStatus::Failed { stage: "start", errno: 0 },
        }
    }

    /// After the command ended: why it could not start, if it could not.
    pub fn start_failure(&self) -> Option<ChildStatus> {
        match self.read_byte() {
            Some(FAIL_CHDIR) => Some(ChildStatus::Failed { stage: "chdir", errno: self.read_errno() }),
            Some(FAIL_EXEC) => Some(ChildStatus::Failed { stage: "exec", errno: self.read_errno() }),
            Some(FAIL_STDIO) => Some(ChildStatus::Failed { stage: "stdio", errno: self.read_errno() }),
            _ => None,
        }
    }

    fn read_byte(&self) -> Option<u8> {
        let mut b = 0u8;
        loop {
            // SAFETY: one byte into a local.
            let n = unsafe { sys::read(self.status_fd, &mut b as *mut u8 as *mut c_void, 1) };
            if n == 1 {
                return Some(b);
            }
            if n < 0 && sys::errno() == 4 {
                continue; // EINTR
            }
            return None;
        }
    }

    fn read_errno(&self) -> i32 {
        let (lo, hi) = (self.read_byte().unwrap_or(0), self.read_byte().unwrap_or(0));
        lo as i32 | ((hi as i32) << 8)
    }

    /// Kill and reap a child that never started the command.
    pub fn reap(&self) {
        // SAFETY: our own child.
        unsafe {
            sys::kill(self.pid, sys::SIGKILL);
            let mut status = 0;
            sys::waitpid(self.pid, &mut status, sys::WALL | 0x2000_0000 /* __WNOTHREAD */);
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // SAFETY: closing our pipe ends.
        unsafe {
            if self.go_fd >= 0 {
                sys::close(self.go_fd);
            }
            sys::close(self.status_fd);
        }
    }
}
