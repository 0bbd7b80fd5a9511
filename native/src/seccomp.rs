//! The seccomp-BPF filter that makes traced processes stop only on the syscalls we record
//! (SECCOMP_RET_TRACE → PTRACE_EVENT_SECCOMP), instead of stopping twice on every syscall the
//! way strace without --seccomp-bpf does. Inherited across fork and exec.

use std::os::raw::c_ulong;

use crate::sys::{self, SockFilter, SockFprog};

/// Syscalls that name a file the program opens, executes or looks at. The stat family matters:
/// Python finds a module through the .py file it stats (to validate the .pyc it then opens),
/// so a bundle without the stat'ed sources cannot import.
pub const TRACED: [i64; 14] = [
    sys::SYS_OPEN, sys::SYS_OPENAT, sys::SYS_OPENAT2, sys::SYS_EXECVE, sys::SYS_EXECVEAT,
    sys::SYS_STAT, sys::SYS_LSTAT, sys::SYS_NEWFSTATAT, sys::SYS_STATX,
    sys::SYS_ACCESS, sys::SYS_FACCESSAT, sys::SYS_FACCESSAT2, sys::SYS_READLINK, sys::SYS_READLINKAT,
];

/// Stats of a descriptor (fstat: newfstatat or statx with AT_EMPTY_PATH on an open descriptor)
/// name no path: they pass without a stop. A quarter of Python's traced syscalls are these.
/// (The flag also allows a non-empty path, which is then looked up as usual; a program that
/// passes it with a name relative to a descriptor is not traced for that lookup.)
const DESCRIPTOR_STATS: [(i64, u32); 2] = [(sys::SYS_NEWFSTATAT, 3), (sys::SYS_STATX, 2)]; // (nr, index of flags)

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JEQ_K: u16 = 0x15;
const BPF_JSET_K: u16 = 0x45;
const BPF_RET_K: u16 = 0x06;
const NR: u32 = 0; // offsets in struct seccomp_data
const ARCH: u32 = 4;
const fn arg_low(i: u32) -> u32 {
    16 + 8 * i // the low 32 bits of args[i] (little endian)
}

