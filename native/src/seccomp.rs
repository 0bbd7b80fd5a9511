//! The seccomp-BPF filter that makes traced processes stop only on the syscalls we record
//! (SECCOMP_RET_TRACE → PTRACE_EVENT_SECCOMP), instead of stopping twice on every syscall the
//! way strace without --seccomp-bpf does. Inherited across fork and exec.

use std::os::raw::c_ulong;

use crate::sys::{self, SockFilter, SockFprog};

/// Syscalls that name a file the program opens, executes or looks at. The stat family matters:
/// Python finds a module through the .py file it stats (to validate the .pyc it then opens),
/// so a bundle without the stat'ed sources cannot import.
pub const TRACED: [i64; 13] = [
    sys::SYS_OPEN, sys::SYS_OPENAT, sys::SYS_OPENAT2, sys::SYS_EXECVE, sys::SYS_EXECVEAT,
    sys::SYS_STAT, sys::SYS_LSTAT, sys::SYS_NEWFSTATAT, sys::SYS_STATX,
    sys::SYS_ACCESS, sys::SYS_FACCESSAT, sys::SYS_FACCESSAT2, sys::SYS_READLINKAT,
];

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JEQ_K: u16 = 0x15;
const BPF_RET_K: u16 = 0x06;

fn stmt(code: u16, k: u32) -> SockFilter {
    SockFilter { code, jt: 0, jf: 0, k }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> SockFilter {
    SockFilter { code, jt, jf, k }
}

/// The program: other architectures' syscalls pass; the traced ones trap to the tracer.
pub fn filter() -> Vec<SockFilter> {
    let n = TRACED.len() as u8;
    let mut prog = vec![
        stmt(BPF_LD_W_ABS, 4), // seccomp_data.arch
        jump(BPF_JEQ_K, sys::AUDIT_ARCH_X86_64, 1, 0),
        stmt(BPF_RET_K, sys::SECCOMP_RET_ALLOW),
        stmt(BPF_LD_W_ABS, 0), // seccomp_data.nr
    ];
    for (i, nr) in TRACED.iter().enumerate() {
        // Jump to the TRACE return (after the remaining compares and the ALLOW) on a match.
        prog.push(jump(BPF_JEQ_K, *nr as u32, n - i as u8, 0));
    }
    prog.push(stmt(BPF_RET_K, sys::SECCOMP_RET_ALLOW));
    prog.push(stmt(BPF_RET_K, sys::SECCOMP_RET_TRACE));
    prog
}

/// Install `filter` on the calling thread (the forked child). Without CAP_SYS_ADMIN the kernel
/// requires no_new_privs first (setuid programs then run without their extra privileges).
/// Async-signal-safe: raw syscalls only.
pub unsafe fn install(filter: &[SockFilter]) -> bool {
    let prog = SockFprog { len: filter.len() as u16, filter: filter.as_ptr() };
    let rc = sys::syscall(sys::SYS_SECCOMP, sys::SECCOMP_SET_MODE_FILTER, 0 as c_ulong, &prog as *const SockFprog);
    if rc == 0 {
        return true;
    }
    if sys::prctl(sys::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
        return false;
    }
    sys::syscall(sys::SYS_SECCOMP, sys::SECCOMP_SET_MODE_FILTER, 0 as c_ulong, &prog as *const SockFprog) == 0
}
