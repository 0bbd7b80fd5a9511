//! The C library functions and constants we use, declared by hand (no libc crate: crates.io is
//! not reachable). x86-64 Linux only. Small safe wrappers return io::Result.
#![allow(non_camel_case_types, dead_code)]

use std::ffi::CString;
use std::io;
use std::os::raw::{c_char, c_int, c_long, c_uint, c_ulong, c_void};

pub type pid_t = i32;

extern "C" {
    pub fn fork() -> pid_t;
    pub fn execve(path: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> c_int;
    pub fn _exit(code: c_int) -> !;
    pub fn waitpid(pid: pid_t, status: *mut c_int, options: c_int) -> pid_t;
    pub fn ptrace(request: c_long, pid: pid_t, addr: *mut c_void, data: *mut c_void) -> c_long;
    pub fn kill(pid: pid_t, sig: c_int) -> c_int;
    pub fn getpid() -> pid_t;
    pub fn getuid() -> c_uint;
    pub fn getgid() -> c_uint;
    pub fn prctl(option: c_int, arg2: c_ulong, arg3: c_ulong, arg4: c_ulong, arg5: c_ulong) -> c_int;
    pub fn syscall(number: c_long, ...) -> c_long;
    pub fn pipe2(fds: *mut c_int, flags: c_int) -> c_int;
    pub fn read(fd: c_int, buf: *mut c_void, count: usize) -> isize;
    pub fn write(fd: c_int, buf: *const c_void, count: usize) -> isize;
    pub fn close(fd: c_int) -> c_int;
    pub fn dup2(old: c_int, new: c_int) -> c_int;
    pub fn chdir(path: *const c_char) -> c_int;
    pub fn chroot(path: *const c_char) -> c_int;
    pub fn unshare(flags: c_int) -> c_int;
    pub fn mount(source: *const c_char, target: *const c_char, fstype: *const c_char, flags: c_ulong, data: *const c_void) -> c_int;
    pub fn umount2(target: *const c_char, flags: c_int) -> c_int;
    pub fn fanotify_init(flags: c_uint, event_f_flags: c_uint) -> c_int;
    pub fn fanotify_mark(fd: c_int, flags: c_uint, mask: u64, dirfd: c_int, path: *const c_char) -> c_int;
    pub fn poll(fds: *mut PollFd, nfds: c_ulong, timeout: c_int) -> c_int;
    pub fn setsid() -> pid_t;
    pub fn setpgid(pid: pid_t, pgid: pid_t) -> c_int;
    pub fn signal(sig: c_int, handler: usize) -> usize;
    pub fn sigprocmask(how: c_int, set: *const u64, old: *mut u64) -> c_int;
    pub fn __errno_location() -> *mut c_int;
    pub fn capget(header: *mut CapHeader, data: *mut CapData) -> c_int;
    pub fn open(path: *const c_char, flags: c_int, ...) -> c_int;
    pub fn setgroups(size: usize, list: *const c_uint) -> c_int;
    pub fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
    pub fn sigaction(sig: c_int, action: *const SigAction, old: *mut SigAction) -> c_int;
}

/// x86-64 glibc `struct sigaction`.
#[repr(C)]
pub struct SigAction {
    pub handler: usize,
    pub mask: [u64; 16],
    pub flags: c_int,
    pub restorer: usize,
}

/// The start of `siginfo_t`.
#[repr(C)]
pub struct SigInfo {
    pub si_signo: c_int,
    pub si_errno: c_int,
    pub si_code: c_int,
}

pub const SA_SIGINFO: c_int = 4;
pub const SA_RESTART: c_int = 0x1000_0000;
pub const SIG_BLOCK: c_int = 0;
pub const SIG_UNBLOCK: c_int = 1;
pub const SIG_DFL: usize = 0;
pub const F_SETFD: c_int = 2;
pub const FD_CLOEXEC: c_int = 1;
pub const PR_SET_DUMPABLE: c_int = 4;
pub const SIGQUIT: c_int = 3;
pub const SIGUSR1: c_int = 10;

#[repr(C)]
pub struct PollFd {
    pub fd: c_int,
    pub events: i16,
    pub revents: i16,
}

#[repr(C)]
pub struct CapHeader {
    pub version: u32,
    pub pid: c_int,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
pub struct CapData {
    pub effective: u32,
    pub permitted: u32,
    pub inheritable: u32,
}

/// x86-64 `struct user_regs_struct`.
#[repr(C)]
#[derive(Default, Clone, Copy, Debug)]
pub struct Regs {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub orig_rax: u64,
    pub rip: u64,
    pub cs: u64,
    pub eflags: u64,
    pub rsp: u64,
    pub ss: u64,
    pub fs_base: u64,
    pub gs_base: u64,
    pub ds: u64,
    pub es: u64,
    pub fs: u64,
    pub gs: u64,
}

#[repr(C)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

#[repr(C)]
pub struct SockFprog {
    pub len: u16,
    pub filter: *const SockFilter,
}

// ptrace requests and options
pub const PTRACE_CONT: c_long = 7;
pub const PTRACE_KILL: c_long = 8;
pub const PTRACE_GETREGS: c_long = 12;
pub const PTRACE_SYSCALL: c_long = 24;
pub const PTRACE_SETOPTIONS: c_long = 0x4200;
pub const PTRACE_GETEVENTMSG: c_long = 0x4201;
pub const PTRACE_GETSIGINFO: c_long = 0x4202;
pub const PTRACE_SEIZE: c_long = 0x4206;
pub const PTRACE_INTERRUPT: c_long = 0x4207;
pub const PTRACE_LISTEN: c_long = 0x4208;
pub const PTRACE_O_TRACESYSGOOD: c_ulong = 1;
pub const PTRACE_O_TRACEFORK: c_ulong = 1 << 1;
pub const PTRACE_O_TRACEVFORK: c_ulong = 1 << 2;
pub const PTRACE_O_TRACECLONE: c_ulong = 1 << 3;
pub const PTRACE_O_TRACEEXEC: c_ulong = 1 << 4;
pub const PTRACE_O_TRACESECCOMP: c_ulong = 1 << 7;
pub const PTRACE_O_EXITKILL: c_ulong = 1 << 20;
pub const PTRACE_EVENT_FORK: i32 = 1;
pub const PTRACE_EVENT_VFORK: i32 = 2;
pub const PTRACE_EVENT_CLONE: i32 = 3;
pub const PTRACE_EVENT_EXEC: i32 = 4;
pub const PTRACE_EVENT_SECCOMP: i32 = 7;
pub const PTRACE_EVENT_STOP: i32 = 128;

pub const WALL: c_int = 0x4000_0000;
pub const WNOHANG: c_int = 1;

// signals
pub const SIGHUP: c_int = 1;
pub const SIGINT: c_int = 2;
pub const SIGKILL: c_int = 9;
pub const SIGUSR2: c_int = 12;
pub const SIGPIPE: c_int = 13;
pub const SIGTERM: c_int = 15;
pub const SIGCHLD: c_int = 17;
pub const SIGSTOP: c_int = 19;
pub const SIGTSTP: c_int = 20;
pub const SIGTTIN: c_int = 21;
pub const SIGTTOU: c_int = 22;
pub const SIGTRAP: c_int = 5;

// syscalls (x86-64)
pub const SYS_OPEN: i64 = 2;
pub const SYS_STAT: i64 = 4;
pub const SYS_LSTAT: i64 = 6;
pub const SYS_ACCESS: i64 = 21;
pub const SYS_EXECVE: i64 = 59;
pub const SYS_READLINK: i64 = 89;
pub const SYS_OPENAT: i64 = 257;
pub const SYS_NEWFSTATAT: i64 = 262;
pub const SYS_READLINKAT: i64 = 267;
pub const SYS_FACCESSAT: i64 = 269;
pub const SYS_SECCOMP: c_long = 317;
pub const SYS_EXECVEAT: i64 = 322;
pub const SYS_STATX: i64 = 332;
pub const SYS_OPENAT2: i64 = 437;
pub const SYS_FACCESSAT2: i64 = 439;
pub const SYS_PIDFD_OPEN: c_long = 434;
pub const SYS_PIVOT_ROOT: c_long = 155;

pub const AT_FDCWD: i64 = -100;
pub const AT_EMPTY_PATH: u64 = 0x1000;
pub const O_DIRECTORY: u64 = 0o200000;
pub const O_CLOEXEC: c_int = 0o2000000;
pub const O_RDONLY: c_int = 0;
pub const O_NONBLOCK: c_int = 0o4000;
pub const O_LARGEFILE: c_uint = 0o100000;

pub const PR_SET_NO_NEW_PRIVS: c_int = 38;
pub const PR_SET_PDEATHSIG: c_int = 1;
pub const SECCOMP_SET_MODE_FILTER: c_ulong = 1;
pub const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
pub const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

// namespaces and mounts
pub const CLONE_NEWNS: c_int = 0x0002_0000;
pub const CLONE_NEWPID: c_int = 0x2000_0000;
pub const MS_RDONLY: c_ulong = 1;
pub const MS_NOSUID: c_ulong = 2;
pub const MS_NODEV: c_ulong = 4;
pub const MS_REMOUNT: c_ulong = 32;
pub const MS_BIND: c_ulong = 4096;
pub const MS_REC: c_ulong = 16384;
pub const MS_PRIVATE: c_ulong = 1 << 18;
pub const MS_SLAVE: c_ulong = 1 << 19;
pub const MNT_DETACH: c_int = 2;

// fanotify
pub const FAN_CLASS_NOTIF: c_uint = 0;
pub const FAN_CLOEXEC: c_uint = 1;
pub const FAN_NONBLOCK: c_uint = 2;
pub const FAN_UNLIMITED_QUEUE: c_uint = 0x10;
pub const FAN_MARK_ADD: c_uint = 1;
pub const FAN_MARK_MOUNT: c_uint = 0x10;
pub const FAN_OPEN: u64 = 0x20;
pub const FAN_OPEN_EXEC: u64 = 0x1000;
pub const FAN_Q_OVERFLOW: u64 = 0x4000;
pub const FAN_ONDIR: u64 = 0x4000_0000;

pub const POLLIN: i16 = 1;

// capabilities
pub const CAP_SYS_PTRACE: u32 = 19;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_SYS_CHROOT: u32 = 18;

pub fn errno() -> i32 {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *__errno_location() }
}

pub fn last_error() -> io::Error {
    io::Error::from_raw_os_error(errno())
}

pub fn cstring(text: &str) -> io::Result<CString> {
    CString::new(text).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("NUL byte in {:?}", text)))
}