fn stmt(code: u16, k: u32) -> SockFilter {
    SockFilter { code, jt: 0, jf: 0, k }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> SockFilter {
    SockFilter { code, jt, jf, k }
}

/// The program: other architectures' syscalls pass; the traced ones trap to the tracer, but for
/// the stats of a descriptor. Classic BPF jumps only forward, so the tests come in this order:
///
/// ```text
/// arch; nr == each descriptor stat → its flags test; nr == each traced → TRACE; ALLOW
/// per descriptor stat: flags & AT_EMPTY_PATH → dirfd test, else TRACE
/// dirfd test: dirfd == AT_FDCWD → TRACE, else ALLOW
/// ALLOW; TRACE
/// ```
pub fn filter() -> Vec<SockFilter> {
    let (n, d) = (TRACED.len(), DESCRIPTOR_STATS.len());
    let checks = 4 + d + n + 1; // the first flags test
    let dirfd = checks + 2 * d;
    let (allow, trace) = (dirfd + 2, dirfd + 3);
    let to = |at: usize, target: usize| u8::try_from(target - at - 1).expect("BPF jump within 255");
    let mut prog = vec![
        stmt(BPF_LD_W_ABS, ARCH),
        jump(BPF_JEQ_K, sys::AUDIT_ARCH_X86_64, 1, 0),
        stmt(BPF_RET_K, sys::SECCOMP_RET_ALLOW),
        stmt(BPF_LD_W_ABS, NR),
    ];
    for (i, (nr, _)) in DESCRIPTOR_STATS.iter().enumerate() {
        prog.push(jump(BPF_JEQ_K, *nr as u32, to(prog.len(), checks + 2 * i), 0));
    }
    for nr in TRACED.iter() {
        prog.push(jump(BPF_JEQ_K, *nr as u32, to(prog.len(), trace), 0));
    }
    prog.push(stmt(BPF_RET_K, sys::SECCOMP_RET_ALLOW));
    for (_, flags) in DESCRIPTOR_STATS.iter() {
        prog.push(stmt(BPF_LD_W_ABS, arg_low(*flags)));
        prog.push(jump(BPF_JSET_K, sys::AT_EMPTY_PATH as u32, to(prog.len(), dirfd), to(prog.len(), trace)));
    }
    prog.push(stmt(BPF_LD_W_ABS, arg_low(0)));
    prog.push(jump(BPF_JEQ_K, sys::AT_FDCWD as u32, to(prog.len(), trace), 0));
    debug_assert_eq!(prog.len(), allow);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;
    use std::os::raw::{c_int, c_long, c_void};

    const ENOSYS: i64 = 38;
    const SYS_GETPID: i64 = 39;

    /// Which of `calls` the filter traps: run them in a forked child that installed the filter
    /// and has no tracer, so that a trapped syscall fails with ENOSYS without running. The
    /// child writes a bit mask of the trapped calls to a pipe.
    fn trapped(calls: &[(&str, i64, [usize; 5])]) -> Vec<String> {
        let prog = filter();
        let mut fds: [c_int; 2] = [0; 2];
        // SAFETY: a pipe into our own array.
        assert_eq!(unsafe { sys::pipe2(fds.as_mut_ptr(), 0) }, 0);
        // SAFETY: the child makes raw syscalls only, then _exit.
        let pid = unsafe { sys::fork() };
        if pid == 0 {
            let mut bits: u32 = 0;
            // SAFETY: async-signal-safe calls only, then _exit.
            unsafe {
                if !install(&prog) {
                    sys::_exit(1);
                }
                for (i, (_, nr, args)) in calls.iter().enumerate() {
                    if raw(*nr, *args) == -ENOSYS {
                        bits |= 1 << i;
                    }
                }
                sys::write(fds[1], &bits as *const u32 as *const c_void, 4);
                sys::_exit(0);
            }
        }
        let mut bits: u32 = 0;
        let mut status: c_int = 0;
        // SAFETY: our pipe and our own child.
        unsafe {
            sys::close(fds[1]);
            assert_eq!(sys::read(fds[0], &mut bits as *mut u32 as *mut c_void, 4), 4, "the seccomp filter could not be installed");
            sys::close(fds[0]);
            sys::waitpid(pid, &mut status, 0);
        }
        calls.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, (name, _, _))| name.to_string()).collect()
    }

    fn raw(nr: i64, a: [usize; 5]) -> i64 {
        // SAFETY: the syscalls below get valid pointers or a descriptor; errors come back as -1.
        let rc = unsafe { sys::syscall(nr as c_long, a[0], a[1], a[2], a[3], a[4]) } as i64;
        if rc < 0 {
            -(sys::errno() as i64)
        } else {
            rc
        }
    }

    #[test]
    fn traps_the_lookups_of_a_path_and_lets_descriptor_stats_and_the_rest_pass() {
        let root = CString::new("/").unwrap();
        let empty = CString::new("").unwrap();
        let exe = CString::new("/proc/self/exe").unwrap();
        let mut stat = [0u8; 256];
        let mut statx = [0u8; 256];
        let mut link = [0u8; 256];
        let (r, e, x) = (root.as_ptr() as usize, empty.as_ptr() as usize, exe.as_ptr() as usize);
        let (st, sx, l) = (stat.as_mut_ptr() as usize, statx.as_mut_ptr() as usize, link.as_mut_ptr() as usize);
        let fdcwd = sys::AT_FDCWD as usize;
        let empty_path = sys::AT_EMPTY_PATH as usize;
        let calls = [
            ("getpid", SYS_GETPID, [0; 5]),
            ("stat /", sys::SYS_STAT, [r, st, 0, 0, 0]),
            ("newfstatat AT_FDCWD /", sys::SYS_NEWFSTATAT, [fdcwd, r, st, 0, 0]),
            ("fstat 0 (newfstatat 0 \"\" AT_EMPTY_PATH)", sys::SYS_NEWFSTATAT, [0, e, st, empty_path, 0]),
            ("newfstatat AT_FDCWD \"\" AT_EMPTY_PATH", sys::SYS_NEWFSTATAT, [fdcwd, e, st, empty_path, 0]),
            ("newfstatat 0 / (no flag)", sys::SYS_NEWFSTATAT, [0, r, st, 0, 0]),
            ("statx 0 \"\" AT_EMPTY_PATH", sys::SYS_STATX, [0, e, empty_path, 0x7ff, sx]),
            ("statx AT_FDCWD /", sys::SYS_STATX, [fdcwd, r, 0, 0x7ff, sx]),
            ("readlink", sys::SYS_READLINK, [x, l, 256, 0, 0]),
            ("readlinkat", sys::SYS_READLINKAT, [fdcwd, x, l, 256, 0]),
            ("access", sys::SYS_ACCESS, [r, 0, 0, 0, 0]),
        ];
        assert_eq!(
            trapped(&calls),
            [
                "stat /",
                "newfstatat AT_FDCWD /",
                "newfstatat AT_FDCWD \"\" AT_EMPTY_PATH",
                "newfstatat 0 / (no flag)",
                "statx AT_FDCWD /",
                "readlink",
                "readlinkat",
                "access",
            ]
        );
    }
}
