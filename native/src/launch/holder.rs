//! Keep the root modes' namespaces alive past the program's exit. When the last process in a
//! mount namespace exits, the kernel unmounts every mount of it and waits for an RCU grace
//! period before the parent is told of the exit: 0.1-0.2 ms on an idle machine, 1.5 ms and more
//! on a loaded one (bench/results/run.md). A holder, a second process in the namespaces, takes
//! that teardown off the caller's path: it dies with the program (PR_SET_PDEATHSIG) and the
//! namespaces go with it, after the caller's wait has returned.
//!
//! The holder must not change what the program or its caller see:
//! - it is a "clone" child (no exit signal), which wait(), waitpid(-1) and waitid(P_ALL) do not
//!   report without __WALL: a program that waits for all its children (a shell's `wait`,
//!   Python's os.wait()) does not wait for it, and it never sends the program a SIGCHLD;
//! - it holds no file descriptor (a caller reading the program's output gets EOF when the
//!   program's last copy closes), and blocks every signal, so a ^C or a signal to the process
//!   group reaches the program only; only SIGKILL (the program's death) ends it;
//! - it shares the runner's memory (CLONE_VM: no page tables to copy; the exec gives the program
//!   a fresh address space and leaves the old one to the holder), touches nothing there but
//!   its own stack, and makes raw system calls only (glibc's would write errno, shared with the
//!   runner until its exec);
//! - where the holder cannot be made (a process limit), the program runs without one.

use std::arch::asm;
use std::os::raw::{c_int, c_void};

const CLONE_VM: c_int = 0x100;
const SYS_RT_SIGPROCMASK: usize = 14;
const SYS_PAUSE: usize = 34;
const SYS_EXIT: usize = 60;
const SYS_GETPPID: usize = 110;
const SYS_PRCTL: usize = 157;
const SYS_CLOSE: usize = 3;
const SYS_CLOSE_RANGE: usize = 436;
const PR_SET_PDEATHSIG: usize = 1;
const SIGKILL: usize = 9;
const SIG_SETMASK: usize = 2;

extern "C" {
    fn clone(f: extern "C" fn(*mut c_void) -> c_int, stack: *mut c_void, flags: c_int, arg: *mut c_void, ...) -> c_int;
    fn getpid() -> c_int;
}

const STACK: usize = 16 * 1024;
/// The holder's stack; the runner does not touch it (it only execs after the clone).
#[repr(C, align(16))]
struct Stack(std::cell::UnsafeCell<[u8; STACK]>);
// SAFETY: only the holder uses it, and there is one holder per process.
unsafe impl Sync for Stack {}
static HOLDER_STACK: Stack = Stack(std::cell::UnsafeCell::new([0; STACK]));

/// A system call with up to four arguments, without errno.
///
/// SAFETY: the caller passes arguments valid for `number`.
unsafe fn raw(number: usize, a: usize, b: usize, c: usize, d: usize) -> isize {
    let ret: isize;
    asm!("syscall", inlateout("rax") number as isize => ret, in("rdi") a, in("rsi") b, in("rdx") c, in("r10") d, lateout("rcx") _, lateout("r11") _, options(nostack));
    ret
}

/// Start the holder; the caller execs the program next. False when it could not be made.
pub fn start() -> bool {
    let all: u64 = !0;
    let mut old: u64 = 0;
    // SAFETY: a clone whose child runs `hold` on its own stack and makes raw system calls only;
    // signals are blocked around it so that none is handled on the holder's side before
    // `hold` runs (the child inherits the mask), and restored for the program after.
    unsafe {
        raw(SYS_RT_SIGPROCMASK, SIG_SETMASK, &all as *const u64 as usize, &mut old as *mut u64 as usize, 8);
        let parent = getpid() as usize;
        let top = (HOLDER_STACK.0.get() as *mut u8).add(STACK) as *mut c_void;
        let pid = clone(hold, top, CLONE_VM, parent as *mut c_void);
        raw(SYS_RT_SIGPROCMASK, SIG_SETMASK, &old as *const u64 as usize, 0, 8);
        pid > 0
    }
}

/// The holder: die with the parent, hold nothing, wait.
extern "C" fn hold(parent: *mut c_void) -> c_int {
    // SAFETY: raw system calls on this process alone.
    unsafe {
        raw(SYS_PRCTL, PR_SET_PDEATHSIG, SIGKILL, 0, 0);
        // The parent may have died before the line above (its exec failed): then no signal comes.
        if raw(SYS_GETPPID, 0, 0, 0, 0) as usize != parent as usize {
            raw(SYS_EXIT, 0, 0, 0, 0);
        }
        if raw(SYS_CLOSE_RANGE, 0, u32::MAX as usize, 0, 0) != 0 {
            // Before Linux 5.9: the descriptors a launch can have.
            for fd in 0..1024 {
                raw(SYS_CLOSE, fd, 0, 0, 0);
            }
        }
        loop {
            raw(SYS_PAUSE, 0, 0, 0, 0);
        }
    }
}