/// Effective capability check for this thread's process (capget, version 3).
pub fn has_capability(cap: u32) -> bool {
    let mut header = CapHeader { version: 0x2008_0522, pid: 0 };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and a two-element data array as capget(2) expects for version 3.
    let rc = unsafe { capget(&mut header, data.as_mut_ptr()) };
    if rc != 0 {
        return false;
    }
    let word = (cap / 32) as usize;
    data[word].effective & (1 << (cap % 32)) != 0
}

/// Signal number to its name ("SIGKILL"), for reports.
pub fn signal_name(sig: i32) -> String {
    const NAMES: [&str; 32] = [
        "", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1",
        "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",
        "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
    ];
    NAMES.get(sig as usize).filter(|n| !n.is_empty()).map(|n| n.to_string()).unwrap_or_else(|| format!("SIG{}", sig))
}

/// execve with an explicit argv (argv[0] included) and this process's environment; returns only
/// with the error.
pub fn exec_argv(path: &std::ffi::OsStr, argv: &[std::ffi::OsString]) -> io::Error {
    use std::os::unix::ffi::OsStrExt;
    let path_c = CString::new(path.as_bytes()).unwrap_or_default();
    let owned: Vec<CString> = argv.iter().map(|a| CString::new(a.as_bytes()).unwrap_or_default()).collect();
    let mut pointers: Vec<*const c_char> = owned.iter().map(|a| a.as_ptr()).collect();
    pointers.push(std::ptr::null());
    extern "C" {
        static environ: *const *const c_char;
    }
    // SAFETY: NUL-terminated strings and a NULL-terminated argv that outlive the call.
    unsafe { execve(path_c.as_ptr(), pointers.as_ptr(), environ) };
    last_error()
}
