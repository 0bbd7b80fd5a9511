//! sidebundle-run: the static runner of a bundle (static glibc): a single-file bundle with a
//! bundle appended (see single.rs), run mode bwrap and its supervisor (launch/bwrap.rs). A
//! directory bundle's entries start in sidebundle-launch (native/nolibc, no C library), which
//! execs this runner for bwrap.
//!
//! `main` is C's (no_main): the standard library's start-up before a Rust `main` sets up the
//! main thread's stack-overflow report (it reads /proc/self/maps through pthread_getattr_np
//! and installs an alternate signal stack: about 15 system calls, ~45 µs of CPU per launch
//! here) that a launcher which execs at once has no use for. What of that start-up a launch
//! relies on is done below the same way: descriptors 0-2 opened on /dev/null where closed (the
//! program never starts with a closed stdio), a panic's exit status 101. Not SIGPIPE: the
//! standard library ignores it, and the program, exec'd with that disposition, would then get
//! EPIPE where natively it ends (`jq ... | head -1` printed "Broken pipe" and exited 2, not 141).
//! The program gets the caller's dispositions, as from any exec.
//! std::env::args_os still works: on glibc the standard library takes argv from .init_array.
#![cfg_attr(not(test), no_main)] // a test build keeps the harness's main
#![cfg_attr(test, allow(dead_code, unused_imports))]

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::os::raw::{c_char, c_int};
use std::path::Path;

use sidebundle_native::{launch, single, sys};

#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    // SIDEBUNDLE_DEBUG's lines and timing (which marks the start).
    let debug = std::env::var_os("SIDEBUNDLE_DEBUG");
    sidebundle_nolibc::report::init(debug.as_ref().map(|v| v.as_bytes()));
    open_closed_stdio();
    if std::panic::catch_unwind(|| -> () { run() }).is_err() {
        // The panic hook has printed the message; 101 as for a Rust main that panics.
        std::process::exit(101);
    }
    0
}

fn run() -> ! {
    let args: Vec<OsString> = std::env::args_os().collect();
    // A single-file bundle carries its payload after the ELF image.
    match single::embedded() {
        Ok(Some(embedded)) => launch::die(single::run(embedded, &args), 126),
        Ok(None) => {}
        Err(message) => launch::die(message, 126),
    }
    launch::timing::mark("look for an appended bundle");
    let called = args.first().map(|a| Path::new(a).file_name().unwrap_or_default().to_os_string()).unwrap_or_default();
    if called == "sidebundle-run" || called == ".sidebundle-run" {
        launch::subcommand(&args);
    }
    launch::run_invoked(&args)
}

const POLLNVAL: i16 = 0x20;
const O_RDWR: c_int = 2;
const F_GETFD: c_int = 1;
const EINTR: i32 = 4;
const EBADF: i32 = 9;
const EAGAIN: i32 = 11;
const ENOMEM: i32 = 12;
const EINVAL: i32 = 22;

/// Descriptors 0, 1 and 2 that are closed are opened on /dev/null, as the standard library's
/// start-up does (poll, or fcntl where poll is refused; abort if /dev/null cannot be opened).
fn open_closed_stdio() {
    let null = c"/dev/null";
    // SAFETY: poll on a local array, fcntl and open with a NUL-terminated path.
    unsafe {
        let mut fds = [0, 1, 2].map(|fd| sys::PollFd { fd, events: 0, revents: 0 });
        while sys::poll(fds.as_mut_ptr(), 3, 0) == -1 {
            match sys::errno() {
                EINTR => continue,
                EINVAL | EAGAIN | ENOMEM => {
                    for fd in 0..3 {
                        if sys::fcntl(fd, F_GETFD) == -1 && sys::errno() == EBADF && sys::open(null.as_ptr(), O_RDWR, 0) == -1 {
                            std::process::abort();
                        }
                    }
                    return;
                }
                _ => std::process::abort(),
            }
        }
        for pfd in fds {
            if pfd.revents & POLLNVAL != 0 && sys::open(null.as_ptr(), O_RDWR, 0) == -1 {
                std::process::abort();
            }
        }
    }
}
